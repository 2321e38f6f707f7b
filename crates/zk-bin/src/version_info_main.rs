//! `VersionInfoMain`, what `zkServer.sh version` runs: one line naming the
//! version and build date, in 3.8's form.

use zk_server::commands::{build_date, version};

/// "Apache ZooKeeper, version <version> <build date>", as 3.8's
/// `VersionInfoMain` prints it, with zk-rs's version (3.8.0-zk-rs-...).
pub fn line() -> String {
    format!("Apache ZooKeeper, version {} {}", version(), build_date())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_3_8_and_the_build() {
        crate::stamp_build();
        let line = super::line();
        assert!(
            line.starts_with("Apache ZooKeeper, version 3.8.0-zk-rs-"),
            "{line}"
        );
        assert!(line.ends_with(zk_server::commands::build_date()), "{line}");
        assert!(line.contains(env!("ZK_BUILD_COMMIT")), "{line}");
    }
}
