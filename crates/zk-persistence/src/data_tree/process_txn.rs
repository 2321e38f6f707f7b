//! Applying txns (`DataTree.processTxn`): one arm per txn type, multi
//! as a unit, and the replay fix-up for creates that meet an existing node.

use log::{debug, error};

use super::{split_path, Change, DataTree, ProcessTxnResult};
use crate::records::{ErrorTxn, Stat, TxnDigest, TxnHeader};
use crate::txn::Txn;
use crate::zoo_defs::{op_code, Code, EphemeralType};

impl DataTree {
    /// Applies one txn (`processTxn`), then advances `last_processed_zxid`
    /// and the digest bookkeeping.
    pub fn process_txn(&mut self, hdr: &TxnHeader, txn: &Txn) -> ProcessTxnResult {
        let mut changes = Vec::new();
        let mut rc = self.apply(hdr, txn, &mut changes);
        rc.changes = changes;
        if rc.zxid > self.last_processed_zxid {
            self.last_processed_zxid = rc.zxid;
        }
        if self.digest_from_loaded_snapshot.is_some() {
            self.compare_snapshot_digests(rc.zxid);
        } else {
            self.log_zxid_digest(rc.zxid, self.digest());
        }
        rc
    }

    /// [`Self::process_txn`], then [`Self::compare_digest`] against the
    /// digest logged with the txn.
    pub fn process_txn_with_digest(
        &mut self,
        hdr: &TxnHeader,
        txn: &Txn,
        digest: Option<&TxnDigest>,
    ) -> ProcessTxnResult {
        let rc = self.process_txn(hdr, txn);
        self.compare_digest(hdr, digest);
        rc
    }

    fn apply(&mut self, hdr: &TxnHeader, txn: &Txn, ch: &mut Vec<Change>) -> ProcessTxnResult {
        let mut rc = ProcessTxnResult {
            client_id: hdr.client_id,
            cxid: hdr.cxid,
            zxid: hdr.zxid,
            txn_type: hdr.txn_type,
            ..Default::default()
        };
        let (zxid, time) = (hdr.zxid, hdr.time);
        let res: Result<Option<Stat>, Code> = match txn {
            Txn::Create(_) | Txn::Create2(_) | Txn::CreateTtl(_) | Txn::CreateContainer(_) => {
                self.apply_create(hdr, txn, &mut rc.path, ch)
            }
            Txn::Delete(t) | Txn::DeleteContainer(t) => {
                rc.path = t.path.clone();
                self.delete_node(&t.path, zxid, ch).map(|_| None)
            }
            Txn::SetData(t) | Txn::Reconfig(t) => {
                rc.path = t.path.clone();
                self.set_data(&t.path, t.data.as_deref(), t.version, zxid, time, ch)
                    .map(Some)
            }
            Txn::SetAcl(t) => {
                rc.path = t.path.clone();
                self.set_acl(&t.path, &t.acl, t.version).map(Some)
            }
            Txn::CloseSession(t) => {
                let listed = t.as_ref().map(|c| c.paths2_delete.as_slice());
                self.kill_session(hdr.client_id, zxid, listed, ch);
                Ok(None)
            }
            Txn::Error(e) => {
                rc.err = e.err;
                Ok(None)
            }
            Txn::Check(t) => {
                rc.path = t.path.clone();
                Ok(None)
            }
            Txn::CreateSession(_) => Ok(None),
            Txn::Multi(ops) => {
                rc.multi_result = self.apply_multi(hdr, ops, ch, &mut rc.err);
                Ok(None)
            }
        };
        match res {
            Ok(stat) => rc.stat = stat,
            Err(code) => {
                debug!("Failed txn 0x{:x} {}: {}", zxid, rc.path, code);
                rc.err = code as i32;
            }
        }
        self.fix_replayed_create(hdr, txn, &mut rc);
        rc
    }

