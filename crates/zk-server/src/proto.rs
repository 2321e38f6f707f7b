//! The client protocol: every record of `zookeeper.jute`'s
//! `org.apache.zookeeper.proto` module, field for field in wire order, plus
//! the two records Java writes by hand (`MultiOperationRecord` and
//! `MultiResponse`, see `multi`).
//!
//! A client frame is a 4-byte big-endian length followed by the bytes. The
//! first frame of a session is a [`ConnectRequest`]; every later one is a
//! [`RequestHeader`] followed by the record its `type` announces. Every
//! reply is a [`ReplyHeader`] followed, on success, by the response record.
//! Watch events travel as replies with xid -1 and a [`WatcherEvent`].

use zk_persistence::jute::{InputArchive, JuteResult, OutputArchive, Record};
use zk_persistence::jute_record;
use zk_persistence::records::{Acl, ClientInfo, Stat};

/// The xid of a watch event.
pub const NOTIFICATION_XID: i32 = -1;
/// The xid clients use for pings (`ClientCnxn.PING_XID`).
pub const PING_XID: i32 = -2;
/// The xid of an auth packet (`ClientCnxn.AUTHPACKET_XID`).
pub const AUTHPACKET_XID: i32 = -4;
/// The xid of a setWatches request (`ClientCnxn.SET_WATCHES_XID`).
pub const SET_WATCHES_XID: i32 = -8;

jute_record! {
    /// The first frame a client sends. A trailing `readOnly` boolean follows
    /// it unless the client predates 3.4: see [`ConnectRequest::decode`].
    pub struct ConnectRequest {
        /// Always 0.
        pub protocol_version: i32,
        /// The newest zxid the client has seen.
        pub last_zxid_seen: i64,
        /// The session timeout in ms (asked for, or negotiated).
        pub time_out: i32,
        /// The session; 0 for a new one.
        pub session_id: i64,
        /// The session password.
        pub passwd: Vec<u8>,
    }
}

jute_record! {
    /// The server's answer to a [`ConnectRequest`]; like the request it is
    /// followed by a `readOnly` boolean for clients that sent one.
    pub struct ConnectResponse {
        /// Always 0.
        pub protocol_version: i32,
        /// The negotiated session timeout in ms (0: the session is gone).
        pub time_out: i32,
        /// The session (0: the session is gone).
        pub session_id: i64,
        /// The session password.
        pub passwd: Vec<u8>,
    }
}

impl ConnectRequest {
    /// Decodes a connect frame. The `readOnly` flag is `None` when the
    /// frame ends right after the password (an "old client", which must
    /// then be answered without the flag).
    pub fn decode(bytes: &[u8], max_buffer: usize) -> JuteResult<(ConnectRequest, Option<bool>)> {
        let mut ia = InputArchive::with_max_buffer(bytes, max_buffer);
        let req = ConnectRequest::deserialize(&mut ia)?;
        let read_only = ia.read_bool().ok();
        Ok((req, read_only))
    }
}

impl ConnectResponse {
    /// The response body, with the `readOnly` flag appended when the client
    /// sent one (`read_only` is `Some`).
    pub fn encode(&self, read_only: Option<bool>) -> Vec<u8> {
        let mut oa = OutputArchive::new(Vec::with_capacity(40));
        self.serialize(&mut oa).expect("Vec write");
        if let Some(ro) = read_only {
            oa.write_bool(ro).expect("Vec write");
        }
        oa.into_inner()
    }
}

jute_record! {
    /// Sent after a reconnect so the new server re-registers the client's
    /// watches, firing those whose condition changed after `relative_zxid`.
    pub struct SetWatches {
        /// The newest zxid the client has seen.
        pub relative_zxid: i64,
        /// Paths with a data watch.
        pub data_watches: Vec<String>,
        /// Paths with an exists watch on a missing node.
        pub exist_watches: Vec<String>,
        /// Paths with a child watch.
        pub child_watches: Vec<String>,
    }
}

