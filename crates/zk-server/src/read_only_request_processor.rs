//! `ReadOnlyRequestProcessor`: the first stage of a read-only server (a
//! quorum peer cut off from its ensemble, with `readonlymode.enabled`).
//!
//! Nothing here may change the database: it is the peer's own, and the
//! next election votes with its last zxid. So every write is answered at
//! once with NOTREADONLY, and sessions are local to this server: created
//! and closed in the session tracker only, with no txn (the requests go
//! on to Final without a header, which answers them without applying
//! anything). Reads go on to Final, which serves them from the tree.
//!
//! ```text
//! ReadOnlyRequestProcessor -> FinalRequestProcessor
//! ```

use std::collections::HashSet;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use log::{debug, info};
use zk_persistence::jute::Record;
use zk_persistence::zoo_defs::{Code, OpCode, OpKind};

use crate::cnxn::CnxnCommand;
use crate::final_request_processor::FinalRequestProcessor;
use crate::proto::{frame, ReplyHeader};
use crate::request::Request;
use crate::zookeeper_server::{Chain, ZooKeeperServer};

/// The requests a read-only server refuses: everything that would be a
/// txn (including `check` and `multi`, whatever their ops) and `sync`,
/// which has no leader to sync with.
pub fn is_refused_when_read_only(op: i32) -> bool {
    match OpCode::try_from(op).map(OpCode::kind) {
        Ok(OpKind::Write | OpKind::Sync) => true,
        Ok(OpKind::Session | OpKind::Read | OpKind::Connection | OpKind::ServerOnly) | Err(_) => {
            false
        }
    }
}

/// The first stage of a read-only server: refuses writes, keeps sessions
/// local, passes reads on.
pub struct ReadOnlyRequestProcessor {
    zks: Arc<ZooKeeperServer>,
    next: Sender<Request>,
    /// Sessions created on this server; others (a client of the
    /// read-write server reconnecting) cannot be closed here.
    local_sessions: HashSet<i64>,
}

/// The read-only server's whole chain, for
/// [`ServerRole::setup_request_processors`](crate::server_role::ServerRole::setup_request_processors):
/// this stage, then
/// `FinalRequestProcessor`.
pub fn read_only_chain(zks: &Arc<ZooKeeperServer>) -> std::io::Result<Chain> {
    let (final_tx, final_rx) = mpsc::channel();
    let (ro_tx, ro_rx) = mpsc::channel();
    let threads = vec![
        FinalRequestProcessor::start(Arc::clone(zks), final_rx)?,
        ReadOnlyRequestProcessor::start(Arc::clone(zks), ro_rx, final_tx)?,
    ];
    Ok((ro_tx, threads))
}

impl ReadOnlyRequestProcessor {
    /// Starts the stage's thread, feeding `next` (Final).
    pub fn start(
        zks: Arc<ZooKeeperServer>,
        rx: Receiver<Request>,
        next: Sender<Request>,
    ) -> std::io::Result<JoinHandle<()>> {
        let mut p = ReadOnlyRequestProcessor {
            zks,
            next,
            local_sessions: HashSet::new(),
        };
        std::thread::Builder::new()
            .name("ReadOnlyRequestProcessor".into())
            .spawn(move || {
                for r in rx {
                    if !p.process_request(r) {
                        break;
                    }
                }
                info!("ReadOnlyRequestProcessor exited loop!");
            })
    }

    /// False once the next stage is gone.
    fn process_request(&mut self, r: Request) -> bool {
        if is_refused_when_read_only(r.op) {
            self.refuse(&r);
            return true;
        }
        match r.op_code() {
            Ok(OpCode::CreateSession) => {
                self.local_sessions.insert(r.session_id);
            }
            Ok(OpCode::CloseSession) => {
                if !self.local_sessions.remove(&r.session_id) && r.cnxn.is_some() {
                    self.refuse(&r);
                    return true;
                }
                if let Some(tracker) = self.zks.try_session_tracker() {
                    tracker.remove_session(r.session_id);
                }
                if r.cnxn.is_none() {
                    // Expired: Final has no connection to answer.
                    self.zks.send(CnxnCommand::CloseSession(r.session_id));
                    return true;
                }
            }
            // Everything else goes on to Final as it is.
            Ok(_) | Err(_) => {}
        }
        self.next.send(r).is_ok()
    }

