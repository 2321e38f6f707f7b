//! `AckRequestProcessor`: the end of the leader's log path. Once
//! SyncRequestProcessor has made a txn durable here, the leader counts its
//! own ACK of it (`Leader::process_ack(myid, zxid)`).

use std::io;
use std::sync::mpsc::Receiver;
use std::sync::Weak;
use std::thread::JoinHandle;

use log::warn;
use zk_server::request::Request;

use crate::leader::Leader;

/// See the module docs. Runs on its own thread, "AckRequestProcessor"
/// (3.8 runs it on SyncThread).
pub(crate) struct AckRequestProcessor {
    leader: Weak<Leader>,
    my_id: i64,
}

impl AckRequestProcessor {
    /// Starts the thread: logged requests from `rx`. It ends when `rx`
    /// closes.
    pub(crate) fn start(
        leader: Weak<Leader>,
        my_id: i64,
        rx: Receiver<Request>,
    ) -> io::Result<JoinHandle<()>> {
        let p = AckRequestProcessor { leader, my_id };
        std::thread::Builder::new()
            .name("AckRequestProcessor".into())
            .spawn(move || {
                for r in rx {
                    p.process_request(&r);
                }
            })
    }

    fn process_request(&self, r: &Request) {
        let Some(hdr) = r.hdr.as_ref() else { return };
        match self.leader.upgrade() {
            Some(l) => l.process_ack(self.my_id, hdr.zxid),
            None => warn!("Keeping the ACK of 0x{:x}: no leader", hdr.zxid),
        }
    }
}
