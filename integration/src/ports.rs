//! Loopback ports and scratch directories for test processes.
//!
//! A port comes from asking the kernel for an ephemeral one and releasing it
//! at once: the window in which another process could take it is tiny, and a
//! server that loses the race fails to bind loudly rather than silently
//! talking to a stranger.

use std::io;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A free port that is none of `avoid`: for a restarted server that must not
/// be mistaken for (or reached by a client still aiming at) its predecessor.
pub fn free_port_except(avoid: &[u16]) -> io::Result<u16> {
    for _ in 0..64 {
        let port = free_port()?;
        if !avoid.contains(&port) {
            return Ok(port);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrNotAvailable,
        format!("the kernel kept handing out ports in {avoid:?}"),
    ))
}

/// A directory under the system temp dir, removed with everything in it when
/// dropped. Set `ZK_KEEP_TEST_DIRS=1` to keep it for a post-mortem; its path
/// is then printed on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh, empty directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> io::Result<TempDir> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir();
        // pid + sequence is unique within this machine's live processes; the
        // loop only guards against leftovers of a crashed earlier run.
        for _ in 0..1000 {
            let name = format!(
                "{prefix}-{}-{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            );
            let path = base.join(name);
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "no free name for a temp dir {prefix}-* in {}",
                base.display()
            ),
        ))
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside this directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("ZK_KEEP_TEST_DIRS").is_some_and(|v| v == "1") {
            eprintln!("kept test dir {}", self.path.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Copies the files of `from` (one level, as a ZooKeeper `version-2` dir
/// holds them) into `to`, creating `to`.
pub fn copy_dir_files(from: &Path, to: &Path) -> io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        } else if kind.is_dir() {
            copy_dir_files(&entry.path(), &to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_bindable() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).unwrap();
    }

    #[test]
    fn free_port_except_avoids_the_list() {
        let first = free_port().unwrap();
        let second = free_port_except(&[first]).unwrap();
        assert_ne!(first, second);
    }

    #[test]
    fn temp_dir_is_removed_on_drop_and_names_are_distinct() {
        let a = TempDir::new("zk-it-test").unwrap();
        let b = TempDir::new("zk-it-test").unwrap();
        assert_ne!(a.path(), b.path());
        std::fs::write(a.join("f"), b"x").unwrap();
        std::fs::create_dir(a.join("sub")).unwrap();
        let kept = a.path().to_path_buf();
        drop(a);
        if std::env::var_os("ZK_KEEP_TEST_DIRS").is_none() {
            assert!(!kept.exists());
        }
    }

    #[test]
    fn copy_dir_files_copies_nested_files() {
        let src = TempDir::new("zk-it-src").unwrap();
        std::fs::create_dir(src.join("version-2")).unwrap();
        std::fs::write(src.join("version-2/log.1"), b"abc").unwrap();
        let dst = TempDir::new("zk-it-dst").unwrap();
        copy_dir_files(src.path(), &dst.join("copy")).unwrap();
        assert_eq!(
            std::fs::read(dst.join("copy/version-2/log.1")).unwrap(),
            b"abc"
        );
    }
}
