//! Every configuration 3.8 refuses, with the message we give for it.
//! `zoo.cfg` stands for the config file path, `{dir}` for its directory.

mod common;

use common::{Scratch, ENSEMBLE};
use zk_config::{ConfigErrorKind, QuorumPeerConfig};

/// (myid file content, zoo.cfg body after dataDir, expected message)
const CASES: &[(Option<&str>, &str, &str)] = &[
    (None, "clientPort=abc\n", "zoo.cfg: clientPort=abc: not a number"),
    (None, "clientPort=0x10\n", "zoo.cfg: clientPort=0x10: not a number"),
    (None, "clientPort=70000\n", "zoo.cfg: clientPort=70000: port out of range"),
    (None, "clientPort=-1\n", "zoo.cfg: clientPort=-1: port out of range"),
    (None, "tickTime=2000ms\n", "zoo.cfg: tickTime=2000ms: not a number"),
    (None, "tickTime=0\n", "zoo.cfg: tickTime=0: tickTime is not set"),
    (None, "maxClientCnxns=\n", "zoo.cfg: maxClientCnxns=: not a number"),
    (None, "initLimit=99999999999\n", "zoo.cfg: initLimit=99999999999: not a number"),
    (None, "syncEnabled=yes\n", "zoo.cfg: syncEnabled=yes: Choose 'true' or 'false'"),
    (None, "standaloneEnabled=1\n", "zoo.cfg: standaloneEnabled=1: Choose 'true' or 'false'"),
    (None, "electionAlg=0\n", "zoo.cfg: electionAlg=0: Invalid electionAlg value. Only 3 is supported."),
    (None, "electionAlg=1\n", "zoo.cfg: electionAlg=1: Invalid electionAlg value. Only 3 is supported."),
    (None, "electionAlg=2\n", "zoo.cfg: electionAlg=2: Invalid electionAlg value. Only 3 is supported."),
    (None, "peerType=leader\n", "zoo.cfg: peerType=leader: Unrecognised peertype: leader"),
    (None, "clientPortAddress=127.0.0.1\n", "zoo.cfg: clientPortAddress=127.0.0.1: clientPortAddress is set but clientPort is not set"),
    (None, "secureClientPortAddress=127.0.0.1\n", "zoo.cfg: secureClientPortAddress=127.0.0.1: secureClientPortAddress is set but secureClientPort is not set"),
    (None, "tickTime=2000\nminSessionTimeout=50000\n", "zoo.cfg: minSessionTimeout must not be larger than maxSessionTimeout (minSessionTimeout=50000, maxSessionTimeout=40000)"),
    (None, "quorum.auth.serverRequireSasl=true\n", "zoo.cfg: quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.serverRequireSasl"),
    (None, "quorum.auth.learnerRequireSasl=true\n", "zoo.cfg: quorum.auth.enableSasl is disabled, so cannot enable quorum.auth.learnerRequireSasl"),
    (None, "quorum.auth.enableSasl=true\nquorum.auth.serverRequireSasl=true\n", "zoo.cfg: quorum.auth.learnerRequireSasl is disabled, so cannot enable quorum.auth.serverRequireSasl"),
    (None, "k=\\u00zz\n", "zoo.cfg: line 2: malformed \\uxxxx encoding"),
    // Replicated-mode requirements.
    (Some("1"), "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nsyncLimit=2\n", "zoo.cfg: initLimit is not set"),
    (Some("1"), "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\ninitLimit=2\n", "zoo.cfg: syncLimit is not set"),
    (None, ENSEMBLE, "zoo.cfg: myid file is missing ({dir}/data/myid must hold this server's id in replicated mode)"),
    (Some("7"), ENSEMBLE, "zoo.cfg: My id 7 not in the peer list"),
    (Some("one"), ENSEMBLE, "{dir}/data/myid: serverid \"one\" is not a number"),
    (Some(""), ENSEMBLE, "{dir}/data/myid: serverid \"\" is not a number"),
    (Some("-3"), ENSEMBLE, "{dir}/data/myid: serverid -3 is negative, which is not supported"),
    // myid is read (and must be a number) even in standalone mode.
    (Some("x"), "clientPort=2181\n", "{dir}/data/myid: serverid \"x\" is not a number"),
    (None, "standaloneEnabled=false\n", "zoo.cfg: standaloneEnabled = false then number of participants should be >0"),
    (None, "server.1=127.0.0.1:2888:3888:observer\n", "zoo.cfg: Observers w/o participants is an invalid configuration"),
    (None, "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889:observer\n", "zoo.cfg: Observers w/o quorum is an invalid configuration"),
    // Server lines.
    (None, "server.1=127.0.0.1:2888\n", "zoo.cfg: server.1=127.0.0.1:2888: does not have the form server_config or server_config;client_config where server_config is the pipe separated list of host:port:port or host:port:port:type and client_config is port or host:port"),
    (None, "server.1=127.0.0.1:2888:3888 \n", "zoo.cfg: server.1=127.0.0.1:2888:3888 : election port \"3888 \" is not a number (blanks are not allowed) (address unresolved: 127.0.0.1:3888 )"),
    (None, "server.1=127.0.0.1:2888:2888\n", "zoo.cfg: server.1=127.0.0.1:2888:2888: quorum and election port must be different"),
    (None, "server.1=127.0.0.1:2888:3888:voter\n", "zoo.cfg: server.1=127.0.0.1:2888:3888:voter: Unrecognised peertype: voter"),
    (None, "server.1=127.0.0.1:2888:99999\n", "zoo.cfg: server.1=127.0.0.1:2888:99999: election port out of range: 99999 (address unresolved: 127.0.0.1:99999)"),
    (None, "server.1=127.0.0.1:2888:3888;x\n", "zoo.cfg: server.1=127.0.0.1:2888:3888;x: client port \"x\" is not a number"),
    (None, "server.1=[::1:2888:3888\n", "zoo.cfg: server.1=[::1:2888:3888: [::1:2888:3888 starts with '[' but has no matching ']:'"),
    (None, "server.x=127.0.0.1:2888:3888\n", "zoo.cfg: server.x=127.0.0.1:2888:3888: id \"x\" is not a number"),
    (None, "server.-1=127.0.0.1:2888:3888\n", "zoo.cfg: server.-1=127.0.0.1:2888:3888: negative ids are not supported"),
    (None, "version=xyz\n", "zoo.cfg: version=xyz: not a hex number"),
    // Hierarchies.
    (None, "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\ngroup.1=1\n", "zoo.cfg: Server 2 is not in a group"),
    (None, "server.1=127.0.0.1:2888:3888\ngroup.1=1\ngroup.2=1\n", "zoo.cfg: group.2=1: Server 1 is in multiple groups"),
    (None, "server.1=127.0.0.1:2888:3888\ngroup.1=1:5\n", "zoo.cfg: server 5 of group.1 has no weight: it needs a weight.5 line, or a server.5 line as a participant"),
    (None, "server.1=127.0.0.1:2888:3888\ngroup.1=1:a\n", "zoo.cfg: group.1=1:a: server id \"a\" is not a number"),
    (None, "server.1=127.0.0.1:2888:3888\ngroup.1=1\nweight.1=heavy\n", "zoo.cfg: weight.1=heavy: weight is not a number"),
    (None, "server.1=127.0.0.1:2888:3888\ngroups=1\n", "zoo.cfg: groups=1: id \"groups\" is not a number"),
    // Dynamic file.
    (None, "dynamicConfigFile={dir}/dyn\nserver.1=127.0.0.1:2888:3888\n", "zoo.cfg: server.1=127.0.0.1:2888:3888: parameter: server.1 must be in a separate dynamic config file"),
    (None, "dynamicConfigFile={dir}/dyn\ngroup.1=1\n", "zoo.cfg: group.1=1: parameter: group.1 must be in a separate dynamic config file"),
    (None, "dynamicConfigFile={dir}/missing\n", "{dir}/missing: cannot read: No such file or directory (os error 2)"),
];