jute_record! {
    /// [`SetWatches`] plus the persistent watch kinds (3.6+).
    pub struct SetWatches2 {
        /// The newest zxid the client has seen.
        pub relative_zxid: i64,
        /// Paths with a data watch.
        pub data_watches: Vec<String>,
        /// Paths with an exists watch on a missing node.
        pub exist_watches: Vec<String>,
        /// Paths with a child watch.
        pub child_watches: Vec<String>,
        /// Paths with a persistent watch.
        pub persistent_watches: Vec<String>,
        /// Paths with a persistent recursive watch.
        pub persistent_recursive_watches: Vec<String>,
    }
}

jute_record! {
    /// In front of every request after the connect.
    pub struct RequestHeader {
        /// The client's request number (negative for pings, auth, events).
        pub xid: i32,
        /// The opcode (`zoo_defs::op_code`).
        pub r#type: i32,
    }
}

jute_record! {
    /// In front of each op of a multi request or response; `done` marks the
    /// end of the list.
    pub struct MultiHeader {
        /// The op's opcode (-1 on the end header).
        pub r#type: i32,
        /// True on the header that ends the list.
        pub done: bool,
        /// An error code (`KeeperException.Code`), 0 for success.
        pub err: i32,
    }
}

jute_record! {
    /// An `auth` request: credentials for one scheme (xid -4).
    pub struct AuthPacket {
        /// Unused (always 0).
        pub r#type: i32,
        /// The auth scheme, e.g. `digest`.
        pub scheme: String,
        /// The scheme's credentials.
        pub auth: Vec<u8>,
    }
}

jute_record! {
    /// In front of every reply: the request's xid, the zxid the server had
    /// reached, and an error code (0 for success).
    pub struct ReplyHeader {
        /// The client's request number (negative for pings, auth, events).
        pub xid: i32,
        /// The zxid the server had reached.
        pub zxid: i64,
        /// An error code (`KeeperException.Code`), 0 for success.
        pub err: i32,
    }
}

jute_record! {
    /// A `getData` request.
    pub struct GetDataRequest {
        /// The node's path.
        pub path: String,
        /// Whether to leave a watch.
        pub watch: bool,
    }
}

jute_record! {
    /// A `setData` request.
    pub struct SetDataRequest {
        /// The node's path.
        pub path: String,
        /// The node's data (`None`: null).
        pub data: Option<Vec<u8>>,
        /// The version expected; -1 for any.
        pub version: i32,
    }
}

jute_record! {
    /// Clients send null for the lists they leave out; it reads as "".
    pub struct ReconfigRequest {
        /// Servers to add (incremental reconfig).
        pub joining_servers: String,
        /// Servers to remove (incremental reconfig).
        pub leaving_servers: String,
        /// The whole new membership (non-incremental reconfig).
        pub new_members: String,
        /// The config version the change applies to; -1 for any.
        pub cur_config_id: i64,
    }
}

jute_record! {
    /// The answer to `setData` (and to a lone `check`).
    pub struct SetDataResponse {
        /// The node's stat.
        pub stat: Stat,
    }
}

jute_record! {
    /// The body of a `sasl` request (opcode 102): the client's SASL token
    /// (empty for DIGEST-MD5's first round; a null token reads as empty).
    pub struct GetSaslRequest {
        /// The SASL token.
        pub token: Vec<u8>,
    }
}

jute_record! {
    /// A SASL token (3.8 declares it; no request of the client protocol
    /// carries it).
    pub struct SetSaslRequest {
        /// The SASL token.
        pub token: Vec<u8>,
    }
}

/// The answer to a `sasl` request: the server's next token, or none
/// (written as a null buffer, length -1) when the exchange failed or the
/// server has no SASL login.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetSaslResponse {
    /// The SASL token.
    pub token: Option<Vec<u8>>,
}

impl Record for SetSaslResponse {
    fn serialize<W: std::io::Write>(&self, oa: &mut OutputArchive<W>) -> std::io::Result<()> {
        oa.write_buffer_opt(self.token.as_deref())
    }

    fn deserialize<R: std::io::Read>(ia: &mut InputArchive<R>) -> JuteResult<Self> {
        Ok(SetSaslResponse {
            token: ia.read_buffer_opt()?,
        })
    }
}

jute_record! {
    /// A `create`, `create2` or `createContainer` request.
    pub struct CreateRequest {
        /// The node's path.
        pub path: String,
        /// The node's data (`None`: null).
        pub data: Option<Vec<u8>>,
        /// The ACL.
        pub acl: Vec<Acl>,
        /// A `CreateMode` flag.
        pub flags: i32,
    }
}

