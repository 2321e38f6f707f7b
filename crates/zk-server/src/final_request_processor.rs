//! `FinalRequestProcessor`: the last stage. It applies each txn to the
//! database, fires the watches the change triggers, answers reads from
//! the tree (registering their watches), and queues the reply on the
//! connection. Watch events go out before the reply of the request that
//! caused them, and everything leaves this one thread in zxid order.

use std::collections::HashSet;
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::thread::JoinHandle;

use log::{debug, error, info};
use zk_persistence::data_tree::{Change, ProcessTxnResult};
use zk_persistence::jute::{InputArchive, Record};
use zk_persistence::records::{ClientInfo, Id};
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::{perms, Code, OpCode};

use crate::cnxn::CnxnCommand;
use crate::multi::{MultiOp, MultiRequest, MultiResponse, OpResult};
use crate::proto::*;
use crate::request::{CnxnId, Request};
use crate::watch_manager::WatcherMode;
use crate::zookeeper_server::{connect_response_frame, Watches, ZooKeeperServer};

/// `Watcher.Event.KeeperState.SyncConnected`.
const SYNC_CONNECTED: i32 = 3;
const EVENT_NODE_CREATED: i32 = 1;
const EVENT_NODE_DELETED: i32 = 2;
const EVENT_NODE_DATA_CHANGED: i32 = 3;
const EVENT_NODE_CHILDREN_CHANGED: i32 = 4;

/// The last stage of every chain (see the module doc).
pub struct FinalRequestProcessor {
    zks: Arc<ZooKeeperServer>,
}

/// A reply body, type-erased.
type Body = Option<Vec<u8>>;

fn body<R: Record>(r: R) -> Body {
    Some(r.to_bytes())
}

fn decode<T: Record>(bytes: &[u8], max: usize) -> Result<T, Code> {
    T::deserialize(&mut InputArchive::with_max_buffer(bytes, max)).map_err(|e| {
        error!("Failed to decode a request: {}", e);
        Code::MARSHALLINGERROR
    })
}

impl FinalRequestProcessor {
    /// Starts the stage's thread.
    pub fn start(
        zks: Arc<ZooKeeperServer>,
        rx: Receiver<Request>,
    ) -> std::io::Result<JoinHandle<()>> {
        let p = FinalRequestProcessor { zks };
        std::thread::Builder::new()
            .name("FinalRequestProcessor".into())
            .spawn(move || {
                for r in rx {
                    p.process_request(r);
                }
                info!("shutdown of request processor complete");
            })
    }

    fn send(&self, cnxn: CnxnId, frame: Vec<u8>) {
        self.zks.send(CnxnCommand::Send(cnxn, frame));
    }

    /// Applies the txn, if any, under the outstanding-changes lock so Prep
    /// never sees a change both in the tree and as outstanding.
    fn apply(&self, r: &Request) -> Option<ProcessTxnResult> {
        let (hdr, txn) = (r.hdr.as_ref()?, r.txn.as_ref()?);
        let mut oc = self.zks.outstanding.lock().unwrap();
        let mut db = self.zks.db().write().unwrap();
        let digest = r.txn_digest.as_ref();
        let rc = db.data_tree_mut().process_txn_with_digest(hdr, txn, digest);
        let txn_type = OpCode::try_from(hdr.txn_type);
        match txn_type {
            Ok(OpCode::CreateSession) => {
                let timeout = match txn {
                    zk_persistence::txn::Txn::CreateSession(t) => t.time_out,
                    _ => 0,
                };
                db.sessions_with_timeouts_mut()
                    .insert(hdr.client_id, timeout);
            }
            Ok(OpCode::CloseSession) => {
                db.sessions_with_timeouts_mut().remove(&hdr.client_id);
            }
            // Other txns leave the session table alone.
            Ok(_) | Err(_) => {}
        }
        db.add_committed_txn(hdr, txn, digest);
        oc.remove_applied(hdr.zxid);
        drop(db);
        drop(oc);
        if txn_type == Ok(OpCode::CloseSession) {
            self.zks.session_tracker().remove_session(hdr.client_id);
            if r.cnxn.is_none() {
                // Expired (not closed by its client): drop its connection.
                self.zks.send(CnxnCommand::CloseSession(hdr.client_id));
            }
        }
        self.zks.notify_applied(hdr.zxid);
        Some(rc)
    }

