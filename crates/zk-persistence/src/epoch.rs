//! The epoch files of a quorum peer: `currentEpoch` and `acceptedEpoch` in
//! the snapshot directory (`dataDir/version-2`).
//!
//! Each holds one decimal number and nothing else (no newline), written
//! atomically: the value goes to `<name>.tmp`, which is fsynced and renamed
//! over the old file, so a crash leaves either the old or the new value.
//! `acceptedEpoch` is the newest epoch this peer agreed to follow;
//! `currentEpoch` the newest whose NEWLEADER it acknowledged. They must
//! never go backwards, which is why they live on disk.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use log::info;

use crate::data_dir::sync_dir;

/// The file in `dataDir` holding the last epoch this server
/// acknowledged a leader for (`QuorumPeer.CURRENT_EPOCH_FILENAME`).
pub const CURRENT_EPOCH_FILENAME: &str = "currentEpoch";
/// The file in `dataDir` holding the last epoch this server accepted
/// in a `NEWEPOCH` (`QuorumPeer.ACCEPTED_EPOCH_FILENAME`).
pub const ACCEPTED_EPOCH_FILENAME: &str = "acceptedEpoch";
/// Suffix of the file an atomic write goes through (`AtomicFileOutputStream`).
pub const TMP_EXTENSION: &str = ".tmp";

/// The epoch part (high 32 bits) of a zxid.
pub fn epoch_of_zxid(zxid: i64) -> i64 {
    zxid >> 32
}

/// Reads the number in `path`: its first line, parsed as Java's
/// `Long.parseLong` does (optional sign, decimal digits, nothing else). A
/// missing file is an error of kind `NotFound`; anything else that is not a
/// number is `InvalidData`, naming the file and what it held.
pub fn read_long_from_file(path: &Path) -> io::Result<i64> {
    let file = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {}", path.display(), e)))?;
    let mut line = String::new();
    let n = BufReader::new(file)
        .read_line(&mut line)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {}", path.display(), e)))?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("Found an empty file {}, expected a number", path.display()),
        ));
    }
    // readLine in Java ends a line at \n, \r or \r\n.
    let text = line.split(['\n', '\r']).next().unwrap_or("");
    text.parse::<i64>().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("Found {:?} in {}, expected a number", text, path.display()),
        )
    })
}

/// Writes `value` to `path` atomically, as Java's `writeLongToFile` does.
pub fn write_long_to_file(path: &Path, value: i64) -> io::Result<()> {
    write_atomically(path, value.to_string().as_bytes())
}

/// Replaces `path` with `bytes` so that a crash leaves the old content or
/// the new, never a mix: write `<path>.tmp`, fsync it, rename it over
/// `path`, fsync the directory. On failure the temporary file is removed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a file path", path.display()),
        )
    })?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(TMP_EXTENSION);
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io::Error::new(
            e.kind(),
            format!("cannot write {} atomically: {}", path.display(), e),
        ));
    }
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// A peer's two epochs, as loaded at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epochs {
    /// `currentEpoch`.
    pub current: i64,
    /// `acceptedEpoch`.
    pub accepted: i64,
}

/// Loads (and where missing, creates) the epoch files in `snap_dir`, given
/// the last zxid the restored database holds, with the checks
/// `QuorumPeer.loadDataBase` makes:
///
/// - a missing file is created with the epoch of that zxid (an upgrade from
///   a version that had no such file);
/// - a `currentEpoch` older than the zxid's epoch is repaired from
///   `currentEpoch.tmp` if a crash left one mid-write, and is an error
///   otherwise;
/// - `acceptedEpoch` below `currentEpoch` is an error.
pub fn load_epochs(snap_dir: &Path, last_processed_zxid: i64) -> io::Result<Epochs> {
    let zxid_epoch = epoch_of_zxid(last_processed_zxid);
    let current_path = snap_dir.join(CURRENT_EPOCH_FILENAME);
    let mut current = read_or_create(&current_path, zxid_epoch)?;
    if zxid_epoch > current {
        let mut tmp_name = CURRENT_EPOCH_FILENAME.to_string();
        tmp_name.push_str(TMP_EXTENSION);
        let tmp = snap_dir.join(tmp_name);
        if tmp.exists() {
            let from_tmp = read_long_from_file(&tmp)?;
            info!(
                "{} found. Setting current epoch to {}.",
                tmp.display(),
                from_tmp
            );
            write_long_to_file(&current_path, from_tmp)?;
            current = from_tmp;
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "The current epoch, {:x}, is older than the last zxid, 0x{:x} ({})",
                    current,
                    last_processed_zxid,
                    current_path.display()
                ),
            ));
        }
    }
    let accepted = read_or_create(&snap_dir.join(ACCEPTED_EPOCH_FILENAME), zxid_epoch)?;
    if accepted < current {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "The accepted epoch, {:x} is less than the current epoch, {:x} (in {})",
                accepted,
                current,
                snap_dir.display()
            ),
        ));
    }
    Ok(Epochs { current, accepted })
}