    /// The create family (`create`, `create2`, `createTTL`,
    /// `createContainer`): the node's owner comes from the txn type (the
    /// session, a TTL encoding, or the container marker); only `create2`
    /// and the TTL/container creates return the new node's stat. Sets
    /// `path` to the txn's path for the result.
    fn apply_create(
        &mut self,
        hdr: &TxnHeader,
        txn: &Txn,
        path: &mut String,
        ch: &mut Vec<Change>,
    ) -> Result<Option<Stat>, Code> {
        let (zxid, time) = (hdr.zxid, hdr.time);
        match txn {
            Txn::Create(t) | Txn::Create2(t) => {
                *path = t.path.clone();
                let owner = if t.ephemeral { hdr.client_id } else { 0 };
                let d = t.data.as_deref();
                let st = self.create_node(
                    &t.path,
                    d,
                    &t.acl,
                    owner,
                    t.parent_c_version,
                    zxid,
                    time,
                    ch,
                );
                st.map(|s| matches!(txn, Txn::Create2(_)).then_some(s))
            }
            Txn::CreateTtl(t) => {
                *path = t.path.clone();
                match EphemeralType::ttl_to_ephemeral_owner(t.ttl) {
                    Some(owner) => {
                        let d = t.data.as_deref();
                        self.create_node(
                            &t.path,
                            d,
                            &t.acl,
                            owner,
                            t.parent_c_version,
                            zxid,
                            time,
                            ch,
                        )
                        .map(Some)
                    }
                    None => {
                        error!(
                            "Invalid ttl {} in createTTL txn 0x{:x} for {}",
                            t.ttl, zxid, t.path
                        );
                        Err(Code::BADARGUMENTS)
                    }
                }
            }
            Txn::CreateContainer(t) => {
                *path = t.path.clone();
                let owner = crate::zoo_defs::CONTAINER_EPHEMERAL_OWNER;
                let d = t.data.as_deref();
                self.create_node(
                    &t.path,
                    d,
                    &t.acl,
                    owner,
                    t.parent_c_version,
                    zxid,
                    time,
                    ch,
                )
                .map(Some)
            }
            _ => unreachable!("apply_create given a non-create txn 0x{:x}", zxid),
        }
    }

    /// Replaying a create over a fuzzy snapshot can meet the node already
    /// there (`NODEEXISTS`); its parent must still reach the logged
    /// cversion and pzxid, as 3.8's `processTxn` fixes up.
    fn fix_replayed_create(&mut self, hdr: &TxnHeader, txn: &Txn, rc: &mut ProcessTxnResult) {
        let zxid = hdr.zxid;
        if let (Txn::Create(t), true) = (txn, hdr.txn_type == op_code::CREATE) {
            if rc.err == Code::NODEEXISTS as i32 {
                let parent = split_path(&rc.path).map_or("", |(p, _)| p);
                if let Err(e) = self.set_cversion_pzxid(parent, t.parent_c_version, zxid) {
                    error!("Failed to set parent cversion for: {}", parent);
                    rc.err = e as i32;
                }
            }
        }
    }

    /// The ops of a multi, in order. If any op is an error the whole multi
    /// failed: the other ops are applied as errors too (OK before the
    /// failing op, RUNTIMEINCONSISTENCY after it), so nothing changes.
    fn apply_multi(
        &mut self,
        hdr: &TxnHeader,
        ops: &[Txn],
        ch: &mut Vec<Change>,
        err: &mut i32,
    ) -> Vec<ProcessTxnResult> {
        let failed = ops.iter().any(|o| matches!(o, Txn::Error(_)));
        let mut post_failed = false;
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            let op_type = op.op_code();
            if !matches!(
                op,
                Txn::Create(_)
                    | Txn::CreateTtl(_)
                    | Txn::CreateContainer(_)
                    | Txn::Delete(_)
                    | Txn::DeleteContainer(_)
                    | Txn::SetData(_)
                    | Txn::Error(_)
                    | Txn::Check(_)
            ) {
                // Java stops at an op it cannot apply inside a multi.
                error!(
                    "Invalid type of op {} in multi txn 0x{:x}",
                    op_type, hdr.zxid
                );
                break;
            }
            if matches!(op, Txn::Error(_)) {
                post_failed = true;
            }
            let replaced;
            let (sub_type, sub) = if failed && !matches!(op, Txn::Error(_)) {
                let ec = if post_failed {
                    Code::RUNTIMEINCONSISTENCY
                } else {
                    Code::OK
                };
                replaced = Txn::Error(ErrorTxn { err: ec as i32 });
                (op_code::ERROR, &replaced)
            } else {
                (op_type, op)
            };
            let sub_hdr = TxnHeader {
                txn_type: sub_type,
                ..hdr.clone()
            };
            let sub_rc = self.apply(&sub_hdr, sub, ch);
            if sub_rc.err != 0 && *err == 0 {
                *err = sub_rc.err;
            }
            results.push(sub_rc);
        }
        results
    }
}
