//! `ProposalRequestProcessor`: the leader's stage after Prep. Each txn
//! goes to the CommitProcessor (to wait there for its quorum), to the
//! followers (`Leader::propose`) and to the local log (SyncRequestProcessor,
//! then AckRequestProcessor); a learner's `sync` goes to
//! `Leader::process_sync`; anything else straight to the CommitProcessor.
//!
//! A txn reaches Commit *before* it is proposed, on the channel its commit
//! later arrives on, so Commit always knows the request first.
//!
//! A learner's `sync` is handled here, not when its LearnerHandler reads
//! it, because only here is every earlier request of that learner already
//! proposed: `process_sync` then holds the SYNC answer until the last
//! proposal is committed, so the learner gets the COMMIT of its own write
//! before the SYNC of the `sync` it sent after it.
//!
//! A txn that cannot be proposed (the zxid counter ran out: 3.8's
//! `XidRolloverException`) stops the leader: it is not logged here, and
//! since no commit for it can come, Commit never releases it.

use std::io;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Weak;
use std::thread::JoinHandle;

use log::{debug, error, info, warn};
use zk_persistence::file_txn_log::{marshall_txn_entry, TxnLogEntry};
use zk_server::request::Request;

use crate::commit_processor::CommitInput;
use crate::leader::Leader;
use crate::learner_handler::LearnerHandler;
use crate::pause_guard::Admission;

/// See the module docs. Runs on its own thread, "ProposalRequestProcessor"
/// (3.8 runs it on Prep's).
pub(crate) struct ProposalRequestProcessor {
    leader: Weak<Leader>,
    commit: Sender<CommitInput>,
    sync: Sender<Request>,
}

/// What to do after a request.
enum Next {
    Continue,
    /// A next stage is gone: the chain is ending.
    Stop,
    /// A proposal failed: the leader must step down, for this reason.
    StopLeader(String),
}

impl ProposalRequestProcessor {
    /// Starts the thread: requests from `rx`, txns on to `commit` and
    /// `sync`. It ends when `rx` closes, a next stage is gone, or a
    /// proposal fails (then it stops the leader as it goes).
    pub(crate) fn start(
        leader: Weak<Leader>,
        rx: Receiver<Request>,
        commit: Sender<CommitInput>,
        sync: Sender<Request>,
    ) -> io::Result<JoinHandle<()>> {
        let p = ProposalRequestProcessor {
            leader,
            commit,
            sync,
        };
        std::thread::Builder::new()
            .name("ProposalRequestProcessor".into())
            .spawn(move || {
                let mut stop_leader = None;
                for r in rx {
                    match p.process_request(r) {
                        Next::Continue => {}
                        Next::Stop => break,
                        Next::StopLeader(reason) => {
                            stop_leader = Some(reason);
                            break;
                        }
                    }
                }
                let leader = p.leader.clone();
                // Leader::shutdown waits for Commit and Sync, which end
                // only once this stage's senders to them are gone.
                drop(p);
                if let (Some(reason), Some(l)) = (stop_leader, leader.upgrade()) {
                    // FATAL: 3.8 turns this into a RequestProcessorException
                    // that stops the server; here the leader steps down.
                    l.shutdown(&reason);
                }
                info!("ProposalRequestProcessor exited loop!");
            })
    }

    fn process_request(&self, r: Request) -> Next {
        let sent = |ok: bool| if ok { Next::Continue } else { Next::Stop };
        // After a pause the tree may be stale: nothing goes on until a
        // quorum is heard from (see pause_guard).
        if let Some(l) = self.leader.upgrade() {
            if l.admit_request() == Admission::Refused {
                debug!(
                    "Dropping request 0x{:x}:{} held after a pause: the leader stopped",
                    r.session_id, r.cxid
                );
                return Next::Continue;
            }
        }
        if let Some(handler) = LearnerHandler::of_learner_sync(&r) {
            // Not to Commit: this leader's clients are not waiting on it;
            // the learner's CommitProcessor is.
            match self.leader.upgrade() {
                Some(l) => l.process_sync(&handler),
                None => warn!("No leader to answer the sync of learner {}", handler.sid()),
            }
            return Next::Continue;
        }
        let (Some(hdr), Some(txn)) = (r.hdr.as_ref(), r.txn.as_ref()) else {
            return sent(self.commit.send(CommitInput::Local(r)).is_ok());
        };
        let entry = TxnLogEntry {
            bytes: marshall_txn_entry(hdr, &txn.to_bytes(), r.txn_digest.as_ref()),
            header: hdr.clone(),
        };
        if self.commit.send(CommitInput::Local(r.clone())).is_err() {
            return Next::Stop;
        }
        match self.leader.upgrade() {
            Some(l) => {
                if let Err(e) = l.propose(&entry) {
                    let reason = format!("Cannot propose txn 0x{:x}: {e}", entry.zxid());
                    error!("{reason}");
                    return Next::StopLeader(reason);
                }
            }
            None => warn!("No leader to propose txn 0x{:x}", entry.zxid()),
        }
        sent(self.sync.send(r).is_ok())
    }
}
