//! `PrepRequestProcessor`: the first stage. It checks each write against
//! the tree as it *will* be once every earlier write is applied (the
//! `OutstandingChanges`), assigns its zxid, and turns it into the txn to
//! log, with the tree digest the txn will leave (3.8's `digest.enabled`);
//! a write that fails a check becomes an error txn with its own zxid,
//! exactly as ZooKeeper logs it. Reads only have their session checked.
//!
//! The checks run in ZooKeeper's order, so that a request breaking
//! several rules gets the same error code from both servers.

use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use log::{error, info, warn};
use zk_persistence::data_tree::DataTree;
use zk_persistence::digest::DIGEST_VERSION;
use zk_persistence::jute::{InputArchive, Record};
use zk_persistence::records::{
    Acl, CheckVersionTxn, CloseSessionTxn, CreateContainerTxn, CreateSessionTxn, CreateTtlTxn,
    CreateTxn, DeleteTxn, ErrorTxn, Id, SetAclTxn, SetDataTxn, StatPersisted, TxnDigest, TxnHeader,
};
use zk_persistence::txn::Txn;
use zk_persistence::zoo_defs::{
    perms, Code, CreateMode, EphemeralType, ExtendedTypes, OpCode, OpKind, CONFIG_NODE,
    CONTAINER_EPHEMERAL_OWNER,
};

use crate::auth::fixup_acl;
use crate::multi::{MultiOp, MultiRequest};
use crate::outstanding_changes::{ChangeRecord, DigestOp, OutstandingChanges, PrecalculatedDigest};
use crate::path_utils::validate_path;
use crate::proto::{
    CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteRequest, ReconfigRequest,
    SetAclRequest, SetDataRequest,
};
use crate::request::Request;
use crate::server_metrics::ServerMetrics;
use crate::zookeeper_server::ZooKeeperServer;

mod reconfig;

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
        op: OpCode,
        req: CreateRequest,
        ttl: i64,
    },
    Delete(DeleteRequest),
    /// Sent by the `ContainerManager`: the body is the bare path.
    DeleteContainer(String),
    SetData(SetDataRequest),
    SetAcl(SetAclRequest),
    Check(CheckVersionRequest),
}

impl WriteOp {
    fn from_multi(op: MultiOp) -> Option<WriteOp> {
        let op_type = op.op();
        Some(match op {
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
            MultiOp::GetChildren(_) | MultiOp::GetData(_) => return None,
        })
    }
}

/// The first stage of a standalone server or a leader (see the module
/// doc).
pub struct PrepRequestProcessor {
    zks: Arc<ZooKeeperServer>,
    next: Sender<Request>,
}

/// `validatePathForCreate`: the parent path, or BADARGUMENTS.
fn parent_of(path: &str) -> Result<&str, Code> {
    match path.rfind('/') {
        Some(i) if !path.contains('\0') => Ok(&path[..i]),
        _ => Err(Code::BADARGUMENTS),
    }
}

/// `getParentPathAndValidate`: as [`parent_of`], also refusing the nodes
/// ZooKeeper owns.
fn parent_of_deletable(path: &str) -> Result<&str, Code> {
    if DataTree::is_special_path(path) {
        return Err(Code::BADARGUMENTS);
    }
    parent_of(path)
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

/// What one write is checked against: the pending changes and the tree
/// (both locked by the caller), and who asks.
struct Ctx<'a> {
    zks: &'a ZooKeeperServer,
    oc: &'a mut OutstandingChanges,
    tree: &'a DataTree,
    hdr: &'a TxnHeader,
    session: i64,
    auth: &'a [Id],
    digests: bool,
}