    fn fire_watches(&self, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let mut w = self.zks.watches.lock().unwrap();
        let none = HashSet::new();
        for ch in changes {
            let (targets, ty) = match ch {
                Change::NodeCreated(p) => {
                    (w.data.trigger_watch(p, false, &none), EVENT_NODE_CREATED)
                }
                Change::NodeDataChanged(p) => (
                    w.data.trigger_watch(p, false, &none),
                    EVENT_NODE_DATA_CHANGED,
                ),
                Change::NodeDeleted(p) => {
                    let mut told = w.data.trigger_watch(p, false, &none);
                    let more = w.child.trigger_watch(p, false, &told);
                    told.extend(more);
                    (told, EVENT_NODE_DELETED)
                }
                Change::NodeChildrenChanged(p) => (
                    w.child.trigger_watch(p, true, &none),
                    EVENT_NODE_CHILDREN_CHANGED,
                ),
            };
            for c in targets {
                self.send(c, event_frame(ty, ch.path()));
            }
        }
    }

    /// Applies `r`'s txn, fires its watches and answers its connection.
    pub fn process_request(&self, r: Request) {
        debug!("Processing request:: {}", r);
        let rc = self.apply(&r);
        if let Some(rc) = &rc {
            self.fire_watches(&rc.changes);
        }
        let last_zxid = self.zks.last_processed_zxid();
        self.zks.stats.request_completed(&r, last_zxid);
        let Some(cnxn) = r.cnxn else {
            return;
        };
        let (err, rsp) = match self.reply(&r, rc.as_ref(), cnxn) {
            Ok(None) => return,
            Ok(Some(rsp)) => (Code::OK, rsp),
            Err(code) => (code, None),
        };
        let err = match (err, &rc) {
            (Code::OK, Some(rc)) if rc.err != 0 && r.op_code() != Ok(OpCode::Multi) => {
                Code::from_i32(rc.err).unwrap_or(Code::SYSTEMERROR)
            }
            (e, _) => e,
        };
        let hdr = ReplyHeader {
            xid: r.cxid,
            zxid: last_zxid,
            err: err as i32,
        };
        let mut frame = hdr.to_bytes();
        if let Some(b) = rsp {
            frame.extend_from_slice(&b);
        }
        let frame = crate::proto::frame(&frame);
        if r.op_code() == Ok(OpCode::CloseSession) {
            self.zks.send(CnxnCommand::SendAndClose(cnxn, frame));
        } else {
            self.zks.send(CnxnCommand::Send(cnxn, frame));
        }
    }

