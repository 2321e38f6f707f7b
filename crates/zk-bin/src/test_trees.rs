//! Trees for the snapshot tools' unit tests.

use zk_persistence::data_tree::DataTree;
use zk_persistence::records::{CreateTxn, TxnHeader};
use zk_persistence::txn::Txn;
use zk_persistence::zoo_defs::{ids, op_code};

/// A tree with `nodes` created in order, each `(path, data size)` with
/// data of that many `x`s, at zxids 1, 2, ...
pub(crate) fn tree(nodes: &[(&str, usize)]) -> DataTree {
    let mut tree = DataTree::new();
    for (i, (path, size)) in nodes.iter().enumerate() {
        let hdr = TxnHeader {
            client_id: 1,
            cxid: 0,
            zxid: i as i64 + 1,
            time: 0,
            txn_type: op_code::CREATE,
        };
        let txn = Txn::Create(CreateTxn {
            path: path.to_string(),
            data: Some(vec![b'x'; *size]),
            acl: ids::open_acl_unsafe(),
            ephemeral: false,
            parent_c_version: -1,
        });
        assert_eq!(tree.process_txn(&hdr, &txn).err, 0, "{path}");
    }
    tree
}
