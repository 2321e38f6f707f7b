//! A server without sockets, for the processor tests: the whole chain
//! (Prep → Sync → Final) over a real `ZKDatabase`, with the replies the
//! selector would write caught on a channel.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use zk_persistence::data_tree::DataTreeOptions;
use zk_persistence::file_txn_snap_log::FileTxnSnapLog;
use zk_persistence::jute::Record;
use zk_persistence::records::{Acl, Id};
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::{Code, ExtendedTypes};

use crate::cnxn::{CnxnCommand, CnxnSink};
use crate::proto::{AuthPacket, ConnectRequest, ReplyHeader, WatcherEvent};
use crate::request::{CnxnId, Request};
use crate::zookeeper_server::{ConnectOutcome, ZooKeeperServer, ZooKeeperServerConfig};

const WAIT: Duration = Duration::from_secs(20);

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "zk-server-unit-{}-{}-{}",
            name,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One client: its connection id, session and authenticated ids.
#[derive(Debug, Clone)]
pub struct Sess {
    pub cnxn: CnxnId,
    pub id: i64,
    pub auth: Vec<Id>,
}

/// A reply: header fields and the record bytes after the header.
#[derive(Debug)]
pub struct Reply {
    pub err: i32,
    pub zxid: i64,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn code(&self) -> Code {
        Code::from_i32(self.err).unwrap()
    }

    pub fn ok<R: Record>(&self) -> R {
        assert_eq!(self.err, 0, "expected success, got {:?}", self.code());
        R::from_bytes(&self.body).unwrap()
    }
}

pub struct Harness {
    pub zks: Arc<ZooKeeperServer>,
    rx: Receiver<CnxnCommand>,
    pub events: Vec<(CnxnId, WatcherEvent)>,
    next_cnxn: CnxnId,
    next_xid: i32,
    _dir: TempDir,
}

pub fn peer() -> SocketAddr {
    "127.0.0.1:40000".parse().unwrap()
}

impl Harness {
    /// A running server; every harness in this test binary runs with
    /// digests and TTL nodes on (those settings are process-wide).
    pub fn new(props: &[(&str, &str)]) -> Harness {
        Harness::with_role(props, false, Arc::new(crate::server_role::Standalone))
    }

    /// As [`Harness::new`], with `reconfigEnabled` and the server's role
    /// given (the chain is the role's; the default one is standalone's).
    pub fn with_role(
        props: &[(&str, &str)],
        reconfig_enabled: bool,
        role: Arc<dyn crate::server_role::ServerRole>,
    ) -> Harness {
        DataTreeOptions::set_current(DataTreeOptions {
            digest_enabled: true,
            extended_types: ExtendedTypes {
                enabled: true,
                emulate_353_ttl: false,
            },
        });
        let dir = TempDir::new("harness");
        let mut db = ZKDatabase::new(FileTxnSnapLog::open(&dir.0, &dir.0).unwrap());
        db.load_database().unwrap();
        let mut cfg = ZooKeeperServerConfig::with_tick_time(1000);
        for (k, v) in props {
            cfg.system_properties.set(*k, *v);
        }
        cfg.reconfig_enabled = reconfig_enabled;
        let zks = ZooKeeperServer::with_role(cfg, Arc::new(std::sync::RwLock::new(db)), role);
        let (tx, rx) = mpsc::channel();
        zks.set_cnxn_sink(CnxnSink::new(tx, None));
        zks.startup().unwrap();
        Harness {
            zks,
            rx,
            events: Vec::new(),
            next_cnxn: 100,
            next_xid: 1,
            _dir: dir,
        }
    }

    fn recv(&mut self) -> CnxnCommand {
        self.rx.recv_timeout(WAIT).expect("no reply from the chain")
    }

    /// A new session on a new connection.
    pub fn session(&mut self) -> Sess {
        self.next_cnxn += 1;
        let cnxn = self.next_cnxn;
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 30000,
            session_id: 0,
            passwd: vec![0; 16],
        };
        let out = self
            .zks
            .process_connect_request(cnxn, peer(), &req.to_bytes())
            .unwrap();
        let ConnectOutcome::Pending { session_id, .. } = out else {
            panic!("new sessions go through the chain")
        };
        loop {
            match self.recv() {
                CnxnCommand::SessionEstablished { cnxn: c, .. } if c == cnxn => break,
                other => self.note(other),
            }
        }
        Sess {
            cnxn,
            id: session_id,
            auth: vec![Id {
                scheme: "ip".into(),
                id: "127.0.0.1".into(),
            }],
        }
    }

    pub fn add_auth(&self, s: &mut Sess, scheme: &str, auth: &str) -> Code {
        let p = AuthPacket {
            r#type: 0,
            scheme: scheme.into(),
            auth: auth.as_bytes().to_vec(),
        };
        self.zks.process_auth(s.id, peer(), &p, &mut s.auth)
    }

    fn note(&mut self, cmd: CnxnCommand) {
        if let CnxnCommand::Send(c, f) = cmd {
            let h = ReplyHeader::from_bytes(&f[4..20]).unwrap();
            if h.xid == -1 {
                let ev = WatcherEvent::from_bytes(&f[20..]).unwrap();
                self.events.push((c, ev));
            }
        }
    }

    /// Sends one request and waits for its reply.
    pub fn call(&mut self, s: &Sess, op: i32, body: Vec<u8>) -> Reply {
        self.next_xid += 1;
        let xid = self.next_xid;
        let mut r = Request::new(s.id, xid, op, body);
        r.cnxn = Some(s.cnxn);
        r.auth_info = Arc::new(s.auth.clone());
        self.zks.submit_request(r);
        let deadline = Instant::now() + WAIT;
        loop {
            assert!(Instant::now() < deadline, "no reply to xid {}", xid);
            let cmd = self.recv();
            let (c, f) = match &cmd {
                CnxnCommand::Send(c, f) | CnxnCommand::SendAndClose(c, f) => (*c, f.clone()),
                _ => continue,
            };
            let h = ReplyHeader::from_bytes(&f[4..20]).unwrap();
            if c == s.cnxn && h.xid == xid {
                return Reply {
                    err: h.err,
                    zxid: h.zxid,
                    body: f[20..].to_vec(),
                };
            }
            self.note(cmd);
        }
    }

    pub fn call_rec<R: Record>(&mut self, s: &Sess, op: i32, r: &R) -> Reply {
        self.call(s, op, r.to_bytes())
    }

    /// Events delivered to `cnxn` so far, as (type, path), and forgets them.
    pub fn take_events(&mut self, cnxn: CnxnId) -> Vec<(i32, String)> {
        let (mine, rest): (Vec<_>, Vec<_>) = self.events.drain(..).partition(|(c, _)| *c == cnxn);
        self.events = rest;
        mine.into_iter().map(|(_, e)| (e.r#type, e.path)).collect()
    }

    pub fn shutdown(self) {
        self.zks.shutdown();
    }
}

pub fn open_acl() -> Vec<Acl> {
    zk_persistence::zoo_defs::ids::open_acl_unsafe()
}