    /// The reply body, `Ok(None)` when the reply was sent another way, or
    /// the error code.
    fn reply(
        &self,
        r: &Request,
        rc: Option<&ProcessTxnResult>,
        cnxn: CnxnId,
    ) -> Result<Option<Body>, Code> {
        if let Some(h) = &r.hdr {
            if h.txn_type == OpCode::Error.value() {
                return Err(r.err.unwrap_or_else(|| match &r.txn {
                    Some(zk_persistence::txn::Txn::Error(e)) => {
                        Code::from_i32(e.err).unwrap_or(Code::SYSTEMERROR)
                    }
                    _ => Code::SYSTEMERROR,
                }));
            }
        }
        if let Some(e) = r.err {
            if r.op_code() != Ok(OpCode::Multi) {
                return Err(e);
            }
        }
        let Ok(op) = r.op_code() else {
            // The server answers unknown opcodes before the chain.
            return Ok(Some(None));
        };
        use OpCode::*;
        match op {
            Ping | CreateSession => {
                self.session_reply(op, r, cnxn);
                Ok(None)
            }
            Create | Create2 | CreateTtl | CreateContainer | Delete | DeleteContainer
            | CloseSession | SetData | Check | SetAcl | Multi => Ok(Some(txn_result(op, rc)?)),
            Reconfig => self.reconfig_reply(r, rc).map(Some),
            Sync | Exists | GetData | GetChildren | GetChildren2 | GetAllChildrenNumber
            | GetAcl | WhoAmI | GetEphemerals => Ok(Some(self.read(op, r, cnxn)?)),
            MultiRead => Ok(Some(self.multi_read(r, cnxn)?)),
            SetWatches | SetWatches2 | AddWatch | CheckWatches | RemoveWatches => {
                Ok(Some(self.watch_request(op, r, cnxn)?))
            }
            // `Request.isValid` keeps these out of the chain.
            Notification | Auth | Sasl | Error => Ok(Some(None)),
        }
    }

    /// reconfig: the config now in force and the stat of
    /// /zookeeper/config. 3.8 prints its peer's committed config, which
    /// by the time Final runs is the one this txn carried (the leader and
    /// the learners activate it before applying the txn), so the txn's
    /// text is what it sends. A reconfig without one (only a standalone
    /// server's, which Prep refuses first) fails as 3.8's cast to a
    /// quorum server does.
    fn reconfig_reply(&self, r: &Request, rc: Option<&ProcessTxnResult>) -> Result<Body, Code> {
        let data = match &r.txn {
            Some(zk_persistence::txn::Txn::Reconfig(t)) => t.data.clone(),
            _ => return Err(Code::MARSHALLINGERROR),
        };
        let stat = rc.and_then(|rc| rc.stat.clone()).unwrap_or_default();
        Ok(body(GetDataResponse { data, stat }))
    }

    /// ping and createSession: answered with frames of their own.
    fn session_reply(&self, op: OpCode, r: &Request, cnxn: CnxnId) {
        if op == OpCode::Ping {
            let last = self.zks.last_processed_zxid();
            let f = reply_frame::<ErrorResponse>(
                &ReplyHeader {
                    xid: PING_XID,
                    zxid: last,
                    err: 0,
                },
                None,
            );
            self.send(cnxn, f);
            return;
        }
        let info = r.connect.unwrap_or(crate::request::ConnectInfo {
            timeout: 0,
            read_only: None,
        });
        self.zks.send(CnxnCommand::SessionEstablished {
            cnxn,
            session_id: r.session_id,
            frame: connect_response_frame(
                true,
                r.session_id,
                info.timeout,
                info.read_only.map(|_| self.zks.is_read_only()),
            ),
        });
    }

