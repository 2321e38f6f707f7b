//! `CommitProcessor`: the stage of a replicated server that holds each
//! local client's request until the quorum has decided it, and keeps every
//! session's replies in the order the session sent its requests.
//!
//! Two kinds of input arrive on one channel, so their order is the order
//! they were sent in:
//!
//! - [`CommitInput::Local`]: a request of a client connected here (or, on
//!   the leader, one a learner forwarded), as the previous stage passes it
//!   on. A request that needs the quorum (a write, a session change, on a
//!   learner also `sync`) waits at the head of its session's queue; a read
//!   behind it waits with it; a read of a session with nothing waiting
//!   goes straight on.
//! - [`CommitInput::Committed`] / [`CommitInput::CommittedZxid`]: the
//!   quorum decided a txn. A learner gets the txn itself from its leader
//!   and matches it, by session and cxid, with the head of that session's
//!   queue: the local request (which has the connection to answer) takes
//!   the leader's header, txn and digest. A txn with no local request (a
//!   client of another server) goes on alone. The leader gets only the
//!   zxid of its own proposal, which is always some session's head.
//!
//! Committed txns leave in the order they arrive, which is zxid order, so
//! FinalRequestProcessor applies them in that order. After a match, the
//! reads that waited behind it follow.
//!
//! 3.8 runs reads on worker threads and can let reads of other sessions
//! overtake; here one thread does everything, which keeps the rules
//! obvious and costs nothing measurable at these rates.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use log::{info, warn};
use zk_persistence::txn_log::TxnLogEntry;
use zk_persistence::zoo_defs::{OpCode, OpKind};
use zk_server::request::Request;

/// What the CommitProcessor is told.
#[derive(Debug)]
pub enum CommitInput {
    Local(Request),
    /// A txn the leader committed (learner), or a learner's `sync` the
    /// leader answered (its own local request, matched by session/cxid).
    Committed(Request),
    /// The leader's own proposal `zxid` has its quorum.
    CommittedZxid(i64),
}

/// Whether a request must wait for the quorum before Final sees it.
/// `match_syncs`: a learner's `sync` waits for the leader's SYNC; the
/// leader's own clients' syncs are reads.
pub fn needs_commit(r: &Request, match_syncs: bool) -> bool {
    if r.hdr.is_some() {
        return true;
    }
    match r.op_code().map(OpCode::kind) {
        Ok(OpKind::Write | OpKind::Session) => true,
        Ok(OpKind::Sync) => match_syncs,
        Ok(OpKind::Read | OpKind::Connection | OpKind::ServerOnly) | Err(_) => false,
    }
}

/// The request a committed txn becomes on a learner: no connection, the
/// leader's header, txn and digest.
pub fn request_of_entry(entry: &TxnLogEntry) -> std::io::Result<Request> {
    let e = entry.decode().map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("txn 0x{:x} from the leader: {e}", entry.zxid()),
        )
    })?;
    let mut r = Request::new(
        e.header.client_id,
        e.header.cxid,
        e.header.txn_type,
        Vec::new(),
    );
    r.hdr = Some(e.header);
    r.txn = Some(e.txn);
    r.txn_digest = e.digest;
    Ok(r)
}

struct CommitProcessor {
    match_syncs: bool,
    next: Sender<Request>,
    /// Each session's requests that wait, the head being one that needs
    /// the quorum.
    queued: HashMap<i64, VecDeque<Request>>,
    /// Leader: which session's head each proposed zxid is.
    by_zxid: HashMap<i64, i64>,
}

/// Starts the `CommitProcessor` thread, passing requests on to `next`
/// (FinalRequestProcessor). It ends when every sender of `rx` is gone.
pub fn start(
    name: String,
    match_syncs: bool,
    rx: Receiver<CommitInput>,
    next: Sender<Request>,
) -> std::io::Result<JoinHandle<()>> {
    let mut p = CommitProcessor {
        match_syncs,
        next,
        queued: HashMap::new(),
        by_zxid: HashMap::new(),
    };
    std::thread::Builder::new().name(name).spawn(move || {
        for input in rx {
            if !p.process(input) {
                break;
            }
        }
        info!("CommitProcessor exited loop!");
    })
}

impl CommitProcessor {
    /// False once Final is gone.
    fn process(&mut self, input: CommitInput) -> bool {
        match input {
            CommitInput::Local(r) => self.local(r),
            CommitInput::Committed(c) => self.committed(c),
            CommitInput::CommittedZxid(zxid) => self.committed_zxid(zxid),
        }
    }

    fn local(&mut self, r: Request) -> bool {
        let waits = needs_commit(&r, self.match_syncs);
        let session = r.session_id;
        match self.queued.get_mut(&session) {
            Some(q) => {
                if let Some(h) = &r.hdr {
                    self.by_zxid.insert(h.zxid, session);
                }
                q.push_back(r);
                true
            }
            None if waits => {
                if let Some(h) = &r.hdr {
                    self.by_zxid.insert(h.zxid, session);
                }
                self.queued.insert(session, VecDeque::from([r]));
                true
            }
            None => self.next.send(r).is_ok(),
        }
    }

