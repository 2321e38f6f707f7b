//! `txnlog-dump`: ZooKeeper's `TxnLogToolkit`, with its three modes and
//! its options, messages and exit statuses.
//!
//! - Dump (the default, `-d`): the file header, then one line per txn
//!   (time, session, cxid, zxid, type, body) in the toolkit's format, until
//!   the end of the log: end of file or the zero-filled preallocated tail.
//!   An entry whose Adler32 does not match is printed with a `CRC ERROR - `
//!   prefix and then normally.
//! - Recover (`-r`): copies the log to `<file>.fixed`, rewriting the
//!   checksum of each damaged entry it is told to fix (asking
//!   `Yes/No/Abort` on stdin, or fixing all of them with `-y`), and pads
//!   the copy with zeros as the server preallocates a log
//!   (`zookeeper.preAllocSize`, read from `-D` flags in `JVMFLAGS` as
//!   zkTxnLogToolkit.sh passes them). Only damaged entries are printed,
//!   every one with `-v`. The payload is kept as it is: a fixed entry is
//!   whatever the damaged bytes decode to, so an operator should read
//!   what the dump shows before starting a server on it.
//! - Chop (`-c -z ZXID`): [`crate::log_chopper`].
//!
//! The offset of each damaged entry, which the toolkit leaves out, goes to
//! stderr for whoever repairs it. Times print in UTC. Exit statuses are
//! the toolkit's: 1 for a file that cannot be read, a partial last entry,
//! a bad option or an entry that does not decode; 2 for a file that is not
//! a txn log; 0 for a finished dump, an aborted recovery, and any chop
//! (its failures are reported on stdout, as in 3.8).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use zk_persistence::file_txn_log::{padded_file_size, TXNLOG_MAGIC};
use zk_persistence::jute::{InputArchive, JuteErrorKind, OutputArchive};
use zk_persistence::records::{Acl, FileHeader};
use zk_persistence::txn::{Txn, TxnEntry};
use zk_persistence::zoo_defs::op_code;

use crate::command_line::{self, OptionSpec};
use crate::{java_dates, log_chopper};

const SYNTAX: &str = "zk-bin txnlog-dump [-dhrvc] <txn_log_file_name> (-z <zxid>)";

const OPTIONS: &[OptionSpec] = &[
    OptionSpec::flag('h', "help", "Print help message"),
    OptionSpec::flag(
        'r',
        "recover",
        "Recovery mode. Re-calculate CRC for broken entries.",
    ),
    OptionSpec::flag(
        'v',
        "verbose",
        "Be verbose in recovery mode: print all entries, not just fixed ones.",
    ),
    OptionSpec::flag(
        'd',
        "dump",
        "Dump mode. Dump all entries of the log file with printing the content of a nodepath (default)",
    ),
    OptionSpec::flag(
        'y',
        "yes",
        "Non-interactive mode: repair all CRC errors without asking",
    ),
    OptionSpec::flag('c', "chop", "Chop mode. Chop txn file to a zxid."),
    OptionSpec::with_arg(
        'z',
        "zxid",
        "arg",
        false,
        "Used with chop. Zxid to which to chop.",
    ),
];

/// 3.8's `ExitCode` values the toolkit uses.
const EXECUTION_FINISHED: u8 = 0;
const UNEXPECTED_ERROR: u8 = 1;
const INVALID_INVOCATION: u8 = 2;

/// Why the tool stops early: the status to exit with and what to print on
/// stderr.
#[derive(Debug)]
pub struct Failure {
    pub status: u8,
    pub message: String,
}

pub(crate) fn fail(status: u8, message: impl Into<String>) -> Failure {
    Failure {
        status,
        message: message.into(),
    }
}

/// Runs the tool; returns the process exit status.
pub fn main(args: &[String]) -> u8 {
    match run(args) {
        Ok(()) => EXECUTION_FINISHED,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("{}", f.message);
            }
            f.status
        }
    }
}