    /// A read of the tree (sync included: its path, once the server is
    /// up to date), registering the watch it asks for.
    fn read(&self, op: OpCode, r: &Request, cnxn: CnxnId) -> Result<Body, Code> {
        let max = self.zks.max_buffer();
        let db = self.zks.db().read().unwrap();
        match op {
            OpCode::Sync => {
                let s: SyncRequest = decode(&r.body, max)?;
                Ok(body(SyncResponse { path: s.path }))
            }
            OpCode::Exists => {
                let e: ExistsRequest = decode(&r.body, max)?;
                if e.path.contains('\0') {
                    return Err(Code::BADARGUMENTS);
                }
                if e.watch {
                    let mut w = self.zks.watches.lock().unwrap();
                    w.data.add_watch(&e.path, cnxn, WatcherMode::Standard);
                }
                let stat = db.data_tree().stat_node(&e.path)?;
                Ok(body(ExistsResponse { stat }))
            }
            OpCode::GetData => {
                let g: GetDataRequest = decode(&r.body, max)?;
                let mut w = self.zks.watches.lock().unwrap();
                Ok(body(self.get_data(
                    &db,
                    &mut w,
                    &g.path,
                    g.watch,
                    cnxn,
                    &r.auth_info,
                )?))
            }
            OpCode::GetChildren => {
                let g: GetChildrenRequest = decode(&r.body, max)?;
                let mut w = self.zks.watches.lock().unwrap();
                let (children, _) =
                    self.get_children(&db, &mut w, &g.path, g.watch, cnxn, &r.auth_info)?;
                Ok(body(GetChildrenResponse { children }))
            }
            OpCode::GetChildren2 => {
                let g: GetChildren2Request = decode(&r.body, max)?;
                let mut w = self.zks.watches.lock().unwrap();
                let (children, stat) =
                    self.get_children(&db, &mut w, &g.path, g.watch, cnxn, &r.auth_info)?;
                Ok(body(GetChildren2Response { children, stat }))
            }
            OpCode::GetAllChildrenNumber => {
                let g: GetAllChildrenNumberRequest = decode(&r.body, max)?;
                let n = db.data_tree().get_node(&g.path).ok_or(Code::NONODE)?;
                self.zks.check_acl(n.acl(), perms::READ, &r.auth_info)?;
                let total = db.data_tree().get_all_children_number(&g.path) as i32;
                Ok(body(GetAllChildrenNumberResponse {
                    total_number: total,
                }))
            }
            OpCode::GetAcl => self.get_acl(&db, r),
            OpCode::WhoAmI => Ok(body(WhoAmIResponse {
                client_info: client_infos(&r.auth_info, &self.zks.config().system_properties),
            })),
            OpCode::GetEphemerals => {
                let g: GetEphemeralsRequest = decode(&r.body, max)?;
                let all = db.data_tree().get_ephemerals(r.session_id);
                let prefix = g.prefix_path.trim();
                let ephemerals = if prefix.is_empty() || prefix == "/" {
                    all
                } else {
                    all.into_iter()
                        .filter(|p| p.starts_with(&g.prefix_path))
                        .collect()
                };
                Ok(body(GetEphemeralsResponse { ephemerals }))
            }
            other => unreachable!("FinalRequestProcessor::read called for {other:?}"),
        }
    }

    /// getACL: digest hashes are hidden from whoever lacks ADMIN.
    fn get_acl(&self, db: &ZKDatabase, r: &Request) -> Result<Body, Code> {
        let g: GetAclRequest = decode(&r.body, self.zks.max_buffer())?;
        let n = db.data_tree().get_node(&g.path).ok_or(Code::NONODE)?;
        self.zks
            .check_acl(n.acl(), perms::READ | perms::ADMIN, &r.auth_info)?;
        let mut acl = n.acl().to_vec();
        if self
            .zks
            .check_acl(n.acl(), perms::ADMIN, &r.auth_info)
            .is_err()
        {
            for a in &mut acl {
                if a.id.scheme == "digest" {
                    if let Some(i) = a.id.id.find(':') {
                        a.id.id = format!("{}:x", &a.id.id[..i]);
                    }
                }
            }
        }
        Ok(body(GetAclResponse {
            acl,
            stat: n.stat(),
        }))
    }

    /// multiRead: each read answered on its own, failures as error results.
    fn multi_read(&self, r: &Request, cnxn: CnxnId) -> Result<Body, Code> {
        let req = MultiRequest::from_bytes(&r.body, self.zks.max_buffer())
            .map_err(|_| Code::MARSHALLINGERROR)?;
        let db = self.zks.db().read().unwrap();
        let mut w = self.zks.watches.lock().unwrap();
        let mut out = MultiResponse::default();
        for op in req.ops {
            let res = match op {
                MultiOp::GetChildren(g) => self
                    .get_children(&db, &mut w, &g.path, g.watch, cnxn, &r.auth_info)
                    .map(|(c, _)| OpResult::GetChildren(c)),
                MultiOp::GetData(g) => self
                    .get_data(&db, &mut w, &g.path, g.watch, cnxn, &r.auth_info)
                    .map(|g| OpResult::GetData(g.data, g.stat)),
                _ => return Err(Code::MARSHALLINGERROR),
            };
            out.results
                .push(res.unwrap_or_else(|c| OpResult::Error(c as i32)));
        }
        Ok(body(out))
    }