impl Ctx<'_> {
    fn record(&self, path: &str) -> Result<ChangeRecord, Code> {
        self.oc.record(self.tree, path, self.digests)
    }

    fn check_session(&self) -> Result<(), Code> {
        self.zks.session_tracker().check_session(self.session)
    }

    fn check_acl(&self, rec: &ChangeRecord, perm: i32) -> Result<(), Code> {
        self.zks.check_acl(&rec.acl, perm, self.auth)
    }

    /// Computes the record's digest and queues it (`addChangeRecord`).
    fn add(&mut self, op: DigestOp, mut rec: ChangeRecord) -> Result<(), Code> {
        rec.digest = self.oc.precalculate(self.tree, op, &rec, self.digests)?;
        self.oc.add(rec);
        Ok(())
    }

    /// `pRequest2Txn` for one write: checks, change records, the txn.
    fn write(&mut self, op: WriteOp) -> Result<Txn, PrepError> {
        let zxid = self.hdr.zxid;
        match op {
            WriteOp::Create { op, req, ttl } => self.create(op, req, ttl),
            WriteOp::DeleteContainer(path) => {
                let parent_path = parent_of_deletable(&path)?;
                let node = self.record(&path)?;
                if node.child_count > 0 {
                    return Err(Code::NOTEMPTY.into());
                }
                let owner = node.stat.as_ref().map_or(0, |s| s.ephemeral_owner);
                if EphemeralType::get(owner) == EphemeralType::Normal {
                    return Err(Code::BADVERSION.into());
                }
                let parent = self.record(parent_path)?;
                self.remove_child(parent, &path)?;
                Ok(Txn::DeleteContainer(DeleteTxn { path }))
            }
            WriteOp::Delete(req) => {
                self.check_session()?;
                let parent_path = parent_of_deletable(&req.path)?;
                let parent = self.record(parent_path)?;
                self.check_acl(&parent, perms::DELETE)?;
                let node = self.record(&req.path)?;
                let version = node.stat.as_ref().map_or(0, |s| s.version);
                check_and_inc_version(version, req.version)?;
                if node.child_count > 0 {
                    return Err(Code::NOTEMPTY.into());
                }
                self.remove_child(parent, &req.path)?;
                Ok(Txn::Delete(DeleteTxn { path: req.path }))
            }
            WriteOp::SetData(req) => {
                self.check_session()?;
                validate(&req.path, self.session)?;
                let node = self.record(&req.path)?;
                self.check_acl(&node, perms::WRITE)?;
                // The record's data when it carries it (digests on), else
                // the tree's: 3.8 takes the pending change's data.
                let last_len = match &node.data {
                    Some(d) => d.len(),
                    None => self
                        .tree
                        .get_data(&req.path)
                        .ok()
                        .and_then(|(d, _)| d)
                        .map_or(0, <[u8]>::len),
                };
                let new_len = req.data.as_ref().map_or(0, Vec::len);
                self.zks
                    .check_quota(self.tree, &req.path, Some(last_len), new_len)?;
                let s = node.stat.as_ref().expect("record has a stat");
                let new_version = check_and_inc_version(s.version, req.version)?;
                let mut node = node.duplicate(zxid);
                let s = node.stat.as_mut().expect("duplicated");
                s.version = new_version;
                s.mtime = self.hdr.time;
                s.mzxid = zxid;
                if self.digests {
                    node.data = req.data.clone();
                }
                self.add(DigestOp::Update, node)?;
                Ok(Txn::SetData(SetDataTxn {
                    path: req.path,
                    data: req.data,
                    version: new_version,
                }))
            }
            WriteOp::SetAcl(req) => {
                self.check_session()?;
                validate(&req.path, self.session)?;
                let acl = fixup_acl(&req.acl, self.auth, &self.zks.config().system_properties)?;
                let node = self.record(&req.path)?;
                self.check_acl(&node, perms::ADMIN)?;
                let s = node.stat.as_ref().expect("record has a stat");
                let new_version = check_and_inc_version(s.aversion, req.version)?;
                let mut node = node.duplicate(zxid);
                node.stat.as_mut().expect("duplicated").aversion = new_version;
                node.acl = acl.clone();
                self.add(DigestOp::Update, node)?;
                Ok(Txn::SetAcl(SetAclTxn {
                    path: req.path,
                    acl,
                    version: new_version,
                }))
            }
            WriteOp::Check(req) => {
                self.check_session()?;
                validate(&req.path, self.session)?;
                let node = self.record(&req.path)?;
                self.check_acl(&node, perms::READ)?;
                let version = node.stat.as_ref().map_or(0, |s| s.version);
                Ok(Txn::Check(CheckVersionTxn {
                    path: req.path,
                    version: check_and_inc_version(version, req.version)?,
                }))
            }
        }
    }

    /// The change records of a delete: the parent loses a child (its
    /// cversion stays, as in 3.8), the node goes.
    fn remove_child(&mut self, parent: ChangeRecord, path: &str) -> Result<(), Code> {
        let zxid = self.hdr.zxid;
        let mut parent = parent.duplicate(zxid);
        parent.child_count -= 1;
        parent.stat.as_mut().expect("duplicated").pzxid = zxid;
        self.add(DigestOp::Update, parent)?;
        self.add(
            DigestOp::Remove,
            ChangeRecord::new(zxid, path.to_string(), None, -1),
        )
    }

    /// `pRequest2TxnCreate`.
    fn create(&mut self, op: OpCode, req: CreateRequest, ttl: i64) -> Result<Txn, PrepError> {
        let zxid = self.hdr.zxid;
        let mode = CreateMode::from_flag(req.flags).ok_or(Code::BADARGUMENTS)?;
        validate_create(mode, ttl)?;
        self.check_session()?;
        let parent_path = parent_of(&req.path)
            .inspect_err(|_| {
                info!(
                    "Invalid path {} with session 0x{:x}",
                    req.path, self.session
                )
            })?
            .to_string();
        let acl = fixup_acl(&req.acl, self.auth, &self.zks.config().system_properties)?;
        let parent = self.record(&parent_path)?;
        self.check_acl(&parent, perms::CREATE)?;
        let pstat = parent.stat.clone().expect("record has a stat");
        let mut path = req.path;
        if mode.is_sequential() {
            path = format!("{}{:010}", path, pstat.cversion);
        }
        validate(&path, self.session)?;
        if self.record(&path).is_ok() {
            return Err(Code::NODEEXISTS.into());
        }
        if EphemeralType::get(pstat.ephemeral_owner) == EphemeralType::Normal {
            return Err(Code::NOCHILDRENFOREPHEMERALS.into());
        }
        let new_cversion = pstat.cversion.wrapping_add(1);
        let data = req.data;
        self.zks
            .check_quota(self.tree, &path, None, data.as_ref().map_or(0, Vec::len))?;
        let txn = create_txn(op, &path, &data, &acl, mode, new_cversion, ttl);
        let owner = if mode.is_container() {
            CONTAINER_EPHEMERAL_OWNER
        } else if mode.is_ttl() {
            EphemeralType::ttl_to_ephemeral_owner(ttl).unwrap_or(0)
        } else if mode.is_ephemeral() {
            self.session
        } else {
            0
        };
        let mut parent = parent.duplicate(zxid);
        parent.child_count += 1;
        let ps = parent.stat.as_mut().expect("duplicated");
        ps.cversion = new_cversion;
        ps.pzxid = zxid;
        self.add(DigestOp::Update, parent)?;
        let t = self.hdr.time;
        let mut node = ChangeRecord::new(
            zxid,
            path,
            Some(StatPersisted {
                czxid: zxid,
                mzxid: zxid,
                ctime: t,
                mtime: t,
                version: 0,
                cversion: 0,
                aversion: 0,
                ephemeral_owner: owner,
                pzxid: zxid,
            }),
            0,
        );
        node.acl = acl;
        if self.digests {
            node.data = data;
        }
        self.add(DigestOp::Add, node)?;
        Ok(txn)
    }

    /// closeSession: deletes the session's ephemerals, as the tree plus
    /// the outstanding changes know them.
    fn close_session(&mut self) -> Result<Txn, Code> {
        let session = self.session;
        let zxid = self.hdr.zxid;
        let mut es: Vec<String> = self.tree.get_ephemerals(session);
        for c in &self.oc.queue {
            match &c.stat {
                None => es.retain(|p| p != &c.path),
                Some(s) if s.ephemeral_owner == session && !es.contains(&c.path) => {
                    es.push(c.path.clone());
                }
                _ => {}
            }
        }
        for p in &es {
            // Only the digest needs the parents' new pzxid ahead of time.
            if self.digests {
                let parent = self.record(parent_of_deletable(p)?)?;
                let mut parent = parent.duplicate(zxid);
                parent.stat.as_mut().expect("duplicated").pzxid = zxid;
                self.add(DigestOp::Update, parent)?;
            }
            self.add(
                DigestOp::Remove,
                ChangeRecord::new(zxid, p.clone(), None, 0),
            )?;
        }
        let close_txn_enabled = self
            .zks
            .config()
            .system_properties
            .get_boolean_or("zookeeper.closeSessionTxn.enabled", true);
        self.zks.session_tracker().set_session_closing(session);
        Ok(Txn::CloseSession(
            close_txn_enabled.then_some(CloseSessionTxn { paths2_delete: es }),
        ))
    }

    fn txn_digest(&self) -> Option<TxnDigest> {
        self.digests.then(|| TxnDigest {
            version: DIGEST_VERSION,
            tree_digest: self.oc.current_tree_digest(self.tree),
        })
    }
}