    fn committed(&mut self, c: Request) -> bool {
        let session = c.session_id;
        let matches = self
            .queued
            .get(&session)
            .and_then(|q| q.front())
            .is_some_and(|h| {
                h.cxid == c.cxid && needs_commit(h, self.match_syncs) && h.hdr.is_none()
            });
        if !matches {
            return self.next.send(c).is_ok();
        }
        let mut local = self
            .queued
            .get_mut(&session)
            .and_then(VecDeque::pop_front)
            .expect("head checked above");
        if c.hdr.is_some() {
            local.hdr = c.hdr;
            local.txn = c.txn;
            local.txn_digest = c.txn_digest;
        }
        if self.next.send(local).is_err() {
            return false;
        }
        self.release_reads(session)
    }

    fn committed_zxid(&mut self, zxid: i64) -> bool {
        let Some(session) = self.by_zxid.remove(&zxid) else {
            warn!("Committed zxid 0x{zxid:x} matches no request waiting here");
            return true;
        };
        let head = self.queued.get_mut(&session).and_then(VecDeque::pop_front);
        match head {
            Some(r) if r.hdr.as_ref().is_some_and(|h| h.zxid == zxid) => {
                if self.next.send(r).is_err() {
                    return false;
                }
            }
            Some(r) => {
                warn!(
                    "Committed zxid 0x{zxid:x} but session 0x{session:x} waits on {r}; passing both on"
                );
                if self.next.send(r).is_err() {
                    return false;
                }
            }
            None => warn!("Committed zxid 0x{zxid:x} but session 0x{session:x} waits on nothing"),
        }
        self.release_reads(session)
    }

    /// Passes on the session's requests up to the next that must wait.
    fn release_reads(&mut self, session: i64) -> bool {
        let Some(q) = self.queued.get_mut(&session) else {
            return true;
        };
        while let Some(r) = q.front() {
            if needs_commit(r, self.match_syncs) {
                return true;
            }
            let r = q.pop_front().expect("front exists");
            if self.next.send(r).is_err() {
                return false;
            }
        }
        self.queued.remove(&session);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;
    use zk_persistence::records::TxnHeader;
    use zk_persistence::zoo_defs::op_code;

    fn req(session: i64, cxid: i32, op: i32) -> Request {
        Request::new(session, cxid, op, Vec::new())
    }

    fn from_leader(session: i64, cxid: i32, zxid: i64) -> Request {
        let mut r = req(session, cxid, op_code::SET_DATA);
        r.hdr = Some(TxnHeader {
            client_id: session,
            cxid,
            zxid,
            time: 0,
            txn_type: op_code::SET_DATA,
        });
        r
    }

    fn recv(rx: &mpsc::Receiver<Request>) -> Request {
        rx.recv_timeout(Duration::from_secs(10)).expect("a request")
    }

    #[test]
    fn learner_reads_wait_behind_their_sessions_write_only() {
        let (tx, rx) = mpsc::channel();
        let (next, out) = mpsc::channel();
        let t = start("CommitProcessor:test".into(), true, rx, next).unwrap();
        tx.send(CommitInput::Local(req(1, 1, op_code::SET_DATA)))
            .unwrap();
        tx.send(CommitInput::Local(req(1, 2, op_code::GET_DATA)))
            .unwrap();
        tx.send(CommitInput::Local(req(2, 1, op_code::GET_DATA)))
            .unwrap();
        let r = recv(&out);
        assert_eq!(
            (r.session_id, r.cxid),
            (2, 1),
            "another session's read goes on"
        );
        // A txn of another server's client passes alone.
        tx.send(CommitInput::Committed(from_leader(9, 4, 0x100)))
            .unwrap();
        let r = recv(&out);
        assert_eq!((r.session_id, r.hdr.unwrap().zxid), (9, 0x100));
        tx.send(CommitInput::Committed(from_leader(1, 1, 0x101)))
            .unwrap();
        let w = recv(&out);
        assert_eq!((w.session_id, w.cxid, w.op), (1, 1, op_code::SET_DATA));
        assert_eq!(
            w.hdr.unwrap().zxid,
            0x101,
            "the local request takes the txn"
        );
        let r = recv(&out);
        assert_eq!((r.session_id, r.cxid, r.op), (1, 2, op_code::GET_DATA));
        // A sync waits for the leader's SYNC.
        tx.send(CommitInput::Local(req(3, 7, op_code::SYNC)))
            .unwrap();
        tx.send(CommitInput::Local(req(3, 8, op_code::EXISTS)))
            .unwrap();
        assert!(out.recv_timeout(Duration::from_millis(50)).is_err());
        tx.send(CommitInput::Committed(req(3, 7, op_code::SYNC)))
            .unwrap();
        assert_eq!(recv(&out).cxid, 7);
        assert_eq!(recv(&out).cxid, 8);
        drop(tx);
        t.join().unwrap();
    }

    #[test]
    fn leader_releases_by_zxid_and_syncs_are_reads() {
        let (tx, rx) = mpsc::channel();
        let (next, out) = mpsc::channel();
        let t = start("CommitProcessor:test".into(), false, rx, next).unwrap();
        tx.send(CommitInput::Local(from_leader(1, 1, 0x201)))
            .unwrap();
        tx.send(CommitInput::Local(req(1, 2, op_code::GET_DATA)))
            .unwrap();
        tx.send(CommitInput::Local(req(2, 5, op_code::SYNC)))
            .unwrap();
        assert_eq!(recv(&out).session_id, 2);
        assert!(out.recv_timeout(Duration::from_millis(50)).is_err());
        tx.send(CommitInput::CommittedZxid(0x201)).unwrap();
        assert_eq!(recv(&out).cxid, 1);
        assert_eq!(recv(&out).cxid, 2);
        drop(tx);
        t.join().unwrap();
    }
}
