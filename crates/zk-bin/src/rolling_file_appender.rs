//! The server's log file: what 3.8's `conf/logback.xml` ROLLINGFILE
//! appender does (logback's `RollingFileAppender` with a
//! `SizeBasedTriggeringPolicy` and a `FixedWindowRollingPolicy`), driven by
//! the same system properties: `zookeeper.log.dir`, `zookeeper.log.file`,
//! `zookeeper.log.maxfilesize` (default 256MB) and
//! `zookeeper.log.maxbackupindex` (default 20), plus zkServer.sh's
//! `ZOO_LOG_DIR`/`ZOO_LOG_FILE` for a server started without the `-D`s.
//!
//! When the file grows to the size limit, the next record first rolls it:
//! `F.(N-1)` becomes `F.N` (the oldest, `F.N`, is deleted), ..., `F`
//! becomes `F.1`, and a new `F` is opened; as logback does, the size is
//! checked before a record is written, so a file can pass the limit by one
//! record.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use zk_config::SystemProperties;

/// logback's `zookeeper.log.maxfilesize` default in 3.8's logback.xml.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 256 * 1024 * 1024;
/// logback's `zookeeper.log.maxbackupindex` default in 3.8's logback.xml.
pub const DEFAULT_MAX_BACKUP_INDEX: u32 = 20;
/// `FixedWindowRollingPolicy.MAX_WINDOW_SIZE`: logback keeps at most 20.
const MAX_WINDOW_SIZE: u32 = 20;

/// Where and how the server logs, resolved from the system properties
/// and the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// The log file, when a log directory is set.
    pub file: Option<PathBuf>,
    pub max_file_size: u64,
    pub max_backup_index: u32,
    /// Whether records also go to stderr (logback's CONSOLE appender);
    /// `zookeeper.console.threshold=OFF` turns it off, as `zk-bin start`
    /// does for its daemon, whose stderr is the `.out` file.
    pub console: bool,
    /// Settings that could not be used, for the log once it is open.
    pub warnings: Vec<String>,
}

impl LogSettings {
    /// `props` are the `-D` flags of JVMFLAGS/SERVER_JVMFLAGS; `env` reads
    /// an environment variable.
    pub fn resolve(props: &SystemProperties, env: impl Fn(&str) -> Option<String>) -> Self {
        let mut warnings = Vec::new();
        let dir = props
            .get("zookeeper.log.dir")
            .map(str::to_string)
            .or_else(|| env("ZOO_LOG_DIR"))
            .filter(|d| !d.is_empty());
        let name = props
            .get("zookeeper.log.file")
            .map(str::to_string)
            .or_else(|| env("ZOO_LOG_FILE"))
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| daemon_file_name(&env, "log"));
        let max_file_size = match props.get("zookeeper.log.maxfilesize") {
            None => DEFAULT_MAX_FILE_SIZE,
            Some(text) => parse_file_size(text).unwrap_or_else(|| {
                warnings.push(format!(
                    "zookeeper.log.maxfilesize={text} is not a size (such as 10KB, 256MB); using {DEFAULT_MAX_FILE_SIZE} bytes"
                ));
                DEFAULT_MAX_FILE_SIZE
            }),
        };
        let max_backup_index = match props.get("zookeeper.log.maxbackupindex") {
            None => DEFAULT_MAX_BACKUP_INDEX,
            Some(text) => match text.trim().parse::<i64>() {
                Ok(n) if n > i64::from(MAX_WINDOW_SIZE) => {
                    warnings.push(format!(
                        "zookeeper.log.maxbackupindex={text} is past logback's window of {MAX_WINDOW_SIZE}; keeping {MAX_WINDOW_SIZE}"
                    ));
                    MAX_WINDOW_SIZE
                }
                // logback raises a maxIndex below minIndex (1) to it.
                Ok(n) => n.max(1) as u32,
                Err(_) => {
                    warnings.push(format!(
                        "zookeeper.log.maxbackupindex={text} is not a number; using {DEFAULT_MAX_BACKUP_INDEX}"
                    ));
                    DEFAULT_MAX_BACKUP_INDEX
                }
            },
        };
        let console = !props
            .get("zookeeper.console.threshold")
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("OFF"));
        LogSettings {
            file: dir.map(|d| Path::new(&d).join(name)),
            max_file_size,
            max_backup_index,
            console,
            warnings,
        }
    }
}

