//! A scratch directory holding a zoo.cfg, a dataDir and optional extra files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use zk_config::{ConfigError, QuorumPeerConfig};

pub struct Scratch {
    pub dir: PathBuf,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Scratch {
    pub fn new() -> Self {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("zk-config-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        Scratch { dir }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    pub fn cfg_path(&self) -> PathBuf {
        self.dir.join("zoo.cfg")
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    pub fn myid(&self, text: &str) {
        std::fs::write(self.data_dir().join("myid"), text).unwrap();
    }

    /// Writes zoo.cfg as `dataDir=<scratch>/data` followed by `body`
    /// (`{dir}` in body is replaced by the scratch directory) and parses it.
    pub fn parse(&self, body: &str) -> Result<QuorumPeerConfig, ConfigError> {
        let text = format!(
            "dataDir={}\n{}",
            self.data_dir().display(),
            self.expand(body)
        );
        std::fs::write(self.cfg_path(), text).unwrap();
        QuorumPeerConfig::parse(&self.cfg_path())
    }

    pub fn expand(&self, body: &str) -> String {
        body.replace("{dir}", &self.dir.display().to_string())
    }

    pub fn ok(&self, body: &str) -> QuorumPeerConfig {
        match self.parse(body) {
            Ok(c) => c,
            Err(e) => panic!("expected {body:?} to parse, got: {e}"),
        }
    }

    /// The error message with the zoo.cfg path shortened to `zoo.cfg` and
    /// the scratch directory to `{dir}`.
    pub fn err(&self, body: &str) -> String {
        match self.parse(body) {
            Ok(_) => panic!("expected {body:?} to be refused"),
            Err(e) => self.shorten(&e.to_string()),
        }
    }

    pub fn shorten(&self, msg: &str) -> String {
        msg.replace(&self.cfg_path().display().to_string(), "zoo.cfg")
            .replace(&self.dir.display().to_string(), "{dir}")
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        Path::new(&self.dir).join(rel)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Three participants on 127.0.0.1, with the limits replicated mode needs.
pub const ENSEMBLE: &str = "initLimit=10\nsyncLimit=5\n\
server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n";
