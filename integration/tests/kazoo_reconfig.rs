//! kazoo's own `TestReconfig` (kazoo/tests/test_client.py: `test_no_super_auth`,
//! `test_add_remove_observer`, `test_bad_input`), run by pytest with kazoo's
//! own harness (kazoo/testing/common.py) against a 3-node ensemble: Apache
//! 3.8 as the control, and zk-bin (issue 13's first acceptance line).
//!
//! The harness writes `reconfigEnabled=true` into every zoo.cfg and starts
//! each node with the super digest for `super:test`, which
//! `test_add_remove_observer` authenticates as; `test_no_super_auth`
//! expects NOAUTH for an anonymous reconfig, `test_bad_input` BADARGUMENTS
//! for a joining string that is no server line, and the observer test a
//! BADVERSION for a `fromConfig` one past the current version.
//!
//! Without Python and kazoo (or, for the control, Apache's jars) the tests
//! print SKIPPED.

use integration::kazoo::{check, KazooTests};

const TESTS: KazooTests<'static> = KazooTests {
    module: "kazoo.tests.test_client",
    filter: "TestReconfig",
    passed: 3,
};

#[test]
fn kazoo_test_reconfig_against_apache_ensemble() {
    check("apache", 3, &TESTS, &[]);
}

#[test]
fn kazoo_test_reconfig_against_zk_bin_ensemble() {
    check("zk-bin", 3, &TESTS, &[]);
}