fn run(args: &[String]) -> Result<(), Failure> {
    let line = match command_line::parse(OPTIONS, args) {
        Ok(line) => line,
        Err(e) => {
            eprintln!("{e}\n");
            print!("{}", command_line::help(SYNTAX, OPTIONS));
            return Err(fail(UNEXPECTED_ERROR, ""));
        }
    };
    if line.has('h') || line.args.is_empty() {
        print!("{}", command_line::help(SYNTAX, OPTIONS));
        // Asked for, the help is a success; given no file, it is not.
        return match line.has('h') {
            true => Ok(()),
            false => Err(fail(UNEXPECTED_ERROR, "")),
        };
    }
    let file = line.args[0].as_str();
    let path = Path::new(file);
    // The toolkit checks only that the file exists and can be read.
    if File::open(path).is_err() {
        return Err(fail(
            UNEXPECTED_ERROR,
            format!("File doesn't exist or not readable: {file}"),
        ));
    }
    if let (true, Some(zxid)) = (line.has('c'), line.value('z')) {
        // A negative zxid is refused too: 3.8 takes it for dump mode and
        // fails there (status 1) without reading the log.
        let zxid = log_chopper::decode_long(zxid)
            .filter(|&z| z >= 0)
            .ok_or_else(|| {
                fail(
                    UNEXPECTED_ERROR,
                    format!(
                        "invalid zxid {zxid:?}: expected a number not below 0, \
                         such as 0x100000005 or 4294967301"
                    ),
                )
            })?;
        return log_chopper::chop_file(path, zxid);
    }
    let recovery = if line.has('r') {
        let fixed = PathBuf::from(format!("{file}.fixed"));
        // Never overwrite an earlier attempt: it may be all that is left.
        let created = File::options().write(true).create_new(true).open(&fixed);
        let out = created.map_err(|_| {
            fail(
                UNEXPECTED_ERROR,
                format!(
                    "Recovery file {} already exists or not writable",
                    fixed.display()
                ),
            )
        })?;
        let prealloc = crate::quorum_peer_main::jvm_flag_properties()
            .pre_alloc_size_bytes()
            .max(0) as u64;
        Some(RecoveryFile::new(out, fixed, prealloc))
    } else {
        None
    };
    let mut toolkit = TxnLogToolkit {
        name: file.to_string(),
        recovery,
        verbose: line.has('v'),
        force: line.has('y'),
    };
    let stdin = std::io::stdin();
    let mut answers = Answers::new(stdin.lock());
    toolkit.dump(path, &mut answers)
}

/// One run of the dump or recover mode.
struct TxnLogToolkit {
    /// The log file as named on the command line.
    name: String,
    recovery: Option<RecoveryFile>,
    verbose: bool,
    force: bool,
}

