//! kazoo's own SASL digest tests (kazoo/tests/test_sasl.py:
//! `TestSASLDigestAuthentication` and `TestLegacySASLDigestAuthentication`,
//! each `test_connect_sasl_auth` and `test_invalid_sasl_auth`), run by
//! pytest with kazoo's harness (`integration::kazoo`) against Apache 3.8
//! and against zk-bin, standalone and as a 3-node ensemble.
//!
//! The tests set `ZOOKEEPER_JAAS_AUTH=digest`, so the harness writes a
//! JAAS `Server` section with `DigestLoginModule`, `user_super` and
//! `user_jaasuser="jaas_password"`, and passes it as
//! `-Djava.security.auth.login.config`, beside
//! `authProvider.1=...SASLAuthenticationProvider` in zoo.cfg. kazoo
//! (pure-sasl) then runs DIGEST-MD5 with service `zookeeper` and host
//! `zk-sasl-md5`: `jaasuser` creates a node with `sasl:jaasuser:cdrwa` that
//! the harness's unauthenticated client cannot read (NOAUTH), and a wrong
//! user and password end `start()` with AuthFailedError. The GSSAPI tests
//! of the module skip themselves without a KDC.
//!
//! Without Python, kazoo and pure-sasl the tests print SKIPPED.

use integration::kazoo::{check, KazooTests};

const TESTS: KazooTests<'static> = KazooTests {
    module: "kazoo.tests.test_sasl",
    filter: "SASLDigestAuthentication",
    passed: 4,
};

#[test]
fn kazoo_sasl_digest_against_apache_standalone() {
    check("apache", 1, &TESTS, &["puresasl"]);
}

#[test]
fn kazoo_sasl_digest_against_apache_ensemble() {
    check("apache", 3, &TESTS, &["puresasl"]);
}

#[test]
fn kazoo_sasl_digest_against_zk_bin_standalone() {
    check("zk-bin", 1, &TESTS, &["puresasl"]);
}

#[test]
fn kazoo_sasl_digest_against_zk_bin_ensemble() {
    check("zk-bin", 3, &TESTS, &["puresasl"]);
}
