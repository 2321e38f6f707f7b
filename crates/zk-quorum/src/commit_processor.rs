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

use log::info;
use zk_persistence::file_txn_log::TxnLogEntry;
use zk_persistence::zoo_defs::{OpCode, OpKind};
use zk_server::request::Request;

/// What the CommitProcessor is told.
#[derive(Debug)]
pub(crate) enum CommitInput {
    /// A request of a client here (or, on the leader, one a learner
    /// forwarded), from the previous stage.
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
pub(crate) fn needs_commit(r: &Request, match_syncs: bool) -> bool {
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
pub(crate) fn request_of_entry(entry: &TxnLogEntry) -> std::io::Result<Request> {
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

/// Whether `r` waits for the quorum in a CommitProcessor. On the leader
/// exactly the requests with a txn do: a write Prep refused before giving
/// it a header is never proposed, so nothing would ever release it.
fn waits(match_syncs: bool, r: &Request) -> bool {
    if match_syncs {
        needs_commit(r, true)
    } else {
        r.hdr.is_some()
    }
}

/// See the module docs. Runs on its own thread, `CommitProcessor:<myid>`
/// as in 3.8.
pub(crate) struct CommitProcessor {
    match_syncs: bool,
    next: Sender<Request>,
    /// Each session's requests that wait, the head being one that needs
    /// the quorum.
    queued: HashMap<i64, VecDeque<Request>>,
    /// Leader: which session's head each proposed zxid is.
    by_zxid: HashMap<i64, i64>,
    /// The zxid of the last local request with a txn (the leader's
    /// proposals arrive in zxid order).
    last_local_zxid: i64,
    /// The zxid of the last committed txn passed on.
    last_committed_zxid: i64,
}

impl CommitProcessor {
    /// Starts the thread, passing requests on to `next`
    /// (FinalRequestProcessor); `match_syncs` on a learner (see
    /// [`needs_commit`]). It ends when every sender of `rx` is gone.
    pub(crate) fn start(
        my_id: i64,
        match_syncs: bool,
        rx: Receiver<CommitInput>,
        next: Sender<Request>,
    ) -> std::io::Result<JoinHandle<()>> {
        let mut p = CommitProcessor {
            match_syncs,
            next,
            queued: HashMap::new(),
            by_zxid: HashMap::new(),
            last_local_zxid: 0,
            last_committed_zxid: 0,
        };
        std::thread::Builder::new()
            .name(format!("CommitProcessor:{my_id}"))
            .spawn(move || {
                for input in rx {
                    if !p.process(input) {
                        break;
                    }
                }
                info!("CommitProcessor exited loop!");
            })
    }

    /// False once Final is gone.
    fn process(&mut self, input: CommitInput) -> bool {
        match input {
            CommitInput::Local(r) => self.local(r),
            CommitInput::Committed(c) => self.committed(c),
            CommitInput::CommittedZxid(zxid) => self.committed_zxid(zxid),
        }
    }

    fn waits(&self, r: &Request) -> bool {
        waits(self.match_syncs, r)
    }

    fn local(&mut self, r: Request) -> bool {
        if let Some(h) = &r.hdr {
            assert!(
                h.zxid > self.last_local_zxid,
                "CommitProcessor: request 0x{:x}:{} with zxid 0x{:x} arrived after zxid 0x{:x}; the chain must pass txns in zxid order",
                r.session_id,
                r.cxid,
                h.zxid,
                self.last_local_zxid
            );
            self.last_local_zxid = h.zxid;
        }
        let waits = self.waits(&r);
        let session = r.session_id;
        if !waits && !self.queued.contains_key(&session) {
            return self.next.send(r).is_ok();
        }
        if let Some(h) = &r.hdr {
            self.by_zxid.insert(h.zxid, session);
        }
        self.queued.entry(session).or_default().push_back(r);
        true
    }

    /// Committed txns leave in zxid order: Final must apply them so.
    fn check_commit_order(&mut self, zxid: i64, session: i64, cxid: i32) {
        assert!(
            zxid > self.last_committed_zxid,
            "CommitProcessor: committed txn 0x{zxid:x} (session 0x{session:x}, cxid {cxid}) after 0x{:x}; commits must come in zxid order",
            self.last_committed_zxid
        );
        self.last_committed_zxid = zxid;
    }

    fn committed(&mut self, c: Request) -> bool {
        if let Some(h) = &c.hdr {
            self.check_commit_order(h.zxid, c.session_id, c.cxid);
        }
        let session = c.session_id;
        // Not every committed txn of a session connected here is its own:
        // the leader may expire it, or the client may have moved to
        // another server meanwhile. Those go on alone.
        let matches = self
            .queued
            .get(&session)
            .and_then(|q| q.front())
            .is_some_and(|h| h.cxid == c.cxid && self.waits(h) && h.hdr.is_none());
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

    /// The leader's own proposal `zxid` is committed: it is the head of
    /// the session that sent it, since each session's txns are proposed,
    /// and so committed, in the order it sent them.
    fn committed_zxid(&mut self, zxid: i64) -> bool {
        let session = self.by_zxid.remove(&zxid).unwrap_or_else(|| {
            panic!("CommitProcessor: committed zxid 0x{zxid:x} matches no request waiting here")
        });
        let head = self.queued.get_mut(&session).and_then(VecDeque::pop_front);
        let Some(r) = head else {
            panic!("CommitProcessor: committed zxid 0x{zxid:x} of session 0x{session:x}, which waits on nothing")
        };
        let head_zxid = r.hdr.as_ref().map_or(-1, |h| h.zxid);
        assert_eq!(
            head_zxid, zxid,
            "CommitProcessor: committed zxid 0x{zxid:x} but session 0x{session:x} waits first on 0x{head_zxid:x} (cxid {})",
            r.cxid
        );
        self.check_commit_order(zxid, session, r.cxid);
        if self.next.send(r).is_err() {
            return false;
        }
        self.release_reads(session)
    }

    /// Passes on the session's requests up to the next that must wait.
    fn release_reads(&mut self, session: i64) -> bool {
        let Some(q) = self.queued.get_mut(&session) else {
            return true;
        };
        while let Some(r) = q.front() {
            if waits(self.match_syncs, r) {
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
        let t = CommitProcessor::start(0, true, rx, next).unwrap();
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
        let t = CommitProcessor::start(0, false, rx, next).unwrap();
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
    /// The message of the panic that ended `t`.
    fn panic_message(t: JoinHandle<()>) -> String {
        let e = t
            .join()
            .expect_err("the CommitProcessor must stop on a broken invariant");
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    }

    #[test]
    fn leader_commits_out_of_zxid_order_stop_the_processor() {
        let (tx, rx) = mpsc::channel();
        let (next, out) = mpsc::channel();
        let t = CommitProcessor::start(0, false, rx, next).unwrap();
        tx.send(CommitInput::Local(from_leader(1, 1, 0x301)))
            .unwrap();
        tx.send(CommitInput::Local(from_leader(2, 1, 0x302)))
            .unwrap();
        tx.send(CommitInput::CommittedZxid(0x302)).unwrap();
        assert_eq!(recv(&out).session_id, 2);
        tx.send(CommitInput::CommittedZxid(0x301)).unwrap();
        let msg = panic_message(t);
        assert!(msg.contains("0x301") && msg.contains("0x302"), "{msg}");
    }

    #[test]
    fn leader_commit_of_an_unknown_zxid_stops_the_processor() {
        let (tx, rx) = mpsc::channel();
        let (next, _out) = mpsc::channel();
        let t = CommitProcessor::start(0, false, rx, next).unwrap();
        tx.send(CommitInput::CommittedZxid(0x401)).unwrap();
        let msg = panic_message(t);
        assert!(msg.contains("0x401"), "{msg}");
    }

    #[test]
    fn leader_passes_a_write_prep_refused_without_a_txn() {
        let (tx, rx) = mpsc::channel();
        let (next, out) = mpsc::channel();
        let t = CommitProcessor::start(0, false, rx, next).unwrap();
        tx.send(CommitInput::Local(req(1, 1, op_code::RECONFIG)))
            .unwrap();
        assert_eq!(recv(&out).cxid, 1, "no commit will come for it");
        drop(tx);
        t.join().unwrap();
    }
}