impl TxnLogToolkit {
    fn dump<R: BufRead>(&mut self, path: &Path, answers: &mut Answers<R>) -> Result<(), Failure> {
        let name = self.name.clone();
        let f = File::open(path).map_err(|e| fail(UNEXPECTED_ERROR, format!("{name}: {e}")))?;
        // Lengths in a log may reach twice jute.maxbuffer, as the server's
        // own reader allows.
        let mut ia = InputArchive::with_max_buffer(BufReader::new(f), 2 * 0xfffff);
        let header: FileHeader = ia
            .read_record()
            .map_err(|e| fail(UNEXPECTED_ERROR, format!("{name}: file header: {e}")))?;
        if header.magic != TXNLOG_MAGIC {
            let file_name = path
                .file_name()
                .map_or(name.clone(), |n| n.to_string_lossy().into_owned());
            return Err(fail(
                INVALID_INVOCATION,
                format!("Invalid magic number for {file_name}"),
            ));
        }
        say(&format!(
            "ZooKeeper Transactional Log File with dbid {} txnlog format version {}",
            header.dbid, header.version
        ));
        let io_fail =
            |what: &str, e: std::io::Error| fail(UNEXPECTED_ERROR, format!("{what}: {e}"));
        if let Some(rec) = &mut self.recovery {
            rec.write_header(&header)
                .map_err(|e| io_fail(&rec.path.display().to_string(), e))?;
        }
        let mut count = 0u64;
        let mut fixed = 0u64;
        loop {
            let at = ia.position();
            let read = ia.read_long().and_then(|crc| Ok((crc, ia.read_buffer()?)));
            let (mut crc, bytes) = match read {
                Ok(entry) => entry,
                // A log cut short inside an entry ends there, as in 3.8.
                Err(e) if matches!(e.kind, JuteErrorKind::Eof) => break,
                Err(e) => {
                    return Err(fail(
                        UNEXPECTED_ERROR,
                        format!("{name}: entry at offset {at}: {e}"),
                    ))
                }
            };
            if bytes.is_empty() {
                // Preallocated zeros: the end of the log.
                break;
            }
            let mut adler = adler2::Adler32::new();
            adler.write_slice(&bytes);
            let computed = i64::from(adler.checksum());
            if crc != computed {
                eprintln!(
                    "{name}: CRC error in the entry at offset {at}: stored 0x{crc:x}, computed 0x{computed:x}"
                );
                match (&self.recovery, self.force) {
                    (Some(_), false) => {
                        print_txn(&bytes, "CRC ERROR", &name, at)?;
                        if answers.ask_for_fix()? {
                            crc = computed;
                            fixed += 1;
                        }
                    }
                    (Some(_), true) => {
                        crc = computed;
                        print_txn(&bytes, "CRC FIXED", &name, at)?;
                        fixed += 1;
                    }
                    (None, _) => {
                        print_txn(&bytes, "CRC ERROR", &name, at)?;
                    }
                }
            }
            if (self.recovery.is_none() || self.verbose) && !print_txn(&bytes, "", &name, at)? {
                return Ok(());
            }
            match ia.read_byte() {
                Ok(b'B') => {}
                Ok(_) => {
                    eprintln!("{name}: the entry at offset {at} has no end-of-record byte");
                    return Err(fail(UNEXPECTED_ERROR, "Last transaction was partial."));
                }
                Err(e) => {
                    return Err(fail(
                        UNEXPECTED_ERROR,
                        format!("{name}: entry at offset {at}: end-of-record byte: {e}"),
                    ))
                }
            }
            if let Some(rec) = &mut self.recovery {
                rec.write_entry(crc, &bytes)
                    .map_err(|e| io_fail(&rec.path.display().to_string(), e))?;
            }
            count += 1;
        }
        say(&format!("EOF reached after {count} txns."));
        if let Some(rec) = self.recovery.take() {
            let fixed_path = rec.path.clone();
            rec.finish()
                .map_err(|e| io_fail(&fixed_path.display().to_string(), e))?;
            say(&format!(
                "Recovery file {} has been written with {fixed} fixed CRC error(s)",
                fixed_path.display()
            ));
        }
        Ok(())
    }
}

/// Prints one line to stdout; false once stdout is closed (`| head`),
/// which ends a dump quietly.
fn say(line: &str) -> bool {
    writeln!(std::io::stdout().lock(), "{line}").is_ok()
}

/// `printTxn`: the entry decoded, behind `PREFIX - ` if there is one. An
/// entry that does not decode stops the tool, as the toolkit's exception
/// does.
fn print_txn(bytes: &[u8], prefix: &str, name: &str, at: u64) -> Result<bool, Failure> {
    let entry = TxnEntry::from_bytes(bytes).map_err(|e| {
        fail(
            UNEXPECTED_ERROR,
            format!("{name}: entry at offset {at}: {e}"),
        )
    })?;
    let line = format_entry(&entry);
    Ok(if prefix.trim().is_empty() {
        say(&line)
    } else {
        say(&format!("{prefix} - {line}"))
    })
}

/// The copy that recovery writes, laid out byte for byte as the toolkit
/// lays it out: the header, then each entry, with the file grown by one
/// zero byte at the end of each preallocation block before the entry that
/// comes within 4 KB of the current end (`FilePadding`).
struct RecoveryFile {
    out: OutputArchive<BufWriter<File>>,
    path: PathBuf,
    /// The size the padding has grown the file to.
    padded_size: u64,
    prealloc: u64,
}

impl RecoveryFile {
    fn new(file: File, path: PathBuf, prealloc: u64) -> Self {
        RecoveryFile {
            out: OutputArchive::new(BufWriter::new(file)),
            path,
            padded_size: 0,
            prealloc,
        }
    }