#[test]
fn refused_configs() {
    let mut failures = Vec::new();
    for (myid, body, expected) in CASES {
        let s = Scratch::new();
        if let Some(id) = myid {
            s.myid(id);
        }
        s.write("dyn", "server.1=127.0.0.1:2888:3888\n");
        match s.parse(body) {
            Ok(_) => failures.push(format!("{body:?}: accepted, expected {expected:?}")),
            Err(e) => {
                let got = s.shorten(&e.to_string());
                if got != *expected {
                    failures.push(format!("{body:?}:\n   got {got:?}\n  want {expected:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn missing_data_dir() {
    let s = Scratch::new();
    let path = s.write("zoo.cfg", "clientPort=2181\n");
    let e = QuorumPeerConfig::parse(&path).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Missing);
    assert_eq!(s.shorten(&e.to_string()), "zoo.cfg: dataDir is not set");
}

#[test]
fn missing_config_file() {
    let s = Scratch::new();
    let e = QuorumPeerConfig::parse(&s.path("nope.cfg")).unwrap_err();
    assert_eq!(e.kind, ConfigErrorKind::Io);
    assert_eq!(
        s.shorten(&e.to_string()),
        "{dir}/nope.cfg: cannot read: No such file or directory (os error 2)"
    );
}

#[test]
fn dynamic_file_refusals() {
    let s = Scratch::new();
    s.write("dyn", "server.1=127.0.0.1:2888:3888\nversion=1\n");
    let e = s.err("dynamicConfigFile={dir}/dyn\n");
    assert_eq!(
        e,
        "{dir}/dyn: dynamic file shouldn't have version inside (the version is the file name's hex suffix)"
    );
    s.write("dyn", "server.1=127.0.0.1:2888:3888\nclientPort=2181\n");
    let e = s.err("dynamicConfigFile={dir}/dyn\n");
    assert_eq!(
        e,
        "{dir}/dyn: clientPort=2181: Unrecognised parameter: clientPort"
    );
    s.write("dyn", "server.1=127.0.0.1:2888\n");
    let e = s.err("dynamicConfigFile={dir}/dyn\n");
    assert!(
        e.starts_with("{dir}/dyn: server.1=127.0.0.1:2888: does not have the form"),
        "{e}"
    );
}

#[test]
fn client_address_conflicts_with_the_server_line() {
    let s = Scratch::new();
    s.myid("1");
    let e = s.err(
        "clientPort=2190\ninitLimit=5\nsyncLimit=2\n\
        server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889\n",
    );
    assert_eq!(
        e,
        "zoo.cfg: client address for this server (id = 1) in static config file is 0.0.0.0:2190 \
         is different from client address found in dynamic file: 0.0.0.0:2181"
    );
    let e = s.err(
        "clientPort=2181\nclientPortAddress=127.0.0.1\ninitLimit=5\nsyncLimit=2\n\
        server.1=127.0.0.1:2888:3888;2181\nserver.2=127.0.0.1:2889:3889\n",
    );
    assert!(
        e.contains("is different from client address found in dynamic file: 0.0.0.0:2181"),
        "{e}"
    );
}

#[test]
fn error_kinds() {
    let s = Scratch::new();
    let kind = |body: &str| s.parse(body).unwrap_err().kind;
    assert_eq!(kind("clientPort=x\n"), ConfigErrorKind::NotANumber);
    assert_eq!(kind("syncEnabled=x\n"), ConfigErrorKind::NotABoolean);
    assert_eq!(kind("clientPort=99999\n"), ConfigErrorKind::BadAddress);
    assert_eq!(kind("server.1=a\n"), ConfigErrorKind::BadServerLine);
    assert_eq!(
        kind("server.1=h:1:2\ngroup.1=1\ngroup.2=1\n"),
        ConfigErrorKind::BadHierarchy
    );
    assert_eq!(kind("electionAlg=1\n"), ConfigErrorKind::Unsupported);
    assert_eq!(kind(ENSEMBLE), ConfigErrorKind::BadMyid);
}