    /// setWatches, setWatches2, addWatch, checkWatches, removeWatches.
    fn watch_request(&self, op: OpCode, r: &Request, cnxn: CnxnId) -> Result<Body, Code> {
        let max = self.zks.max_buffer();
        match op {
            OpCode::SetWatches => {
                let s: SetWatches = decode(&r.body, max)?;
                let s2 = SetWatches2 {
                    relative_zxid: s.relative_zxid,
                    data_watches: s.data_watches,
                    exist_watches: s.exist_watches,
                    child_watches: s.child_watches,
                    ..Default::default()
                };
                self.set_watches(&s2, cnxn);
                Ok(None)
            }
            OpCode::SetWatches2 => {
                let s: SetWatches2 = decode(&r.body, max)?;
                self.set_watches(&s, cnxn);
                Ok(None)
            }
            OpCode::AddWatch => {
                let a: AddWatchRequest = decode(&r.body, max)?;
                // An unknown mode is an IllegalArgumentException in Java.
                let mode =
                    WatcherMode::from_add_watch_mode(a.mode).ok_or(Code::MARSHALLINGERROR)?;
                let mut w = self.zks.watches.lock().unwrap();
                w.data.add_watch(&a.path, cnxn, mode);
                w.child.add_watch(&a.path, cnxn, mode);
                Ok(body(ErrorResponse { err: 0 }))
            }
            OpCode::CheckWatches | OpCode::RemoveWatches => {
                let c: CheckWatchesRequest = decode(&r.body, max)?;
                self.check_watches(&c, op == OpCode::RemoveWatches, cnxn)?;
                Ok(None)
            }
            other => unreachable!("FinalRequestProcessor::watch_request called for {other:?}"),
        }
    }

