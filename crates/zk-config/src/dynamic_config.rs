//! The files a reconfig leaves on disk, as 3.8's static
//! `QuorumPeerConfig.writeDynamicConfig` and `editStaticConfig` write
//! them: `zoo.cfg.dynamic.<hex version>` with the membership, and zoo.cfg
//! rewritten to point at it (`dynamicConfigFile=`) without the server,
//! group, weight and peerType lines (and the client port when the
//! membership carries it). Apache ZooKeeper and we read each other's
//! files, so the dynamic file's text is 3.8's byte for byte.
//!
//! One known difference: 3.8 writes zoo.cfg's remaining keys in the
//! iteration order of `java.util.Properties` (a hash order); we keep the
//! file's own order. Both are read back alike, keys are unique.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::properties::Properties;
use crate::quorum_verifier::QuorumVerifier;

/// `QuorumPeerConfig.nextDynamicConfigFileSuffix`: a proposed config not
/// yet committed (3.8 deletes it once the config it holds is committed).
pub const NEXT_DYNAMIC_CONFIG_FILE_SUFFIX: &str = ".dynamic.next";

/// `makeDynamicConfigFilename`: zoo.cfg's path plus `.dynamic.<hex>`.
pub fn make_dynamic_config_filename(config_file: &Path, version: i64) -> PathBuf {
    let mut name = config_file.as_os_str().to_owned();
    name.push(format!(".dynamic.{version:x}"));
    PathBuf::from(name)
}

/// `getNextDynamicConfigFilename`: zoo.cfg's path plus `.dynamic.next`.
pub fn next_dynamic_config_filename(config_file: &Path) -> PathBuf {
    let mut name = config_file.as_os_str().to_owned();
    name.push(NEXT_DYNAMIC_CONFIG_FILE_SUFFIX);
    PathBuf::from(name)
}