    fn write_header(&mut self, header: &FileHeader) -> std::io::Result<()> {
        self.out.write_record(header)?;
        self.padded_size = self.out.position();
        Ok(())
    }

    fn write_entry(&mut self, crc: i64, bytes: &[u8]) -> std::io::Result<()> {
        let position = self.out.position();
        let size = padded_file_size(position, self.padded_size, self.prealloc);
        if size != self.padded_size {
            // A positional write past everything written so far: the
            // buffered entries land before it, whenever they are flushed.
            self.out.get_ref().get_ref().write_all_at(&[0], size - 1)?;
            self.padded_size = size;
        }
        self.out.write_long(crc)?;
        self.out.write_buffer(bytes)?;
        self.out.write_byte(b'B')
    }

    fn finish(self) -> std::io::Result<()> {
        let mut out = self.out.into_inner();
        out.flush()?;
        out.get_ref().sync_all()
    }
}

/// The answers to `Would you like to fix it`, one whitespace-separated
/// word at a time (as `Scanner.next` reads them).
struct Answers<R> {
    input: R,
    words: VecDeque<String>,
}

impl<R: BufRead> Answers<R> {
    fn new(input: R) -> Self {
        Answers {
            input,
            words: VecDeque::new(),
        }
    }

    fn next_word(&mut self) -> Option<String> {
        while self.words.is_empty() {
            let mut line = String::new();
            match self.input.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => self
                    .words
                    .extend(line.split_whitespace().map(str::to_string)),
            }
        }
        self.words.pop_front()
    }

    /// Yes or No by the first letter in any case; Abort ends the recovery
    /// (status 0, as in 3.8); anything else asks again.
    fn ask_for_fix(&mut self) -> Result<bool, Failure> {
        loop {
            print!("Would you like to fix it (Yes/No/Abort) ? ");
            let _ = std::io::stdout().flush();
            let word = self.next_word().ok_or_else(|| {
                fail(
                    UNEXPECTED_ERROR,
                    "no answer on standard input (use -y to fix every CRC error without asking)",
                )
            })?;
            match word.chars().next().map(|c| c.to_ascii_uppercase()) {
                Some('Y') => return Ok(true),
                Some('N') => return Ok(false),
                Some('A') => return Err(fail(EXECUTION_FINISHED, "Recovery aborted.")),
                _ => {}
            }
        }
    }
}

/// One line as `TxnLogToolkit.printTxn` formats it.
fn format_entry(entry: &TxnEntry) -> String {
    let h = &entry.header;
    let line = format!(
        "{} session 0x{:x} cxid 0x{:x} zxid 0x{:x} {} {}",
        java_dates::short_long(h.time),
        h.client_id,
        h.cxid as i64,
        h.zxid,
        op_code::op2string(h.txn_type),
        txn_body(&entry.txn)
    );
    // Bodies printed through jute's toString end in a newline, which the
    // toolkit prints as the line end.
    line.strip_suffix('\n').map(str::to_string).unwrap_or(line)
}