    /// checkWatches (or, with `remove`, removeWatches): NOWATCHER unless
    /// the connection has a watch of the kind asked for on the path.
    fn check_watches(
        &self,
        c: &CheckWatchesRequest,
        remove: bool,
        cnxn: CnxnId,
    ) -> Result<(), Code> {
        let mut w = self.zks.watches.lock().unwrap();
        let (children, data) = match c.r#type {
            1 => (true, false),
            2 => (false, true),
            3 => (true, true),
            // `WatcherType.fromInt` throws a RuntimeException.
            _ => return Err(Code::MARSHALLINGERROR),
        };
        let mut found = false;
        if children {
            found |= if remove {
                w.child.remove_watcher(&c.path, cnxn)
            } else {
                w.child.contains_watcher(&c.path, cnxn)
            };
        }
        if data {
            found |= if remove {
                w.data.remove_watcher(&c.path, cnxn)
            } else {
                w.data.contains_watcher(&c.path, cnxn)
            };
        }
        if found {
            Ok(())
        } else {
            Err(Code::NOWATCHER)
        }
    }

    fn get_data(
        &self,
        db: &ZKDatabase,
        w: &mut Watches,
        path: &str,
        watch: bool,
        cnxn: CnxnId,
        auth: &[Id],
    ) -> Result<GetDataResponse, Code> {
        let n = db.data_tree().get_node(path).ok_or(Code::NONODE)?;
        self.zks.check_acl(n.acl(), perms::READ, auth)?;
        if watch {
            w.data.add_watch(path, cnxn, WatcherMode::Standard);
        }
        Ok(GetDataResponse {
            data: n.data().map(<[u8]>::to_vec),
            stat: n.stat(),
        })
    }

    fn get_children(
        &self,
        db: &ZKDatabase,
        w: &mut Watches,
        path: &str,
        watch: bool,
        cnxn: CnxnId,
        auth: &[Id],
    ) -> Result<(Vec<String>, zk_persistence::records::Stat), Code> {
        let n = db.data_tree().get_node(path).ok_or(Code::NONODE)?;
        self.zks.check_acl(n.acl(), perms::READ, auth)?;
        if watch {
            w.child.add_watch(path, cnxn, WatcherMode::Standard);
        }
        Ok((n.children(), n.stat()))
    }

    /// `DataTree.setWatches`: watches whose condition already changed
    /// since `relative_zxid` fire at once; the rest are registered.
    fn set_watches(&self, s: &SetWatches2, cnxn: CnxnId) {
        let db = self.zks.db().read().unwrap();
        let tree = db.data_tree();
        let mut w = self.zks.watches.lock().unwrap();
        let mut events = Vec::new();
        for p in &s.data_watches {
            match tree.get_node(p) {
                None => events.push((EVENT_NODE_DELETED, p)),
                Some(n) if n.stat().mzxid > s.relative_zxid => {
                    events.push((EVENT_NODE_DATA_CHANGED, p))
                }
                Some(_) => {
                    w.data.add_watch(p, cnxn, WatcherMode::Standard);
                }
            }
        }
        for p in &s.exist_watches {
            if tree.get_node(p).is_some() {
                events.push((EVENT_NODE_CREATED, p));
            } else {
                w.data.add_watch(p, cnxn, WatcherMode::Standard);
            }
        }
        for p in &s.child_watches {
            match tree.get_node(p) {
                None => events.push((EVENT_NODE_DELETED, p)),
                Some(n) if n.stat().pzxid > s.relative_zxid => {
                    events.push((EVENT_NODE_CHILDREN_CHANGED, p))
                }
                Some(_) => {
                    w.child.add_watch(p, cnxn, WatcherMode::Standard);
                }
            }
        }
        for p in &s.persistent_watches {
            w.child.add_watch(p, cnxn, WatcherMode::Persistent);
            w.data.add_watch(p, cnxn, WatcherMode::Persistent);
        }
        for p in &s.persistent_recursive_watches {
            w.child.add_watch(p, cnxn, WatcherMode::PersistentRecursive);
            w.data.add_watch(p, cnxn, WatcherMode::PersistentRecursive);
        }
        drop(w);
        drop(db);
        for (ty, p) in events {
            self.send(cnxn, event_frame(ty, p));
        }
    }
}

fn event_frame(ty: i32, path: &str) -> Vec<u8> {
    reply_frame(
        &ReplyHeader {
            xid: NOTIFICATION_XID,
            zxid: -1,
            err: 0,
        },
        Some(&WatcherEvent {
            r#type: ty,
            state: SYNC_CONNECTED,
            path: path.to_string(),
        }),
    )
}

/// The reply body of an applied write: what the txn's result says.
fn txn_result(op: OpCode, rc: Option<&ProcessTxnResult>) -> Result<Body, Code> {
    let stat = || rc.and_then(|rc| rc.stat.clone()).unwrap_or_default();
    let path = || rc.map(|rc| rc.path.clone()).unwrap_or_default();
    Ok(match op {
        OpCode::Create => body(CreateResponse { path: path() }),
        OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer => body(Create2Response {
            path: path(),
            stat: stat(),
        }),
        OpCode::Delete | OpCode::DeleteContainer | OpCode::CloseSession => None,
        OpCode::SetData | OpCode::Check => body(SetDataResponse { stat: stat() }),
        OpCode::SetAcl => body(SetAclResponse { stat: stat() }),
        OpCode::Multi => body(multi_response(rc.ok_or(Code::MARSHALLINGERROR)?)),
        other => unreachable!("txn_result called for {other:?}"),
    })
}