/// The dynamic file's text: `qv`'s lines as properties, trimmed, the
/// version left out unless `keep_version`, sorted as strings (as in 3.8) and joined by newlines
/// with none at the end.
pub fn dynamic_config_text(qv: &QuorumVerifier, keep_version: bool) -> String {
    // Read back through the properties rules, as 3.8 loads qv.toString().
    let props = Properties::parse(&qv.to_string()).unwrap_or_default();
    let mut lines: Vec<String> = props
        .iter()
        .map(|(k, v)| (k.trim(), v.trim()))
        .filter(|(k, _)| keep_version || !k.starts_with("version"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    lines.sort();
    lines.join("\n")
}

/// `writeDynamicConfig`: writes [`dynamic_config_text`] to `path`
/// atomically.
pub fn write_dynamic_config(
    path: &Path,
    qv: &QuorumVerifier,
    keep_version: bool,
) -> io::Result<()> {
    write_atomically(path, dynamic_config_text(qv, keep_version).as_bytes())
}

/// The text [`edit_static_config`] writes for the zoo.cfg `config_text`.
/// `dynamic_file` is written as given (the caller canonicalizes it).
pub fn edited_static_config_text(
    config_text: &[u8],
    dynamic_file: &Path,
    erase_client_port_address: bool,
) -> io::Result<String> {
    let props = Properties::from_bytes(config_text)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    let mut out = String::new();
    for (key, value) in props.iter() {
        let key = key.trim();
        let moved = key.starts_with("server.")
            || key.starts_with("group")
            || key.starts_with("weight")
            || key.starts_with("dynamicConfigFile")
            || key.starts_with("peerType")
            || (erase_client_port_address && key.starts_with("clientPort"));
        if moved {
            continue;
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value.trim());
        out.push('\n');
    }
    out.push_str("dynamicConfigFile=");
    out.push_str(&dynamic_file.to_string_lossy());
    out.push('\n');
    Ok(out)
}

/// `editStaticConfig`: rewrites zoo.cfg at `config_file` (atomically) to
/// point at `dynamic_file`, both of which must exist.
pub fn edit_static_config(
    config_file: &Path,
    dynamic_file: &Path,
    erase_client_port_address: bool,
) -> io::Result<()> {
    let text = fs::read(config_file)?;
    let dynamic = fs::canonicalize(dynamic_file)?;
    let edited = edited_static_config_text(&text, &dynamic, erase_client_port_address)?;
    write_atomically(config_file, edited.as_bytes())
}

/// `backupOldConfig`: zoo.cfg copied to `zoo.cfg.bak` (what 3.8 does at
/// startup when reconfig is enabled and the membership is still in
/// zoo.cfg).
pub fn backup_old_config(config_file: &Path) -> io::Result<()> {
    let mut bak = config_file.as_os_str().to_owned();
    bak.push(".bak");
    write_atomically(Path::new(&bak), &fs::read(config_file)?)
}

/// 3.8's `AtomicFileWritingIdiom`: a `.tmp` beside the target, synced,
/// then renamed over it, so a crash leaves the old file or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qv(text: &str) -> QuorumVerifier {
        let props = Properties::parse(text).unwrap();
        let hier = props.iter().any(|(k, _)| k.starts_with("group"));
        QuorumVerifier::from_properties(&props, hier, false).unwrap()
    }

    /// What 3.8.4's own `writeDynamicConfig` wrote for this membership
    /// (run from /usr/share/java/zookeeper.jar): sorted as strings, so
    /// `server.10=` before `server.1=` ('0' < '='), no version, no
    /// trailing newline.
    #[test]
    fn dynamic_file_is_3_8_text() {
        let q = qv("server.2=127.0.0.1:2889:3889:participant;0.0.0.0:2182\n\
                    server.10=127.0.0.1:2890:3890:observer;127.0.0.1:2190\n\
                    server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
                    version=100000003");
        assert_eq!(
            dynamic_config_text(&q, false),
            "server.10=127.0.0.1:2890:3890:observer;127.0.0.1:2190\n\
             server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
             server.2=127.0.0.1:2889:3889:participant;0.0.0.0:2182"
        );
        assert_eq!(
            dynamic_config_text(&q, true),
            "server.10=127.0.0.1:2890:3890:observer;127.0.0.1:2190\n\
             server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181\n\
             server.2=127.0.0.1:2889:3889:participant;0.0.0.0:2182\n\
             version=100000003"
        );
    }

    #[test]
    fn hierarchical_dynamic_file_sorts_groups_and_weights_in() {
        let q = qv(
            "server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n\
                    group.1=1:2\nweight.1=1\nweight.2=1\nversion=0",
        );
        assert_eq!(
            dynamic_config_text(&q, false),
            "group.1=1:2\n\
             server.1=127.0.0.1:2888:3888:participant\n\
             server.2=127.0.0.1:2889:3889:participant\n\
             weight.1=1\nweight.2=1"
        );
    }

    #[test]
    fn file_names() {
        let cfg = Path::new("/d/zoo.cfg");
        assert_eq!(
            make_dynamic_config_filename(cfg, 0x100000003),
            Path::new("/d/zoo.cfg.dynamic.100000003")
        );
        assert_eq!(
            next_dynamic_config_filename(cfg),
            Path::new("/d/zoo.cfg.dynamic.next")
        );
    }

    #[test]
    fn static_config_loses_membership_and_points_at_the_dynamic_file() {
        let zoo = b"tickTime=2000\ndataDir=/d\nclientPort=2181\n\
                    server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n\
                    peerType=participant\nreconfigEnabled=true\n";
        let dynamic = Path::new("/d/zoo.cfg.dynamic.100000000");
        assert_eq!(
            edited_static_config_text(zoo, dynamic, false).unwrap(),
            "tickTime=2000\ndataDir=/d\nclientPort=2181\nreconfigEnabled=true\n\
             dynamicConfigFile=/d/zoo.cfg.dynamic.100000000\n"
        );
        // The membership names our client address: clientPort moves out.
        assert_eq!(
            edited_static_config_text(zoo, dynamic, true).unwrap(),
            "tickTime=2000\ndataDir=/d\nreconfigEnabled=true\n\
             dynamicConfigFile=/d/zoo.cfg.dynamic.100000000\n"
        );
        // Edited again (a second reconfig): the pointer is replaced.
        let again = edited_static_config_text(
            b"tickTime=2000\ndynamicConfigFile=/d/zoo.cfg.dynamic.100000000\n",
            Path::new("/d/zoo.cfg.dynamic.200000001"),
            true,
        )
        .unwrap();
        assert_eq!(
            again,
            "tickTime=2000\ndynamicConfigFile=/d/zoo.cfg.dynamic.200000001\n"
        );
    }

    /// A node restarted after a reconfig reads the new membership, with
    /// the file name's version, and zoo.cfg.bak keeps the original.
    #[test]
    fn restart_reads_the_rewritten_files() {
        let dir = std::env::temp_dir().join(format!("zk-dyncfg-restart-{}", std::process::id()));
        let data = dir.join("data");
        fs::create_dir_all(&data).unwrap();
        fs::write(data.join("myid"), "1\n").unwrap();
        let cfg = dir.join("zoo.cfg");
        let original = format!(
            "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort=2181\n\
             reconfigEnabled=true\nserver.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n\
             server.3=127.0.0.1:2890:3890\n",
            data.display()
        );
        fs::write(&cfg, &original).unwrap();
        let before = crate::QuorumPeerConfig::parse(&cfg).unwrap();
        assert_eq!(before.quorum_verifier.voting_members().len(), 3);
        assert_eq!(
            fs::read_to_string(dir.join("zoo.cfg.bak")).unwrap(),
            original
        );

        let q = qv("server.1=127.0.0.1:2888:3888:participant;127.0.0.1:2181\n\
                    server.3=127.0.0.1:2890:3890:participant\nversion=10000000a");
        let dynamic = make_dynamic_config_filename(&cfg, q.version());
        write_dynamic_config(&dynamic, &q, false).unwrap();
        edit_static_config(&cfg, &dynamic, true).unwrap();
        let after = crate::QuorumPeerConfig::parse(&cfg).unwrap();
        assert_eq!(after.quorum_verifier, q);
        assert_eq!(after.quorum_verifier.version(), 0x10000000a);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = std::env::temp_dir().join(format!("zk-dyncfg-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("zoo.cfg");
        fs::write(&cfg, "tickTime=2000\nserver.1=127.0.0.1:2888:3888\n").unwrap();
        let q = qv("server.1=127.0.0.1:2888:3888\nversion=100000000");
        let dynamic = make_dynamic_config_filename(&cfg, q.version());
        write_dynamic_config(&dynamic, &q, false).unwrap();
        edit_static_config(&cfg, &dynamic, false).unwrap();
        assert_eq!(
            fs::read_to_string(&dynamic).unwrap(),
            "server.1=127.0.0.1:2888:3888:participant"
        );
        let canon = fs::canonicalize(&dynamic).unwrap();
        assert_eq!(
            fs::read_to_string(&cfg).unwrap(),
            format!("tickTime=2000\ndynamicConfigFile={}\n", canon.display())
        );
        assert!(!dir.join("zoo.cfg.tmp").exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