fn read_or_create(path: &Path, default: i64) -> io::Result<i64> {
    match read_long_from_file(path) {
        Ok(v) => Ok(v),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            info!(
                "{} not found! Creating with a reasonable default of {}. This should only happen when you are upgrading your installation",
                path.display(),
                default
            );
            write_long_to_file(path, default)?;
            Ok(default)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_dir::TestDir;

    #[test]
    fn written_as_java_writes_it() {
        let dir = TestDir::new("epoch-write");
        let p = dir.path().join(CURRENT_EPOCH_FILENAME);
        write_long_to_file(&p, 7).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"7");
        write_long_to_file(&p, -1).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"-1");
        assert!(!dir.path().join("currentEpoch.tmp").exists());
        assert_eq!(read_long_from_file(&p).unwrap(), -1);
    }

    #[test]
    fn reads_what_java_accepts_and_names_what_it_refuses() {
        let dir = TestDir::new("epoch-read");
        let p = dir.path().join(ACCEPTED_EPOCH_FILENAME);
        for (text, want) in [("12", 12), ("12\n", 12), ("+3\r\njunk", 3), ("-1", -1)] {
            fs::write(&p, text).unwrap();
            assert_eq!(read_long_from_file(&p).unwrap(), want, "{:?}", text);
        }
        for text in ["", "abc", " 12", "12 ", "0x10", "99999999999999999999"] {
            fs::write(&p, text).unwrap();
            let e = read_long_from_file(&p).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{:?}", text);
            assert!(e.to_string().contains("acceptedEpoch"), "{}", e);
        }
        let e = read_long_from_file(&dir.path().join("missing")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("missing"));
    }

    #[test]
    fn load_creates_missing_files_from_the_zxid() {
        let dir = TestDir::new("epoch-load");
        let e = load_epochs(dir.path(), 0x5_0000_0003).unwrap();
        assert_eq!(
            e,
            Epochs {
                current: 5,
                accepted: 5
            }
        );
        assert_eq!(fs::read(dir.path().join("currentEpoch")).unwrap(), b"5");
        assert_eq!(fs::read(dir.path().join("acceptedEpoch")).unwrap(), b"5");
        write_long_to_file(&dir.path().join("acceptedEpoch"), 6).unwrap();
        let e = load_epochs(dir.path(), 0x5_0000_0003).unwrap();
        assert_eq!(
            e,
            Epochs {
                current: 5,
                accepted: 6
            }
        );
    }

    #[test]
    fn load_checks_the_epochs_against_each_other_and_the_zxid() {
        let dir = TestDir::new("epoch-check");
        write_long_to_file(&dir.path().join("currentEpoch"), 4).unwrap();
        write_long_to_file(&dir.path().join("acceptedEpoch"), 6).unwrap();
        let e = load_epochs(dir.path(), 0x5_0000_0001).unwrap_err();
        assert!(e.to_string().contains("older than the last zxid"), "{}", e);
        // A crash between writing currentEpoch.tmp and renaming it.
        fs::write(dir.path().join("currentEpoch.tmp"), "5").unwrap();
        let e = load_epochs(dir.path(), 0x5_0000_0001).unwrap();
        assert_eq!(
            e,
            Epochs {
                current: 5,
                accepted: 6
            }
        );
        assert_eq!(fs::read(dir.path().join("currentEpoch")).unwrap(), b"5");

        write_long_to_file(&dir.path().join("acceptedEpoch"), 4).unwrap();
        let e = load_epochs(dir.path(), 0x5_0000_0001).unwrap_err();
        assert!(e.to_string().contains("accepted epoch"), "{}", e);
        fs::write(dir.path().join("acceptedEpoch"), "x").unwrap();
        assert!(load_epochs(dir.path(), 0).is_err());
    }
}