/// The `MultiResponse` for an applied multi.
fn multi_response(rc: &ProcessTxnResult) -> MultiResponse {
    let results = rc
        .multi_result
        .iter()
        .map(|s| match OpCode::try_from(s.txn_type) {
            Ok(OpCode::Check) => OpResult::Check,
            Ok(OpCode::Create) => OpResult::Create(s.path.clone()),
            Ok(OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer) => {
                OpResult::Create2(s.path.clone(), s.stat.clone().unwrap_or_default())
            }
            Ok(OpCode::Delete | OpCode::DeleteContainer) => OpResult::Delete,
            Ok(OpCode::SetData) => OpResult::SetData(s.stat.clone().unwrap_or_default()),
            // An error txn, or nothing a multi can hold.
            Ok(_) | Err(_) => OpResult::Error(s.err),
        })
        .collect();
    MultiResponse { results }
}

/// `ids` as a Java `ConcurrentHashMap`-backed set of them iterates: by
/// bin (the jute `Id.hashCode`, spread, masked by the table size: 16 up
/// to 11 entries, doubling as the map grows), insertion order within a
/// bin. So `whoAmI` lists `sasl` before `ip`, as 3.8 does.
fn java_set_order(ids: &[Id]) -> Vec<&Id> {
    fn string_hash(s: &str) -> i32 {
        s.encode_utf16()
            .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
    }
    let mut table = 16usize;
    while ids.len() >= table * 3 / 4 {
        table *= 2;
    }
    let bin = |id: &Id| {
        let h = 37i32
            .wrapping_mul(37i32.wrapping_mul(17).wrapping_add(string_hash(&id.scheme)))
            .wrapping_add(string_hash(&id.id));
        let spread = (h ^ ((h as u32) >> 16) as i32) & 0x7fff_ffff;
        spread as usize & (table - 1)
    };
    let mut ordered: Vec<&Id> = ids.iter().collect();
    ordered.sort_by_key(|id| bin(id));
    ordered
}

/// `AuthUtil.getClientInfos`: scheme and user of each authenticated id.
/// The ids come in the order 3.8's `authInfo` (a set over a
/// `ConcurrentHashMap`) iterates them ([`java_set_order`]).
fn client_infos(ids: &[Id], props: &zk_config::SystemProperties) -> Vec<ClientInfo> {
    java_set_order(ids)
        .into_iter()
        .map(|i| ClientInfo {
            auth_scheme: i.scheme.clone(),
            // 3.8 asks the provider registered for the scheme for the
            // user name; a scheme with no provider (`super`, which the
            // digest, x509 and SASL logins add beside their own id, and
            // `sasl` without the SASL provider) gets "".
            user: match i.scheme.as_str() {
                "digest" => i.id.split(':').next().unwrap_or("").to_string(),
                "sasl" if !crate::sasl_authentication_provider::is_registered(props) => {
                    String::new()
                }
                "ip" | "x509" | "sasl" => i.id.clone(),
                _ => String::new(),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_am_i_lists_ids_in_the_order_3_8_iterates_them() {
        let id = |scheme: &str, id: &str| Id {
            scheme: scheme.into(),
            id: id.into(),
        };
        let ids = [id("ip", "127.0.0.1"), id("sasl", "alice"), id("super", "")];
        let mut props = zk_config::SystemProperties::new();
        props.set(
            "zookeeper.authProvider.1",
            crate::sasl_authentication_provider::SASL_AUTHENTICATION_PROVIDER_CLASS,
        );
        let shown: Vec<(String, String)> = client_infos(&ids, &props)
            .into_iter()
            .map(|c| (c.auth_scheme, c.user))
            .collect();
        // As Apache 3.8's whoami prints them (zkCli against its server).
        let want = [("sasl", "alice"), ("super", ""), ("ip", "127.0.0.1")];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(shown, want);
        // Without the SASL provider the user is not known.
        let shown = client_infos(&ids[1..2], &zk_config::SystemProperties::new());
        assert_eq!(shown[0].user, "");
    }
}
