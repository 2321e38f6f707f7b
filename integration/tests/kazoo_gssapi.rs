//! kazoo's own GSSAPI tests (`TestSASLGSSAPIAuthentication` in
//! kazoo/tests/test_sasl.py, pure-sasl over the `kerberos` module), run by
//! pytest with kazoo's harness against Apache 3.8 (the control) and
//! zk-bin, on a KDC of the test's own (`integration::kdc`): the realm
//! `KAZOOTEST.ORG` the tests name, principals `client` and
//! `zookeeper/127.0.0.1`, and their keytabs `client.keytab` and
//! `server.keytab` in `KRB5_TEST_ENV`, as kazoo's CI sets it up. The
//! harness writes each node's JAAS `Server` section (Krb5LoginModule with
//! `server.keytab`) and `-Djava.security.krb5.conf=$KRB5_CONFIG`.
//! `test_connect_gssapi_auth` kinits as `client`, creates a node with a
//! `sasl:client@KAZOOTEST.ORG` ACL and checks an unauthenticated client
//! gets NoAuth; `test_invalid_gssapi_auth` kinits a postdated (not yet
//! valid) ticket and expects AuthFailedError. SKIPPED without the KDC's
//! tools, Python with kazoo, pure-sasl and `kerberos`, or (for Apache)
//! its jars.

use std::ffi::OsString;

use integration::kazoo::{check_with_env, KazooTests};
use integration::kdc::Kdc;

const TESTS: KazooTests<'static> = KazooTests {
    module: "kazoo.tests.test_sasl",
    filter: "SASLGSSAPIAuthentication",
    passed: 2,
};

/// Runs kazoo's GSSAPI tests against `server` with `size` nodes, each
/// test binary's run on a realm of its own.
fn gssapi(server: &str, size: u16) {
    if let Err(why) = Kdc::available() {
        println!("SKIPPED: {why}");
        return;
    }
    let kdc = Kdc::start("KAZOOTEST.ORG").unwrap_or_else(|e| panic!("{e}"));
    for (principal, keytab) in [
        ("client", "client.keytab"),
        ("zookeeper/127.0.0.1", "server.keytab"),
    ] {
        kdc.add_principal(principal, keytab)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut env: Vec<(&str, OsString)> = kdc.env();
    env.push(("KRB5_TEST_ENV", kdc.join("").into_os_string()));
    check_with_env(server, size, &TESTS, &["puresasl", "kerberos"], &env);
}

#[test]
fn kazoo_gssapi_against_apache_standalone() {
    gssapi("apache", 1);
}

#[test]
fn kazoo_gssapi_against_zk_bin_standalone() {
    gssapi("zk-bin", 1);
}

#[test]
fn kazoo_gssapi_against_zk_bin_ensemble() {
    gssapi("zk-bin", 3);
}