impl PrepRequestProcessor {
    /// Starts the stage's thread ("ProcessThread", as 3.8 names it),
    /// feeding `next`.
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
                    let m = ServerMetrics::get();
                    m.prep_processor_queue_time
                        .add(r.create_time.elapsed().as_millis() as i64);
                    let started = std::time::Instant::now();
                    let r = p.p_request(r);
                    m.prep_process_time
                        .add(started.elapsed().as_millis() as i64);
                    if p.next.send(r).is_err() {
                        break;
                    }
                }
                info!("PrepRequestProcessor exited loop!");
            })
    }

    fn header(&self, req: &Request, zxid: i64) -> TxnHeader {
        TxnHeader {
            client_id: req.session_id,
            cxid: req.cxid,
            zxid,
            time: wall_time_ms(),
            txn_type: req.op,
        }
    }

    /// Runs `f` with the outstanding changes and the tree locked, as one
    /// step nobody else's write can interleave with.
    fn with_ctx<T>(&self, req: &Request, f: impl FnOnce(&mut Ctx<'_>) -> T) -> T {
        let zks = &*self.zks;
        let mut oc = zks.outstanding.lock().unwrap();
        let db = zks.db().read().unwrap();
        let hdr = req.hdr.clone().expect("writes have a header");
        let mut ctx = Ctx {
            zks,
            oc: &mut oc,
            tree: db.data_tree(),
            hdr: &hdr,
            session: req.session_id,
            auth: &req.auth_info,
            digests: db.data_tree().options().digest_enabled,
        };
        f(&mut ctx)
    }

    /// `pRequest`: prepares one request for the rest of the chain. A
    /// write gets its header, txn and digest; a write that fails its
    /// checks becomes an error txn; a read only has its session checked.
    pub(crate) fn p_request(&self, mut req: Request) -> Request {
        let result = match req.op_code() {
            Ok(op) => self.prep(op, &mut req),
            Err(unknown) => {
                // Never reached through the server, which answers unknown
                // opcodes itself; 3.8 lets them through unprepared too.
                warn!("unknown type {}", unknown.0);
                Ok(())
            }
        };
        if let Err(e) = result {
            self.fail(&mut req, e);
        }
        req
    }

    /// Prepares a request by its opcode's family ([`OpKind`]).
    fn prep(&self, op: OpCode, req: &mut Request) -> Result<(), PrepError> {
        let zks = &self.zks;
        match op.kind() {
            OpKind::Write => match op {
                OpCode::Multi => self.multi(req),
                OpCode::Reconfig => self.reconfig(req),
                // `decode_write` names every single write and refuses the rest.
                single => self.single_write(single, req),
            },
            OpKind::Session if op == OpCode::CreateSession => {
                self.create_session(req);
                Ok(())
            }
            // closeSession, the other session op.
            OpKind::Session => {
                req.hdr = Some(self.header(req, zks.next_zxid()));
                let (txn, digest) = self.with_ctx(req, |ctx| {
                    let txn = ctx.close_session()?;
                    Ok::<_, Code>((txn, ctx.txn_digest()))
                })?;
                req.txn = Some(txn);
                req.txn_digest = digest;
                Ok(())
            }
            OpKind::Sync | OpKind::Read => zks
                .session_tracker()
                .check_session(req.session_id)
                .map_err(Into::into),
            // `Request.isValid` keeps these out of the chain.
            OpKind::Connection | OpKind::ServerOnly => {
                warn!("unknown type {}", op.value());
                Ok(())
            }
        }
    }

    /// One create, delete, setData, setACL or check: header, checks,
    /// change records, txn and digest.
    fn single_write(&self, op: OpCode, req: &mut Request) -> Result<(), PrepError> {
        req.hdr = Some(self.header(req, self.zks.next_zxid()));
        let write = decode_write(op, req, self.zks.max_buffer())?;
        let (txn, digest) = self.with_ctx(req, |ctx| {
            let txn = ctx.write(write)?;
            Ok::<_, PrepError>((txn, ctx.txn_digest()))
        })?;
        req.txn = Some(txn);
        req.txn_digest = digest;
        Ok(())
    }

    /// `pRequest2TxnReconfig`: the checks in 3.8's order, then a setData
    /// of /zookeeper/config (version -1) holding the new config's text,
    /// whose version is this txn's zxid.
    fn reconfig(&self, req: &mut Request) -> Result<(), PrepError> {
        let zks = &self.zks;
        let rr = decode::<ReconfigRequest>(&req.body, zks.max_buffer())?;
        req.hdr = Some(self.header(req, zks.next_zxid()));
        if !zks.config().reconfig_enabled {
            error!("Reconfig operation requested but reconfig feature is disabled.");
            return Err(Code::RECONFIGDISABLED.into());
        }
        if zks.config().system_properties.skip_acl() {
            warn!("skipACL is set, reconfig operation will skip ACL checks!");
        }
        zks.session_tracker().check_session(req.session_id)?;
        // Only a leader can change the membership; 3.8's standalone server
        // answers UNIMPLEMENTED.
        let ctx = zks
            .role_reconfig_context()
            .ok_or(PrepError::Keeper(Code::UNIMPLEMENTED))?;
        let zxid = req.hdr.as_ref().expect("set above").zxid;
        let qv = reconfig::new_config(&ctx, &rr, zxid)?;
        let data = qv.to_string().into_bytes();
        let (txn, digest) = self.with_ctx(req, |c| {
            let node = c.record(CONFIG_NODE)?;
            c.check_acl(&node, perms::WRITE)?;
            let mut node = node.duplicate(zxid);
            let s = node.stat.as_mut().expect("duplicated");
            s.version = -1;
            s.mtime = c.hdr.time;
            s.mzxid = zxid;
            // /zookeeper/config is outside the tree digest: the change
            // leaves it as it is (3.8's NOOP digest op).
            if c.digests {
                node.data = Some(data.clone());
                node.digest = Some(PrecalculatedDigest {
                    node_digest: 0,
                    tree_digest: c.oc.current_tree_digest(c.tree),
                });
            }
            c.oc.add(node);
            Ok::<_, Code>((
                Txn::Reconfig(SetDataTxn {
                    path: CONFIG_NODE.to_string(),
                    data: Some(data),
                    version: -1,
                }),
                c.txn_digest(),
            ))
        })?;
        info!(
            "reconfig zxid 0x{:x} session 0x{:x}: proposing config version {:x}",
            zxid, req.session_id, zxid
        );
        req.txn = Some(txn);
        req.txn_digest = digest;
        Ok(())
    }

    /// createSession: the txn carries the timeout; the session is tracked
    /// from now on.
    fn create_session(&self, req: &mut Request) {
        let zks = &self.zks;
        req.hdr = Some(self.header(req, zks.next_zxid()));
        let timeout = req
            .body
            .get(..4)
            .map_or(0, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        req.txn = Some(Txn::CreateSession(CreateSessionTxn { time_out: timeout }));
        zks.session_tracker().track_session(req.session_id, timeout);
        req.txn_digest = self.with_ctx(req, |ctx| ctx.txn_digest());
    }

    /// A request whose preparation failed: its error is recorded, and a
    /// write's txn becomes the error txn 3.8 logs in its place.
    fn fail(&self, req: &mut Request, e: PrepError) {
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
            h.txn_type = OpCode::Error.value();
            req.txn = Some(Txn::Error(ErrorTxn { err: code as i32 }));
            req.txn_digest = None;
        }
    }

    /// A multi: every op prepared in order under one zxid; after the first
    /// failure the rest become RUNTIMEINCONSISTENCY errors and the change
    /// records of the earlier ops are rolled back.
    fn multi(&self, req: &mut Request) -> Result<(), PrepError> {
        let parsed = MultiRequest::from_bytes(&req.body, self.zks.max_buffer());
        let zxid = self.zks.next_zxid();
        req.hdr = Some(self.header(req, zxid));
        let multi = parsed.map_err(|e| PrepError::Marshalling(e.to_string()))?;
        let (txns, first_err, digest) = self.with_ctx(req, |ctx| {
            let pending = ctx.oc.pending_for(multi.ops.iter().flat_map(|op| {
                let p = op.path().to_string();
                let parent = parent_of(&p).map(str::to_string).ok();
                std::iter::once(p).chain(parent)
            }));
            let mut first_err = None;
            let mut txns = Vec::with_capacity(multi.ops.len());
            for op in multi.ops {
                if first_err.is_some() {
                    txns.push(Txn::Error(ErrorTxn {
                        err: Code::RUNTIMEINCONSISTENCY as i32,
                    }));
                    continue;
                }
                let res = match WriteOp::from_multi(op) {
                    Some(w) => ctx.write(w),
                    None => Err(PrepError::Marshalling("read op in a multi".into())),
                };
                match res {
                    Ok(t) => txns.push(t),
                    Err(e) => {
                        let code = match e {
                            PrepError::Keeper(c) => c,
                            PrepError::Marshalling(_) => Code::MARSHALLINGERROR,
                        };
                        info!(
                            "Got user-level KeeperException when processing multi 0x{:x} aborting remaining multi ops. Error:{}",
                            zxid, code
                        );
                        first_err = Some(code);
                        txns.push(Txn::Error(ErrorTxn { err: code as i32 }));
                        ctx.oc.rollback(zxid, &pending);
                    }
                }
            }
            (txns, first_err, ctx.txn_digest())
        });
        req.err = first_err;
        req.txn = Some(Txn::Multi(txns));
        req.txn_digest = digest;
        Ok(())
    }
}