/// zkServer.sh's names in the log directory:
/// `zookeeper-$USER-server-$HOSTNAME.{log,out}` (an unset USER leaves the
/// empty string, as in the script).
pub fn daemon_file_name(env: &impl Fn(&str) -> Option<String>, extension: &str) -> String {
    let user = env("USER").unwrap_or_default();
    let host = env("HOSTNAME")
        .filter(|h| !h.is_empty())
        .or_else(|| {
            fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_default();
    format!("zookeeper-{user}-server-{host}.{extension}")
}

/// logback's `FileSize.valueOf`: a number, optionally followed by KB, MB
/// or GB (any case, an optional trailing `s`), in powers of 1024.
pub fn parse_file_size(text: &str) -> Option<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let number: u64 = number.parse().ok()?;
    let unit = unit.trim_start();
    let unit = unit.strip_suffix('s').unwrap_or(unit);
    let factor: u64 = match unit {
        "" => 1,
        "kb" => 1 << 10,
        "mb" => 1 << 20,
        "gb" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

/// The log file, rolled by size.
pub struct RollingFileAppender {
    path: PathBuf,
    max_file_size: u64,
    max_index: u32,
    file: File,
    size: u64,
    /// Set after a failed rollover, so stderr gets one complaint, not one
    /// per record.
    roll_failed: bool,
}

impl RollingFileAppender {
    /// Opens (creating its directory) `path` for appending, as logback's
    /// appender does with `append` true.
    pub fn open(path: &Path, max_file_size: u64, max_index: u32) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(RollingFileAppender {
            path: path.to_path_buf(),
            max_file_size,
            max_index: max_index.clamp(1, MAX_WINDOW_SIZE),
            file,
            size,
            roll_failed: false,
        })
    }

    fn backup(&self, index: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{index}"));
        PathBuf::from(name)
    }

    /// `FixedWindowRollingPolicy.rollover`: drop the oldest, shift the
    /// rest up by one, the live file becomes `.1`.
    fn roll(&mut self) -> io::Result<()> {
        let oldest = self.backup(self.max_index);
        if oldest.exists() {
            fs::remove_file(&oldest)?;
        }
        for i in (1..self.max_index).rev() {
            let from = self.backup(i);
            if from.exists() {
                fs::rename(&from, self.backup(i + 1))?;
            }
        }
        fs::rename(&self.path, self.backup(1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Write for RollingFileAppender {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size >= self.max_file_size && !self.roll_failed {
            if let Err(e) = self.roll() {
                // Keep logging to the file we have: losing the log is worse
                // than an oversized one.
                self.roll_failed = true;
                eprintln!("zk-bin: cannot roll {}: {e}", self.path.display());
            }
        }
        let n = self.file.write(buf)?;
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Where env_logger writes each formatted record: stderr, the log file,
/// or both.
pub struct LogTarget {
    pub console: bool,
    pub file: Option<RollingFileAppender>,
}

impl Write for LogTarget {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    /// env_logger hands over one whole record per call: each sink gets it
    /// whole. A closed stderr does not stop the file.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.console {
            let _ = io::stderr().write_all(buf);
        }
        match &mut self.file {
            Some(file) => file.write_all(buf),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> SystemProperties {
        let mut p = SystemProperties::new();
        for (k, v) in pairs {
            p.set(*k, *v);
        }
        p
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn file_sizes_as_logback_reads_them() {
        assert_eq!(parse_file_size("256MB"), Some(256 << 20));
        assert_eq!(parse_file_size("10kb"), Some(10 << 10));
        assert_eq!(parse_file_size("2 GB"), Some(2 << 30));
        assert_eq!(parse_file_size("10KBs"), Some(10 << 10));
        assert_eq!(parse_file_size("4096"), Some(4096));
        assert_eq!(parse_file_size("ten"), None);
        assert_eq!(parse_file_size("10TB"), None);
        assert_eq!(parse_file_size(""), None);
    }

    #[test]
    fn no_log_dir_means_stderr_only() {
        let s = LogSettings::resolve(&props(&[]), env_of(&[]));
        assert_eq!(s.file, None);
        assert!(s.console);
        assert_eq!(s.max_file_size, DEFAULT_MAX_FILE_SIZE);
        assert_eq!(s.max_backup_index, DEFAULT_MAX_BACKUP_INDEX);
    }

    #[test]
    fn property_wins_over_environment_and_names_follow_zk_server_sh() {
        let env = env_of(&[
            ("ZOO_LOG_DIR", "/env/logs"),
            ("USER", "zk"),
            ("HOSTNAME", "h1"),
        ]);
        let s = LogSettings::resolve(&props(&[]), &env);
        assert_eq!(
            s.file,
            Some(PathBuf::from("/env/logs/zookeeper-zk-server-h1.log"))
        );
        let s = LogSettings::resolve(
            &props(&[
                ("zookeeper.log.dir", "/p"),
                ("zookeeper.log.file", "zk.log"),
                ("zookeeper.log.maxfilesize", "1KB"),
                ("zookeeper.log.maxbackupindex", "3"),
                ("zookeeper.console.threshold", "OFF"),
            ]),
            &env,
        );
        assert_eq!(s.file, Some(PathBuf::from("/p/zk.log")));
        assert_eq!((s.max_file_size, s.max_backup_index), (1024, 3));
        assert!(!s.console);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn bad_sizes_warn_and_use_the_defaults() {
        let s = LogSettings::resolve(
            &props(&[
                ("zookeeper.log.maxfilesize", "big"),
                ("zookeeper.log.maxbackupindex", "99"),
            ]),
            env_of(&[]),
        );
        assert_eq!(s.max_file_size, DEFAULT_MAX_FILE_SIZE);
        assert_eq!(s.max_backup_index, MAX_WINDOW_SIZE);
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
    }

    #[test]
    fn rolls_at_the_size_and_keeps_max_index_backups() {
        let dir = std::env::temp_dir().join(format!("zk-bin-roll-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("sub/zk.log");
        let mut log = RollingFileAppender::open(&path, 100, 2).unwrap();
        let record = [b'x'; 60];
        // 60 -> 120 (past 100) -> roll before the third record, and so on.
        for round in 0..8u8 {
            let mut r = record;
            r[0] = b'0' + round;
            log.write_all(&r).unwrap();
        }
        let size = |p: PathBuf| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert_eq!(size(path.clone()), 120);
        assert_eq!(size(log.backup(1)), 120);
        assert_eq!(size(log.backup(2)), 120);
        assert!(!log.backup(3).exists(), "only max_index backups are kept");
        // The newest backup holds the records just before the live file's.
        let first = fs::read(log.backup(1)).unwrap()[0];
        assert_eq!(first, b'4');
        let first = fs::read(&path).unwrap()[0];
        assert_eq!(first, b'6');
        // Reopening appends and counts what is there.
        drop(log);
        let mut log = RollingFileAppender::open(&path, 100, 2).unwrap();
        log.write_all(b"y").unwrap();
        assert_eq!(
            size(path.clone()),
            1,
            "a full file rolls on the first record"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
