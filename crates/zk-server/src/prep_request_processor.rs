//! `PrepRequestProcessor`: the first stage. It checks each write against
//! the tree as it *will* be once every earlier write is applied (the
//! outstanding change records), assigns its zxid, and turns it into the
//! txn to log; a write that fails a check becomes an error txn with its
//! own zxid, exactly as ZooKeeper logs it. Reads only have their session
//! checked.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use log::{error, info};
use zk_persistence::jute::{InputArchive, Record};
use zk_persistence::records::{
    Acl, CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn,
    CreateTxn, DeleteTxn, ErrorTxn, Id, SetAclTxn, SetDataTxn, StatPersisted, TxnHeader,
};
use zk_persistence::txn::Txn;
use zk_persistence::zk_database::ZKDatabase;
use zk_persistence::zoo_defs::{
    op_code, perms, Code, CreateMode, EphemeralType, ExtendedTypes, CONTAINER_EPHEMERAL_OWNER,
};

use crate::auth::{check_acl, fixup_acl};
use crate::multi::{MultiOp, MultiRequest};
use crate::path_utils::validate_path;
use crate::proto::{
    CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteRequest, SetAclRequest,
    SetDataRequest,
};
use crate::request::Request;
use crate::zookeeper_server::ZooKeeperServer;

/// What a znode will look like once the writes before it are applied
/// (`ChangeRecord`); `stat` is `None` for a node being deleted.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    pub zxid: i64,
    pub path: String,
    pub stat: Option<StatPersisted>,
    pub child_count: i32,
    pub acl: Vec<Acl>,
    /// Identity, so that a newer record for the same path is not removed
    /// with an older one.
    seq: u64,
}

/// Change records not yet applied, oldest first, and the newest per path.
#[derive(Debug, Default)]
pub struct OutstandingChanges {
    queue: VecDeque<ChangeRecord>,
    for_path: HashMap<String, ChangeRecord>,
    next_seq: u64,
}

impl OutstandingChanges {
    fn add(&mut self, mut c: ChangeRecord) {
        c.seq = self.next_seq;
        self.next_seq += 1;
        self.for_path.insert(c.path.clone(), c.clone());
        self.queue.push_back(c);
    }

