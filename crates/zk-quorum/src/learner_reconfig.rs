//! What a learner (follower or observer) reads out of a reconfig: the
//! new configuration in the reconfig txn (a `SetDataTxn` of
//! `/zookeeper/config` whose data is the config text, version included),
//! and the designated leader COMMITANDACTIVATE / INFORMANDACTIVATE carry
//! in their first 8 bytes. Shared by the sync (`syncWithLeader`) and the
//! broadcast loops of `Follower` and `Observer`.

use std::io;

use zk_config::QuorumVerifier;
use zk_persistence::file_txn_log::TxnLogEntry;
use zk_persistence::txn::Txn;
use zk_persistence::zoo_defs::op_code;

/// The configuration a reconfig txn proposes; `None` for any other txn.
pub(crate) fn reconfig_config(entry: &TxnLogEntry) -> io::Result<Option<QuorumVerifier>> {
    if entry.header.txn_type != op_code::RECONFIG {
        return Ok(None);
    }
    let bad = |why: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("reconfig txn 0x{:x}: {why}", entry.zxid()),
        )
    };
    let decoded = entry.decode().map_err(|e| bad(e.to_string()))?;
    let Txn::Reconfig(set_data) = decoded.txn else {
        return Err(bad("not a SetDataTxn".into()));
    };
    let text = String::from_utf8_lossy(set_data.data.as_deref().unwrap_or_default()).into_owned();
    zk_election::config_from_string(&text)
        .map(Some)
        .map_err(|e| bad(format!("unreadable config {text:?}: {e}")))
}

/// The designated leader's id at the head of an ...ANDACTIVATE packet.
pub(crate) fn designated_leader(data: &[u8]) -> io::Result<i64> {
    let head: [u8; 8] = data
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("activation packet of {} bytes has no leader id", data.len()),
            )
        })?;
    Ok(i64::from_be_bytes(head))
}

/// What ends the role after a reconfig that changed our leader or our
/// learner type (3.8 throws this; the peer then picks its next role).
pub(crate) fn changes_proposed_in_reconfig() -> io::Error {
    io::Error::other("changes proposed in reconfig")
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_persistence::jute::{OutputArchive, Record};
    use zk_persistence::records::{SetDataTxn, TxnHeader};

    fn entry(txn_type: i32, data: &str) -> TxnLogEntry {
        let header = TxnHeader {
            client_id: 1,
            cxid: 1,
            zxid: 0x100000005,
            time: 0,
            txn_type,
        };
        let mut oa = OutputArchive::new(Vec::new());
        header.serialize(&mut oa).unwrap();
        SetDataTxn {
            path: "/zookeeper/config".into(),
            data: Some(data.as_bytes().to_vec()),
            version: -1,
        }
        .serialize(&mut oa)
        .unwrap();
        TxnLogEntry {
            header,
            bytes: oa.into_inner(),
        }
    }

    #[test]
    fn reads_the_config_of_a_reconfig_txn() {
        let text = "server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
                    server.2=127.0.0.1:2889:3889:participant;0.0.0.0:2182\n\
                    version=100000005";
        let qv = reconfig_config(&entry(op_code::RECONFIG, text))
            .unwrap()
            .unwrap();
        assert_eq!(qv.version(), 0x100000005);
        assert_eq!(qv.voting_members().len(), 2);
        assert_eq!(qv.to_string(), text);
        assert!(reconfig_config(&entry(op_code::SET_DATA, text))
            .unwrap()
            .is_none());
    }

    #[test]
    fn designated_leader_is_the_first_long() {
        let mut data = 3i64.to_be_bytes().to_vec();
        data.extend_from_slice(b"txn");
        assert_eq!(designated_leader(&data).unwrap(), 3);
        assert!(designated_leader(&[0, 1]).is_err());
    }
}