/// The toolkit's body text: its own layout for creates, setData and multi,
/// jute's `toString` for the rest.
fn txn_body(txn: &Txn) -> String {
    match txn {
        Txn::Create(t) | Txn::Create2(t) => format!(
            "{},{},{},{},{}",
            t.path,
            utf8(&t.data),
            acl_list(&t.acl),
            t.ephemeral,
            t.parent_c_version
        ),
        Txn::SetData(t) | Txn::Reconfig(t) => {
            format!("{},{},{}", t.path, utf8(&t.data), t.version)
        }
        Txn::CreateContainer(t) => format!(
            "{},{},{},{}",
            t.path,
            utf8(&t.data),
            acl_list(&t.acl),
            t.parent_c_version
        ),
        Txn::CreateTtl(t) => format!(
            "{},{},{},{},{}",
            t.path,
            utf8(&t.data),
            acl_list(&t.acl),
            t.parent_c_version,
            t.ttl
        ),
        Txn::Multi(ops) => ops
            .iter()
            .map(|op| {
                format!(
                    "{}:{}",
                    op_code::op2string(op.op_code()),
                    String::from_utf8_lossy(&op.to_bytes())
                )
            })
            .collect::<Vec<_>>()
            .join(";"),
        Txn::Delete(t) | Txn::DeleteContainer(t) => format!("{}\n", jute_string(&t.path)),
        Txn::CreateSession(t) => format!("{}\n", t.time_out),
        Txn::CloseSession(None) => String::new(),
        Txn::CloseSession(Some(t)) => format!(
            "v{{{}}}\n",
            t.paths2_delete
                .iter()
                .map(|p| jute_string(p))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Txn::SetAcl(t) => format!(
            "{},v{{{}}},{}\n",
            jute_string(&t.path),
            t.acl
                .iter()
                .map(|a| format!("s{{{}}}", acl_fields(a)))
                .collect::<Vec<_>>()
                .join(","),
            t.version
        ),
        Txn::Check(t) => format!("{},{}\n", jute_string(&t.path), t.version),
        Txn::Error(t) => format!("{}\n", t.err),
    }
}

fn utf8(data: &Option<Vec<u8>>) -> String {
    data.as_deref()
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .unwrap_or_default()
}

/// `List<ACL>.toString()`: each ACL's jute `toString` (which ends in a
/// newline) joined by ", " inside brackets.
fn acl_list(acl: &[Acl]) -> String {
    let items: Vec<String> = acl.iter().map(|a| format!("{}\n", acl_fields(a))).collect();
    format!("[{}]", items.join(", "))
}

fn acl_fields(a: &Acl) -> String {
    format!(
        "{},s{{{},{}}}",
        a.perms,
        jute_string(&a.id.scheme),
        jute_string(&a.id.id)
    )
}

/// jute's `ToStringOutputArchive` string: a leading quote, and the
/// characters that would break its comma/brace layout percent-escaped.
fn jute_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("%00"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            ',' => out.push_str("%2C"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_persistence::records::{DeleteTxn, Id};

    #[test]
    fn answers_go_by_first_letter_and_ask_again_otherwise() {
        let mut answers = Answers::new(&b"maybe  yes\n\nNO\nabort"[..]);
        assert!(answers.ask_for_fix().unwrap());
        assert!(!answers.ask_for_fix().unwrap());
        let abort = answers.ask_for_fix().unwrap_err();
        assert_eq!(
            (abort.status, abort.message.as_str()),
            (0, "Recovery aborted.")
        );
        let eof = answers.ask_for_fix().unwrap_err();
        assert_eq!(eof.status, UNEXPECTED_ERROR, "{}", eof.message);
    }

    #[test]
    fn the_recovery_copy_grows_one_block_ahead_as_file_padding_does() {
        let dir = std::env::temp_dir().join(format!("zk-recovery-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.1.fixed");
        let header = FileHeader {
            magic: TXNLOG_MAGIC,
            version: 2,
            dbid: 0,
        };
        let mut rec = RecoveryFile::new(File::create(&path).unwrap(), path.clone(), 1024);
        rec.write_header(&header).unwrap();
        for _ in 0..10 {
            rec.write_entry(7, &[1; 487]).unwrap();
        }
        rec.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // Entries of 500 bytes from offset 16. Entry k starts at 16 + 500k;
        // the file grows by a block whenever that is within 4 KB of its
        // end: at entries 0-7 (to 8208) and 9 (4516 + 4096 >= 8208), not
        // at entry 8 (4016 + 4096 < 8208).
        let written = 16 + 10 * (8 + 4 + 487 + 1);
        assert_eq!(bytes.len(), 16 + 9 * 1024, "{} bytes", bytes.len());
        assert!(bytes[written..].iter().all(|&b| b == 0));
        assert_eq!(&bytes[16..24], &7i64.to_be_bytes());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bodies_follow_the_toolkit() {
        let acl = vec![Acl {
            perms: 31,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }];
        assert_eq!(acl_list(&acl), "[31,s{'world,'anyone}\n]");
        assert_eq!(
            txn_body(&Txn::Delete(DeleteTxn {
                path: "/a,b".into()
            })),
            "'/a%2Cb\n"
        );
    }
}