    /// Drops the records of every txn up to `zxid`, now applied.
    pub fn remove_applied(&mut self, zxid: i64) {
        while self.queue.front().is_some_and(|c| c.zxid <= zxid) {
            let c = self.queue.pop_front().expect("checked");
            if self.for_path.get(&c.path).is_some_and(|p| p.seq == c.seq) {
                self.for_path.remove(&c.path);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// Why preparing failed: a ZooKeeper error the client sees as such, or a
/// request that could not be decoded (MARSHALLINGERROR, not an exception).
enum PrepError {
    Keeper(Code),
    Marshalling(String),
}

impl From<Code> for PrepError {
    fn from(c: Code) -> Self {
        PrepError::Keeper(c)
    }
}

/// One write, decoded.
enum WriteOp {
    Create {
        op: i32,
        req: CreateRequest,
        ttl: i64,
    },
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    SetAcl(SetAclRequest),
    Check(CheckVersionRequest),
}

pub struct PrepRequestProcessor {
    zks: Arc<ZooKeeperServer>,
    next: Sender<Request>,
}

fn parent_of(path: &str) -> Result<&str, Code> {
    match path.rfind('/') {
        Some(i) if !path.contains('\0') => Ok(&path[..i]),
        _ => Err(Code::BADARGUMENTS),
    }
}

fn check_and_inc_version(current: i32, expected: i32) -> Result<i32, Code> {
    if expected != -1 && expected != current {
        return Err(Code::BADVERSION);
    }
    Ok(current.wrapping_add(1))
}

fn validate(path: &str, session: i64) -> Result<(), Code> {
    validate_path(path).map_err(|why| {
        info!(
            "Invalid path {} with session 0x{:x}, reason: {}",
            path, session, why
        );
        Code::BADARGUMENTS
    })
}

fn decode<T: Record>(bytes: &[u8], max: usize) -> Result<T, PrepError> {
    T::deserialize(&mut InputArchive::with_max_buffer(bytes, max))
        .map_err(|e| PrepError::Marshalling(e.to_string()))
}

/// The tree and the outstanding changes, seen together.
struct View<'a> {
    oc: &'a mut OutstandingChanges,
    db: &'a ZKDatabase,
}

impl View<'_> {
    /// `getRecordForPath`.
    fn record(&self, path: &str) -> Result<ChangeRecord, Code> {
        let rec = match self.oc.for_path.get(path) {
            Some(c) => c.clone(),
            None => {
                let n = self.db.data_tree().get_node(path).ok_or(Code::NONODE)?;
                ChangeRecord {
                    zxid: -1,
                    path: path.to_string(),
                    stat: Some(n.stat_persisted()),
                    child_count: n.num_children() as i32,
                    acl: n.acl().to_vec(),
                    seq: 0,
                }
            }
        };
        if rec.stat.is_none() {
            return Err(Code::NONODE);
        }
        Ok(rec)
    }
}

impl PrepRequestProcessor {
    pub fn start(
        zks: Arc<ZooKeeperServer>,
        rx: Receiver<Request>,
        next: Sender<Request>,
    ) -> std::io::Result<JoinHandle<()>> {
        let p = PrepRequestProcessor { zks, next };
        std::thread::Builder::new()
            .name("ProcessThread".into())
            .spawn(move || {
                for r in rx {
                    let r = p.p_request(r);
                    if p.next.send(r).is_err() {
                        break;
                    }
                }
                info!("PrepRequestProcessor exited loop!");
            })
    }

    fn p_request(&self, mut req: Request) -> Request {
        let zks = &self.zks;
        let tracker = zks.session_tracker();
        let result: Result<(), PrepError> = match req.op {
            op_code::CREATE
            | op_code::CREATE2
            | op_code::CREATE_CONTAINER
            | op_code::CREATE_TTL
            | op_code::DELETE
            | op_code::SET_DATA
            | op_code::SET_ACL
            | op_code::CHECK => {
                let hdr = self.header(&req, req.op, zks.next_zxid());
                req.hdr = Some(hdr.clone());
                self.single_write(&mut req, &hdr)
            }
            op_code::RECONFIG => {
                req.hdr = Some(self.header(&req, req.op, zks.next_zxid()));
                error!("Reconfig operation requested but reconfig feature is disabled.");
                Err(Code::RECONFIGDISABLED.into())
            }
            op_code::MULTI => self.multi(&mut req),
            op_code::CREATE_SESSION => {
                req.hdr = Some(self.header(&req, req.op, zks.next_zxid()));
                let timeout = req
                    .body
                    .get(..4)
                    .map_or(0, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                req.txn = Some(Txn::CreateSession(CreateSessionTxn { time_out: timeout }));
                tracker.track_session(req.session_id, timeout);
                Ok(())
            }
            op_code::CLOSE_SESSION => {
                let hdr = self.header(&req, req.op, zks.next_zxid());
                req.hdr = Some(hdr.clone());
                self.close_session(&mut req, &hdr);
                Ok(())
            }
            _ => tracker.check_session(req.session_id).map_err(Into::into),
        };
        if let Err(e) = result {
            let code = match e {
                PrepError::Keeper(c) => {
                    if (c as i32) > (Code::APIERROR as i32) {
                        info!(
                            "Got user-level KeeperException when processing {} Error:{}",
                            req, c
                        );
                    }
                    req.err = Some(c);
                    c
                }
                PrepError::Marshalling(why) => {
                    error!("Failed to process {}: {}", req, why);
                    Code::MARSHALLINGERROR
                }
            };
            if let Some(h) = req.hdr.as_mut() {
                h.txn_type = op_code::ERROR;
                req.txn = Some(Txn::Error(ErrorTxn { err: code as i32 }));
            }
        }
        req
    }

    fn header(&self, req: &Request, op: i32, zxid: i64) -> TxnHeader {
        TxnHeader {
            client_id: req.session_id,
            cxid: req.cxid,
            zxid,
            time: wall_time_ms(),
            txn_type: op,
        }
    }

    fn single_write(&self, req: &mut Request, hdr: &TxnHeader) -> Result<(), PrepError> {
        self.zks.session_tracker().check_session(req.session_id)?;
        let max = self.zks.max_buffer();
        let op = match req.op {
            op_code::CREATE_TTL => {
                let r: CreateTtlRequest = decode(&req.body, max)?;
                WriteOp::Create {
                    op: req.op,
                    ttl: r.ttl,
                    req: CreateRequest {
                        path: r.path,
                        data: r.data,
                        acl: r.acl,
                        flags: r.flags,
                    },
                }
            }
            op_code::CREATE | op_code::CREATE2 | op_code::CREATE_CONTAINER => WriteOp::Create {
                op: req.op,
                req: decode(&req.body, max)?,
                ttl: -1,
            },
            op_code::DELETE => WriteOp::Delete(decode(&req.body, max)?),
            op_code::SET_DATA => WriteOp::SetData(decode(&req.body, max)?),
            op_code::SET_ACL => WriteOp::SetAcl(decode(&req.body, max)?),
            _ => WriteOp::Check(decode(&req.body, max)?),
        };
        let mut oc = self.zks.outstanding.lock().unwrap();
        let db = self.zks.db().read().unwrap();
        let mut view = View {
            oc: &mut oc,
            db: &db,
        };
        let txn = self.prep_write(&mut view, op, hdr, req.session_id, &req.auth_info)?;
        req.txn = Some(txn);
        Ok(())
    }

    /// `pRequest2Txn` for one write: checks, change records, the txn.
    fn prep_write(
        &self,
        v: &mut View<'_>,
        op: WriteOp,
        hdr: &TxnHeader,
        session: i64,
        auth: &[Id],
    ) -> Result<Txn, PrepError> {
        let zxid = hdr.zxid;
        match op {
            WriteOp::Create { op, req, ttl } => {
                let mode = CreateMode::from_flag(req.flags).ok_or(Code::BADARGUMENTS)?;
                validate_create(mode, ttl)?;
                let parent_path = parent_of(&req.path)?.to_string();
                let acl = fixup_acl(&req.acl, auth)?;
                let mut parent = v.record(&parent_path)?;
                check_acl(&parent.acl, perms::CREATE, auth)?;
                let pstat = parent.stat.clone().expect("record has a stat");
                let mut path = req.path.clone();
                if mode.is_sequential() {
                    path = format!("{}{:010}", path, pstat.cversion);
                }
                validate(&path, session)?;
                if v.record(&path).is_ok() {
                    return Err(Code::NODEEXISTS.into());
                }
                if EphemeralType::get(pstat.ephemeral_owner) == EphemeralType::Normal {
                    return Err(Code::NOCHILDRENFOREPHEMERALS.into());
                }
                let new_cversion = pstat.cversion.wrapping_add(1);
                let data = req.data.clone();
                let txn = match op {
                    op_code::CREATE_CONTAINER => Txn::CreateContainer(CreateContainerTxn {
                        path: path.clone(),
                        data,
                        acl: acl.clone(),
                        parent_c_version: new_cversion,
                    }),
                    op_code::CREATE_TTL => Txn::CreateTtl(CreateTtlTxn {
                        path: path.clone(),
                        data,
                        acl: acl.clone(),
                        parent_c_version: new_cversion,
                        ttl,
                    }),
                    _ => {
                        let t = CreateTxn {
                            path: path.clone(),
                            data,
                            acl: acl.clone(),
                            ephemeral: mode.is_ephemeral(),
                            parent_c_version: new_cversion,
                        };
                        if op == op_code::CREATE2 {
                            Txn::Create2(t)
                        } else {
                            Txn::Create(t)
                        }
                    }
                };
                let owner = if mode.is_container() {
                    CONTAINER_EPHEMERAL_OWNER
                } else if mode.is_ttl() {
                    EphemeralType::ttl_to_ephemeral_owner(ttl).unwrap_or(0)
                } else if mode.is_ephemeral() {
                    session
                } else {
                    0
                };
                parent.zxid = zxid;
                parent.child_count += 1;
                if let Some(s) = parent.stat.as_mut() {
                    s.cversion = new_cversion;
                    s.pzxid = zxid;
                }
                v.oc.add(parent);
                v.oc.add(ChangeRecord {
                    zxid,
                    path,
                    stat: Some(StatPersisted {
                        czxid: zxid,
                        mzxid: zxid,
                        ctime: hdr.time,
                        mtime: hdr.time,
                        version: 0,
                        cversion: 0,
                        aversion: 0,
                        ephemeral_owner: owner,
                        pzxid: zxid,
                    }),
                    child_count: 0,
                    acl,
                    seq: 0,
                });
                Ok(txn)
            }
            WriteOp::Delete(req) => {
                let parent_path = parent_of(&req.path)?;
                if zk_persistence::data_tree::DataTree::is_special_path(&req.path) {
                    return Err(Code::BADARGUMENTS.into());
                }
                let mut parent = v.record(parent_path)?;
                check_acl(&parent.acl, perms::DELETE, auth)?;
                let node = v.record(&req.path)?;
                let version = node.stat.as_ref().map_or(0, |s| s.version);
                check_and_inc_version(version, req.version)?;
                if node.child_count > 0 {
                    return Err(Code::NOTEMPTY.into());
                }
                parent.zxid = zxid;
                parent.child_count -= 1;
                if let Some(s) = parent.stat.as_mut() {
                    s.pzxid = zxid;
                }
                v.oc.add(parent);
                v.oc.add(ChangeRecord {
                    zxid,
                    path: req.path.clone(),
                    stat: None,
                    child_count: -1,
                    acl: Vec::new(),
                    seq: 0,
                });
                Ok(Txn::Delete(DeleteTxn { path: req.path }))
            }
            WriteOp::SetData(req) => {
                validate(&req.path, session)?;
                let mut node = v.record(&req.path)?;
                check_acl(&node.acl, perms::WRITE, auth)?;
                let s = node.stat.as_mut().expect("record has a stat");
                let new_version = check_and_inc_version(s.version, req.version)?;
                s.version = new_version;
                s.mtime = hdr.time;
                s.mzxid = zxid;
                node.zxid = zxid;
                v.oc.add(node);
                Ok(Txn::SetData(SetDataTxn {
                    path: req.path,
                    data: req.data,
                    version: new_version,
                }))
            }
            WriteOp::SetAcl(req) => {
                validate(&req.path, session)?;
                let acl = fixup_acl(&req.acl, auth)?;
                let mut node = v.record(&req.path)?;
                check_acl(&node.acl, perms::ADMIN, auth)?;
                let s = node.stat.as_mut().expect("record has a stat");
                let new_version = check_and_inc_version(s.aversion, req.version)?;
                s.aversion = new_version;
                node.zxid = zxid;
                node.acl = acl.clone();
                v.oc.add(node);
                Ok(Txn::SetAcl(SetAclTxn {
                    path: req.path,
                    acl,
                    version: new_version,
                }))
            }
            WriteOp::Check(req) => {
                validate(&req.path, session)?;
                let node = v.record(&req.path)?;
                check_acl(&node.acl, perms::READ, auth)?;
                let version = node.stat.as_ref().map_or(0, |s| s.version);
                Ok(Txn::Check(CheckVersionTxn {
                    path: req.path,
                    version: check_and_inc_version(version, req.version)?,
                }))
            }
        }
    }

    /// A multi: every op prepared in order under one zxid; after the first
    /// failure the rest become RUNTIMEINCONSISTENCY errors and the change
    /// records of the earlier ops are rolled back.
    fn multi(&self, req: &mut Request) -> Result<(), PrepError> {
        let parsed = MultiRequest::from_bytes(&req.body, self.zks.max_buffer());
        let zxid = self.zks.next_zxid();
        let hdr = self.header(req, op_code::MULTI, zxid);
        req.hdr = Some(hdr.clone());
        let multi = parsed.map_err(|e| PrepError::Marshalling(e.to_string()))?;
        let mut oc = self.zks.outstanding.lock().unwrap();
        let db = self.zks.db().read().unwrap();
        let saved_len = oc.queue.len();
        let saved_paths: HashMap<String, Option<ChangeRecord>> = multi
            .ops
            .iter()
            .flat_map(|op| {
                let p = op.path().to_string();
                let parent = parent_of(&p).map(str::to_string).ok();
                std::iter::once(p).chain(parent)
            })
            .map(|p| {
                let c = oc.for_path.get(&p).cloned();
                (p, c)
            })
            .collect();
        let mut view = View {
            oc: &mut oc,
            db: &db,
        };
        let mut failed = false;
        let mut txns = Vec::with_capacity(multi.ops.len());
        for op in multi.ops {
            if failed {
                txns.push(Txn::Error(ErrorTxn {
                    err: Code::RUNTIMEINCONSISTENCY as i32,
                }));
                continue;
            }
            let op_type = op.op_code();
            let w = match op {
                MultiOp::Create(r) => WriteOp::Create {
                    op: op_type,
                    req: r,
                    ttl: -1,
                },
                MultiOp::CreateTtl(r) => WriteOp::Create {
                    op: op_type,
                    ttl: r.ttl,
                    req: CreateRequest {
                        path: r.path,
                        data: r.data,
                        acl: r.acl,
                        flags: r.flags,
                    },
                },
                MultiOp::Delete(r) => WriteOp::Delete(r),
                MultiOp::SetData(r) => WriteOp::SetData(r),
                MultiOp::Check(r) => WriteOp::Check(r),
                MultiOp::GetChildren(_) | MultiOp::GetData(_) => {
                    return Err(PrepError::Marshalling("read op in a multi".into()));
                }
            };
            let res = self
                .zks
                .session_tracker()
                .check_session(req.session_id)
                .map_err(PrepError::from)
                .and_then(|_| self.prep_write(&mut view, w, &hdr, req.session_id, &req.auth_info));
            match res {
                Ok(t) => txns.push(t),
                Err(e) => {
                    let code = match e {
                        PrepError::Keeper(c) => c,
                        PrepError::Marshalling(_) => Code::MARSHALLINGERROR,
                    };
                    failed = true;
                    req.err = Some(code);
                    txns.push(Txn::Error(ErrorTxn { err: code as i32 }));
                    // Roll back this multi's change records.
                    view.oc.queue.truncate(saved_len);
                    for (p, c) in &saved_paths {
                        match c {
                            Some(c) => view.oc.for_path.insert(p.clone(), c.clone()),
                            None => view.oc.for_path.remove(p),
                        };
                    }
                }
            }
        }
        req.txn = Some(Txn::Multi(txns));
        Ok(())
    }

    /// closeSession: deletes the session's ephemerals, as the tree plus
    /// the outstanding changes know them.
    fn close_session(&self, req: &mut Request, hdr: &TxnHeader) {
        let mut oc = self.zks.outstanding.lock().unwrap();
        let db = self.zks.db().read().unwrap();
        let mut es: Vec<String> = db.data_tree().get_ephemerals(req.session_id);
        for c in &oc.queue {
            match &c.stat {
                None => es.retain(|p| p != &c.path),
                Some(s) if s.ephemeral_owner == req.session_id && !es.contains(&c.path) => {
                    es.push(c.path.clone());
                }
                _ => {}
            }
        }
        let view = View {
            oc: &mut oc,
            db: &db,
        };
        for p in &es {
            if let Ok(parent_path) = parent_of(p) {
                if let Ok(mut parent) = view.record(parent_path) {
                    parent.zxid = hdr.zxid;
                    if let Some(s) = parent.stat.as_mut() {
                        s.pzxid = hdr.zxid;
                    }
                    view.oc.add(parent);
                }
            }
            view.oc.add(ChangeRecord {
                zxid: hdr.zxid,
                path: p.clone(),
                stat: None,
                child_count: 0,
                acl: Vec::new(),
                seq: 0,
            });
        }
        req.txn = Some(Txn::CloseSession(Some(CloseSessionTxn {
            paths2_delete: es,
        })));
        self.zks
            .session_tracker()
            .set_session_closing(req.session_id);
    }
}

/// `validateCreateRequest`'s TTL rules.
fn validate_create(mode: CreateMode, ttl: i64) -> Result<(), Code> {
    if mode.is_ttl() && !ExtendedTypes::current().enabled {
        return Err(Code::UNIMPLEMENTED);
    }
    let ok = if mode.is_ttl() {
        ttl > 0 && ttl <= EphemeralType::Ttl.max_value()
    } else {
        ttl < 0
    };
    if ok {
        Ok(())
    } else {
        Err(Code::BADARGUMENTS)
    }
}

/// `Time.currentWallTime`.
pub fn wall_time_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
