//! `SendAckRequestProcessor`: the end of a learner's log path. Once
//! SyncRequestProcessor has made a proposal durable, a follower ACKs it to
//! the leader; an observer's logged INFORMs need no ACK and end here.

use std::io;
use std::sync::mpsc::Receiver;
use std::sync::Weak;
use std::thread::JoinHandle;

use zk_server::request::Request;

use crate::learner_zookeeper_server::LearnerZooKeeperServer;
use crate::quorum_packet::{packet_type, QuorumPacket};

/// See the module docs. Runs on its own thread, "SendAckRequestProcessor"
/// (3.8 runs it on SyncThread).
pub(crate) struct SendAckRequestProcessor {
    server: Weak<LearnerZooKeeperServer>,
    /// False on an observer.
    acks: bool,
}

impl SendAckRequestProcessor {
    /// Starts the thread: logged requests from `rx`. It ends when `rx`
    /// closes or the server is gone.
    pub(crate) fn start(
        server: Weak<LearnerZooKeeperServer>,
        acks: bool,
        rx: Receiver<Request>,
    ) -> io::Result<JoinHandle<()>> {
        let p = SendAckRequestProcessor { server, acks };
        std::thread::Builder::new()
            .name("SendAckRequestProcessor".into())
            .spawn(move || {
                for r in rx {
                    if !p.process_request(&r) {
                        break;
                    }
                }
            })
    }

    /// False once the server is gone.
    fn process_request(&self, r: &Request) -> bool {
        let (true, Some(hdr)) = (self.acks, r.hdr.as_ref()) else {
            return true;
        };
        let Some(s) = self.server.upgrade() else {
            return false;
        };
        s.write_to_leader(&QuorumPacket::new(packet_type::ACK, hdr.zxid, None));
        true
    }
}