jute_record! {
    /// A `createTTL` request.
    pub struct CreateTtlRequest {
        /// The node's path.
        pub path: String,
        /// The node's data (`None`: null).
        pub data: Option<Vec<u8>>,
        /// The ACL.
        pub acl: Vec<Acl>,
        /// A `CreateMode` flag.
        pub flags: i32,
        /// The TTL in ms.
        pub ttl: i64,
    }
}

jute_record! {
    /// A `delete` request.
    pub struct DeleteRequest {
        /// The node's path.
        pub path: String,
        /// The version expected; -1 for any.
        pub version: i32,
    }
}

jute_record! {
    /// A `getChildren` request.
    pub struct GetChildrenRequest {
        /// The node's path.
        pub path: String,
        /// Whether to leave a watch.
        pub watch: bool,
    }
}

jute_record! {
    /// A `getAllChildrenNumber` request.
    pub struct GetAllChildrenNumberRequest {
        /// The node's path.
        pub path: String,
    }
}

jute_record! {
    /// A `getChildren2` request (children and the stat).
    pub struct GetChildren2Request {
        /// The node's path.
        pub path: String,
        /// Whether to leave a watch.
        pub watch: bool,
    }
}

jute_record! {
    /// A `check` request: the node must be at `version`.
    pub struct CheckVersionRequest {
        /// The node's path.
        pub path: String,
        /// The version expected; -1 for any.
        pub version: i32,
    }
}

jute_record! {
    /// Part of jute's proto module; no 3.8 opcode uses it.
    pub struct GetMaxChildrenRequest {
        /// The node's path.
        pub path: String,
    }
}

jute_record! {
    /// Part of jute's proto module; no 3.8 opcode uses it.
    pub struct GetMaxChildrenResponse {
        /// A child count limit.
        pub max: i32,
    }
}

jute_record! {
    /// Part of jute's proto module; no 3.8 opcode uses it.
    pub struct SetMaxChildrenRequest {
        /// The node's path.
        pub path: String,
        /// A child count limit.
        pub max: i32,
    }
}

jute_record! {
    /// A `sync` request.
    pub struct SyncRequest {
        /// The node's path.
        pub path: String,
    }
}

jute_record! {
    /// The answer to `sync`: the path it was asked for.
    pub struct SyncResponse {
        /// The node's path.
        pub path: String,
    }
}

jute_record! {
    /// A `getACL` request.
    pub struct GetAclRequest {
        /// The node's path.
        pub path: String,
    }
}

jute_record! {
    /// A `setACL` request.
    pub struct SetAclRequest {
        /// The node's path.
        pub path: String,
        /// The ACL.
        pub acl: Vec<Acl>,
        /// The version expected; -1 for any.
        pub version: i32,
    }
}

jute_record! {
    /// The answer to `setACL`.
    pub struct SetAclResponse {
        /// The node's stat.
        pub stat: Stat,
    }
}

jute_record! {
    /// An `addWatch` request (a persistent watch).
    pub struct AddWatchRequest {
        /// The node's path.
        pub path: String,
        /// 0 persistent, 1 persistent recursive (`AddWatchMode`).
        pub mode: i32,
    }
}

jute_record! {
    /// A watch event, sent as a reply with xid -1.
    pub struct WatcherEvent {
        /// `Watcher.Event.EventType`.
        pub r#type: i32,
        /// `Watcher.Event.KeeperState` (3 = SyncConnected).
        pub state: i32,
        /// The node's path.
        pub path: String,
    }
}

jute_record! {
    /// A bare error code (an op of a multi that failed; `addWatch`'s answer).
    pub struct ErrorResponse {
        /// An error code (`KeeperException.Code`), 0 for success.
        pub err: i32,
    }
}

jute_record! {
    /// The answer to `create`: the path made (with its sequence number).
    pub struct CreateResponse {
        /// The node's path.
        pub path: String,
    }
}

jute_record! {
    /// The answer to `create2`, `createTTL` and `createContainer`.
    pub struct Create2Response {
        /// The node's path.
        pub path: String,
        /// The node's stat.
        pub stat: Stat,
    }
}