/// Decodes the record of a single write of type `op`.
fn decode_write(op: OpCode, req: &Request, max: usize) -> Result<WriteOp, PrepError> {
    use OpCode::*;
    Ok(match op {
        CreateTtl => {
            let r: CreateTtlRequest = decode(&req.body, max)?;
            WriteOp::Create {
                op,
                ttl: r.ttl,
                req: CreateRequest {
                    path: r.path,
                    data: r.data,
                    acl: r.acl,
                    flags: r.flags,
                },
            }
        }
        Create | Create2 | CreateContainer => WriteOp::Create {
            op,
            req: decode(&req.body, max)?,
            ttl: -1,
        },
        Delete => WriteOp::Delete(decode(&req.body, max)?),
        DeleteContainer => {
            WriteOp::DeleteContainer(String::from_utf8_lossy(&req.body).into_owned())
        }
        SetData => WriteOp::SetData(decode(&req.body, max)?),
        SetAcl => WriteOp::SetAcl(decode(&req.body, max)?),
        Check => WriteOp::Check(decode(&req.body, max)?),
        Notification | Exists | GetData | GetAcl | GetChildren | Sync | Ping | GetChildren2
        | Multi | Reconfig | CheckWatches | RemoveWatches | MultiRead | Auth | SetWatches
        | Sasl | GetEphemerals | GetAllChildrenNumber | SetWatches2 | AddWatch | WhoAmI
        | CreateSession | CloseSession | Error => {
            panic!("decode_write called for {op:?}, which is not a single write")
        }
    })
}

/// The txn of a create of type `op` (the path already has its sequence
/// number).
fn create_txn(
    op: OpCode,
    path: &str,
    data: &Option<Vec<u8>>,
    acl: &[Acl],
    mode: CreateMode,
    parent_c_version: i32,
    ttl: i64,
) -> Txn {
    match op {
        OpCode::CreateContainer => Txn::CreateContainer(CreateContainerTxn {
            path: path.to_string(),
            data: data.clone(),
            acl: acl.to_vec(),
            parent_c_version,
        }),
        OpCode::CreateTtl => Txn::CreateTtl(CreateTtlTxn {
            path: path.to_string(),
            data: data.clone(),
            acl: acl.to_vec(),
            parent_c_version,
            ttl,
        }),
        OpCode::Create | OpCode::Create2 => {
            let t = CreateTxn {
                path: path.to_string(),
                data: data.clone(),
                acl: acl.to_vec(),
                ephemeral: mode.is_ephemeral(),
                parent_c_version,
            };
            if op == OpCode::Create2 {
                Txn::Create2(t)
            } else {
                Txn::Create(t)
            }
        }
        other => panic!("a WriteOp::Create with the opcode {other:?}, not a create"),
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
