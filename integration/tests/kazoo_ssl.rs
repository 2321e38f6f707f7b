//! kazoo's own `TestSSLClient` (kazoo/tests/test_client.py), run by
//! pytest with kazoo's own harness (kazoo/testing/common.py), against
//! Apache 3.8 and against zk-bin, standalone and as a 3-node ensemble
//! (the harness and its `java` shim for zk-bin: `integration::kazoo`).
//!
//! The harness makes its certificates with pyOpenSSL (a CA, a v1 server
//! certificate `CN=localhost` without extensions, a v1 client certificate
//! `CN=client`), saves them as JKS with pyjks (password `apassword`) and
//! writes each node's zoo.cfg: `clientPort`, `secureClientPort`,
//! `serverCnxnFactory=...NettyServerCnxnFactory`,
//! `authProvider.1=...SASLAuthenticationProvider`,
//! `ssl.keyStore.location/password`, `ssl.trustStore.location/password`,
//! `4lw.commands.whitelist=*`, `reconfigEnabled=true`,
//! `localSessionsEnabled=false`, and for an ensemble `initLimit`,
//! `syncLimit`, `server.N=localhost:...:participant`, `peerType`; its JAAS
//! file is empty here (no SASL test sets `ZOOKEEPER_JAAS_AUTH`).
//!
//! Without Python and kazoo the tests print SKIPPED.

use integration::kazoo::{check, KazooTests};

const TESTS: KazooTests<'static> = KazooTests {
    module: "kazoo.tests.test_client",
    filter: "TestSSLClient",
    passed: 1,
};

#[test]
fn kazoo_test_ssl_client_against_apache_standalone() {
    check("apache", 1, &TESTS, &[]);
}

#[test]
fn kazoo_test_ssl_client_against_apache_ensemble() {
    check("apache", 3, &TESTS, &[]);
}

#[test]
fn kazoo_test_ssl_client_against_zk_bin_standalone() {
    check("zk-bin", 1, &TESTS, &[]);
}

#[test]
fn kazoo_test_ssl_client_against_zk_bin_ensemble() {
    check("zk-bin", 3, &TESTS, &[]);
}

/// TLS alone: the harness's SASL lines (accepted by zk-bin as by 3.8: a
/// JAAS file without a `Server` section brings no SASL) taken out by the
/// shim. The two tests above run the harness's config unchanged.
#[test]
fn kazoo_test_ssl_client_against_zk_bin_standalone_without_the_sasl_lines() {
    check("zk-bin without SASL lines", 1, &TESTS, &[]);
}

#[test]
fn kazoo_test_ssl_client_against_zk_bin_ensemble_without_the_sasl_lines() {
    check("zk-bin without SASL lines", 3, &TESTS, &[]);
}