jute_record! {
    /// An `exists` request.
    pub struct ExistsRequest {
        /// The node's path.
        pub path: String,
        /// Whether to leave a watch.
        pub watch: bool,
    }
}

jute_record! {
    /// The answer to `exists`.
    pub struct ExistsResponse {
        /// The node's stat.
        pub stat: Stat,
    }
}

jute_record! {
    /// The answer to `getData`.
    pub struct GetDataResponse {
        /// The node's data (`None`: null).
        pub data: Option<Vec<u8>>,
        /// The node's stat.
        pub stat: Stat,
    }
}

jute_record! {
    /// The answer to `getChildren`.
    pub struct GetChildrenResponse {
        /// The children's names.
        pub children: Vec<String>,
    }
}

jute_record! {
    /// The answer to `getAllChildrenNumber`.
    pub struct GetAllChildrenNumberResponse {
        /// The number of descendants.
        pub total_number: i32,
    }
}

jute_record! {
    /// The answer to `getChildren2`.
    pub struct GetChildren2Response {
        /// The children's names.
        pub children: Vec<String>,
        /// The node's stat.
        pub stat: Stat,
    }
}

jute_record! {
    /// The answer to `getACL`.
    pub struct GetAclResponse {
        /// The ACL.
        pub acl: Vec<Acl>,
        /// The node's stat.
        pub stat: Stat,
    }
}

jute_record! {
    /// A `checkWatches` or `removeWatches` request.
    pub struct CheckWatchesRequest {
        /// The node's path.
        pub path: String,
        /// `WatcherType`: 1 children, 2 data, 3 any.
        pub r#type: i32,
    }
}

jute_record! {
    /// jute's `RemoveWatchesRequest` (3.8 clients send `CheckWatchesRequest` for both).
    pub struct RemoveWatchesRequest {
        /// The node's path.
        pub path: String,
        /// `WatcherType`: 1 children, 2 data, 3 any.
        pub r#type: i32,
    }
}

jute_record! {
    /// A `getEphemerals` request.
    pub struct GetEphemeralsRequest {
        /// Only ephemerals under this path ("" or "/" for all).
        pub prefix_path: String,
    }
}

jute_record! {
    /// The answer to `getEphemerals`.
    pub struct GetEphemeralsResponse {
        /// The session's ephemeral nodes.
        pub ephemerals: Vec<String>,
    }
}

jute_record! {
    /// The answer to `whoAmI`.
    pub struct WhoAmIResponse {
        /// One entry per authenticated id.
        pub client_info: Vec<ClientInfo>,
    }
}

/// A reply frame body: the header, then the record if there is one.
pub fn encode_reply<R: Record>(hdr: &ReplyHeader, body: Option<&R>) -> Vec<u8> {
    let mut oa = OutputArchive::new(Vec::with_capacity(128));
    hdr.serialize(&mut oa).expect("Vec write");
    if let Some(b) = body {
        b.serialize(&mut oa).expect("Vec write");
    }
    oa.into_inner()
}

/// A whole reply frame: the 4-byte length, the header, the record.
pub fn reply_frame<R: Record>(hdr: &ReplyHeader, body: Option<&R>) -> Vec<u8> {
    let mut oa = OutputArchive::new(Vec::with_capacity(128));
    oa.write_int(0).expect("Vec write");
    hdr.serialize(&mut oa).expect("Vec write");
    if let Some(b) = body {
        b.serialize(&mut oa).expect("Vec write");
    }
    let mut v = oa.into_inner();
    let len = (v.len() - 4) as i32;
    v[..4].copy_from_slice(&len.to_be_bytes());
    v
}