    /// `sendErrorResponse`: NOTREADONLY with the last zxid of the tree.
    fn refuse(&self, r: &Request) {
        debug!(
            "Refusing request 0x{:x}:{} (type {}): this server is read-only",
            r.session_id, r.cxid, r.op
        );
        let Some(cnxn) = r.cnxn else {
            return;
        };
        let hdr = ReplyHeader {
            xid: r.cxid,
            zxid: self
                .zks
                .db()
                .read()
                .unwrap()
                .data_tree_last_processed_zxid(),
            err: Code::NOTREADONLY as i32,
        };
        self.zks
            .send(CnxnCommand::Send(cnxn, frame(&hdr.to_bytes())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;
    use zk_persistence::zoo_defs::op_code;

    use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
    use zk_persistence::zk_database::ZKDatabase;

    use crate::cnxn::CnxnSink;
    use crate::proto::ConnectRequest;
    use crate::server_role::ServerRole;
    use crate::session_tracker::SessionTracker;
    use crate::test_harness::{peer, TempDir};
    use crate::zookeeper_server::{ConnectOutcome, ZooKeeperServerConfig};
    use std::sync::RwLock;

    /// zk-quorum's `ReadOnlyZooKeeperServer` role, in brief.
    struct TestReadOnlyRole;

    impl ServerRole for TestReadOnlyRole {
        fn create_session_tracker(&self, _: &Arc<ZooKeeperServer>) -> Arc<SessionTracker> {
            SessionTracker::new(1000, 1, &Default::default())
        }

        fn setup_request_processors(&self, zks: &Arc<ZooKeeperServer>) -> std::io::Result<Chain> {
            read_only_chain(zks)
        }

        fn is_read_only(&self) -> bool {
            true
        }
    }

    fn connect_frame(read_only: Option<bool>) -> Vec<u8> {
        let mut bytes = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 30000,
            session_id: 0,
            passwd: vec![0; 16],
        }
        .to_bytes();
        // The trailing flag newer clients send; old ones end at the password.
        bytes.extend(read_only.map(u8::from));
        bytes
    }

    #[test]
    fn a_read_only_server_takes_read_only_clients_and_refuses_writes() {
        let dir = TempDir::new("read-only");
        let mut db = ZKDatabase::new(FileTxnSnapLog::open(&dir.0, &dir.0).unwrap());
        db.load_database().unwrap();
        let zks = ZooKeeperServer::with_role(
            ZooKeeperServerConfig::with_tick_time(1000),
            Arc::new(RwLock::new(db)),
            Arc::new(TestReadOnlyRole),
        );
        let (tx, rx) = mpsc::channel();
        zks.set_cnxn_sink(CnxnSink::new(tx, None));
        zks.startup_without_serving().unwrap();
        zks.start_serving();
        let zxid = zks.db().read().unwrap().data_tree_last_processed_zxid();
        let wait = Duration::from_secs(20);

        for old_or_rw in [None, Some(false)] {
            let refused = zks.process_connect_request(1, peer(), &connect_frame(old_or_rw));
            assert!(
                matches!(&refused, Err(m) if m.contains("not-read-only")),
                "{old_or_rw:?}"
            );
        }

        let out = zks
            .process_connect_request(2, peer(), &connect_frame(Some(true)))
            .unwrap();
        let ConnectOutcome::Pending { session_id, .. } = out else {
            panic!("a new session goes through the chain");
        };
        let established = loop {
            match rx.recv_timeout(wait).expect("no connect response") {
                CnxnCommand::SessionEstablished { cnxn: 2, frame, .. } => break frame,
                _ => continue,
            }
        };
        assert_eq!(
            established.last(),
            Some(&1),
            "readOnly flag in the response"
        );

        let mut create = Request::new(session_id, 7, op_code::CREATE, Vec::new());
        create.cnxn = Some(2);
        zks.submit_request(create);
        let reply = loop {
            match rx.recv_timeout(wait).expect("no reply to the create") {
                CnxnCommand::Send(2, frame) => break frame,
                _ => continue,
            }
        };
        let hdr = ReplyHeader::from_bytes(&reply[4..]).unwrap();
        assert_eq!((hdr.xid, hdr.err), (7, Code::NOTREADONLY as i32));
        assert_eq!(hdr.zxid, zxid);
        assert_eq!(
            zks.db().read().unwrap().data_tree_last_processed_zxid(),
            zxid
        );
        zks.shutdown();
    }

    #[test]
    fn writes_sync_check_and_multi_are_refused_reads_are_not() {
        for op in [
            op_code::CREATE,
            op_code::CREATE2,
            op_code::CREATE_TTL,
            op_code::CREATE_CONTAINER,
            op_code::DELETE,
            op_code::DELETE_CONTAINER,
            op_code::SET_DATA,
            op_code::SET_ACL,
            op_code::RECONFIG,
            op_code::MULTI,
            op_code::CHECK,
            op_code::SYNC,
        ] {
            assert!(is_refused_when_read_only(op), "{op}");
        }
        for op in [
            op_code::GET_DATA,
            op_code::GET_CHILDREN,
            op_code::GET_CHILDREN2,
            op_code::EXISTS,
            op_code::GET_ACL,
            op_code::MULTI_READ,
            op_code::PING,
            op_code::CREATE_SESSION,
            op_code::CLOSE_SESSION,
        ] {
            assert!(!is_refused_when_read_only(op), "{op}");
        }
    }
}
