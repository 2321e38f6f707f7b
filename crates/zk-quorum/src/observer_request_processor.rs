//! `ObserverRequestProcessor`: an observer's first stage. Every request
//! goes to the CommitProcessor; those that need the quorum (writes,
//! createSession/closeSession, `sync`) also go to the leader as REQUEST,
//! after Commit has heard of them so it knows them before the leader can
//! answer.

use std::io;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Weak;
use std::thread::JoinHandle;

use log::info;
use zk_server::request::Request;

use crate::commit_processor::CommitInput;
use crate::learner_zookeeper_server::LearnerZooKeeperServer;

/// See the module docs. Runs on its own thread,
/// `ObserverRequestProcessor:<myid>` as in 3.8.
pub(crate) struct ObserverRequestProcessor {
    server: Weak<LearnerZooKeeperServer>,
    commit: Sender<CommitInput>,
}

impl ObserverRequestProcessor {
    /// Starts the thread: client requests from `rx`, on to `commit` and
    /// the leader. It ends when `rx` closes or Commit is gone.
    pub(crate) fn start(
        my_id: i64,
        server: Weak<LearnerZooKeeperServer>,
        rx: Receiver<Request>,
        commit: Sender<CommitInput>,
    ) -> io::Result<JoinHandle<()>> {
        let p = ObserverRequestProcessor { server, commit };
        std::thread::Builder::new()
            .name(format!("ObserverRequestProcessor:{my_id}"))
            .spawn(move || {
                for r in rx {
                    let Some(s) = p.server.upgrade() else { break };
                    if !s.forward_request(r, &p.commit) {
                        break;
                    }
                }
                info!("ObserverRequestProcessor exited loop!");
            })
    }
}