/// Prefixes `body` with its length.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 4);
    v.extend_from_slice(&(body.len() as i32).to_be_bytes());
    v.extend_from_slice(body);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_persistence::records::Id;

    #[test]
    fn connect_request_with_and_without_read_only() {
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0x1_0000_0002,
            time_out: 30000,
            session_id: 0,
            passwd: vec![0; 16],
        };
        let mut bytes = req.to_bytes();
        // 4 + 8 + 4 + 8 + (4 + 16)
        assert_eq!(bytes.len(), 44);
        assert_eq!(&bytes[4..12], &[0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(&bytes[12..16], &30000i32.to_be_bytes());
        let (r, ro) = ConnectRequest::decode(&bytes, 0xfffff).unwrap();
        assert_eq!((r, ro), (req.clone(), None));
        bytes.push(1);
        let (_, ro) = ConnectRequest::decode(&bytes, 0xfffff).unwrap();
        assert_eq!(ro, Some(true));
    }

    #[test]
    fn connect_response_appends_read_only_only_when_asked() {
        let rsp = ConnectResponse {
            protocol_version: 0,
            time_out: 4000,
            session_id: 0x0100_0000_0000_0001,
            passwd: vec![7; 16],
        };
        let old = rsp.encode(None);
        assert_eq!(old.len(), 4 + 4 + 8 + 4 + 16);
        assert_eq!(
            &old[..16],
            &[0, 0, 0, 0, 0, 0, 0x0f, 0xa0, 1, 0, 0, 0, 0, 0, 0, 1]
        );
        let new = rsp.encode(Some(false));
        assert_eq!(new.len(), old.len() + 1);
        assert_eq!(*new.last().unwrap(), 0);
    }

    #[test]
    fn create_request_bytes() {
        let req = CreateRequest {
            path: "/a".into(),
            data: Some(b"x".to_vec()),
            acl: vec![Acl {
                perms: 31,
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            }],
            flags: 1,
        };
        let mut expect = vec![0, 0, 0, 2, b'/', b'a', 0, 0, 0, 1, b'x', 0, 0, 0, 1];
        expect.extend_from_slice(&[0, 0, 0, 31, 0, 0, 0, 5]);
        expect.extend_from_slice(b"world");
        expect.extend_from_slice(&[0, 0, 0, 6]);
        expect.extend_from_slice(b"anyone");
        expect.extend_from_slice(&[0, 0, 0, 1]);
        assert_eq!(req.to_bytes(), expect);
        assert_eq!(CreateRequest::from_bytes(&expect).unwrap(), req);
    }

    #[test]
    fn null_data_and_null_strings_keep_minus_one() {
        let r = GetDataResponse {
            data: None,
            stat: Stat::default(),
        };
        let b = r.to_bytes();
        assert_eq!(&b[..4], &[0xff; 4]);
        assert_eq!(b.len(), 4 + 68);
        let mut b = vec![
            0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1, b'x', 0xff, 0xff, 0xff, 0xff,
        ];
        b.extend_from_slice(&(-1i64).to_be_bytes());
        let rc = ReconfigRequest::from_bytes(&b).unwrap();
        assert_eq!(rc.joining_servers, "");
        assert_eq!(rc.leaving_servers, "x");
        assert_eq!(rc.cur_config_id, -1);
    }

    #[test]
    fn reply_header_and_watcher_event() {
        let ev = WatcherEvent {
            r#type: 3,
            state: 3,
            path: "/n".into(),
        };
        let hdr = ReplyHeader {
            xid: NOTIFICATION_XID,
            zxid: -1,
            err: 0,
        };
        let b = encode_reply(&hdr, Some(&ev));
        let mut expect = vec![0xff; 12];
        expect.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 2, b'/', b'n']);
        assert_eq!(b, expect);
        assert_eq!(reply_frame(&hdr, Some(&ev)), frame(&expect));
        let ping = encode_reply::<ErrorResponse>(
            &ReplyHeader {
                xid: PING_XID,
                zxid: 5,
                err: 0,
            },
            None,
        );
        assert_eq!(
            ping,
            vec![0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0]
        );
    }

    #[test]
    fn set_watches2_round_trip() {
        let sw = SetWatches2 {
            relative_zxid: 9,
            data_watches: vec!["/a".into()],
            exist_watches: vec![],
            child_watches: vec!["/".into()],
            persistent_watches: vec![],
            persistent_recursive_watches: vec!["/r".into()],
        };
        let b = sw.to_bytes();
        assert_eq!(b.len(), 8 + (4 + 6) + 4 + (4 + 5) + 4 + (4 + 6));
        assert_eq!(SetWatches2::from_bytes(&b).unwrap(), sw);
    }
}
