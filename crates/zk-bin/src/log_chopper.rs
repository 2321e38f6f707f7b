//! `txnlog-dump -c -z ZXID`: ZooKeeper's `LogChopper`, as `TxnLogToolkit`
//! runs it. Copies a txn log's header and its entries up to and including
//! ZXID into `<file>.chopped<ZXID in decimal>` beside it, without the
//! preallocated tail, and says on stdout what it did: where it chopped,
//! gaps in the zxid sequence, or why it could not. The copy is written
//! even when the chop fails (then it holds what was read), and the tool
//! exits 0 either way, both as in 3.8, so a script must read the
//! `Chopping at` line to know it worked.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use zk_persistence::file_txn_log::TXNLOG_MAGIC;
use zk_persistence::jute::{InputArchive, JuteErrorKind, OutputArchive};
use zk_persistence::records::FileHeader;
use zk_persistence::txn::TxnEntry;

use crate::txn_log_toolkit::Failure;

/// Where the chopped copy of `log` goes.
pub fn chopped_path(log: &Path, zxid: i64) -> PathBuf {
    let name = log
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    log.with_file_name(format!("{name}.chopped{zxid}"))
}

/// The toolkit's chop mode: failures are printed, never returned.
pub fn chop_file(log: &Path, zxid: i64) -> Result<(), Failure> {
    let target = chopped_path(log, zxid);
    let name = log
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let opened = File::open(log).and_then(|i| Ok((i, File::create(&target)?)));
    let result = match opened {
        Ok((input, output)) => {
            let mut out = BufWriter::new(output);
            let chopped = chop(
                BufReader::new(input),
                &mut out,
                zxid,
                &mut std::io::stdout(),
            );
            let flushed = out.flush().map_err(|e| e.to_string());
            match (chopped, flushed) {
                (Ok(true), Ok(())) => Ok(()),
                (Ok(false), _) => Err(format!("Failed to chop {name}")),
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        Err(e) => Err(format!("{}: {e}", target.display())),
    };
    if let Err(e) = result {
        println!("Got exception: {e}");
    }
    Ok(())
}

/// Copies `input`'s header and entries up to `zxid` to `output`. True when
/// the log holds `zxid` and an entry after it; false (having said why)
/// when it ends first or lacks `zxid`; an error for a damaged entry.
/// What it says goes to `say` (stdout in the tool).
pub fn chop<R: Read, W: Write>(
    input: R,
    output: W,
    zxid: i64,
    say: &mut impl Write,
) -> Result<bool, String> {
    // A closed stdout must not stop the chop half way.
    macro_rules! out {
        ($($arg:tt)*) => {
            let _ = writeln!(say, $($arg)*);
        };
    }
    let mut ia = InputArchive::with_max_buffer(input, 2 * 0xfffff);
    let mut oa = OutputArchive::new(output);
    let header: FileHeader = ia.read_record().map_err(|e| e.to_string())?;
    if header.magic != TXNLOG_MAGIC {
        eprintln!("Invalid magic number in txn log file");
        return Ok(false);
    }
    out!(
        "ZooKeeper Transactional Log File with dbid {} txnlog format version {}",
        header.dbid,
        header.version
    );
    oa.write_record(&header).map_err(|e| e.to_string())?;
    let mut count = 0u64;
    let mut has_zxid = false;
    let mut previous: Option<i64> = None;
    loop {
        let read = ia.read_long().and_then(|crc| Ok((crc, ia.read_buffer()?)));
        let (crc, bytes) = match read {
            Ok(entry) => entry,
            Err(e) if matches!(e.kind, JuteErrorKind::Eof) => {
                out!("EOF reached after {count} txns.");
                return Ok(false);
            }
            Err(e) => return Err(e.to_string()),
        };
        if bytes.is_empty() {
            // Preallocated zeros: the end of the log.
            out!("EOF reached after {count} txns.");
            return Ok(false);
        }
        let mut adler = adler2::Adler32::new();
        adler.write_slice(&bytes);
        if crc != i64::from(adler.checksum()) {
            return Err(format!("CRC doesn't match {crc} vs {}", adler.checksum()));
        }
        let entry = TxnEntry::from_bytes(&bytes).map_err(|e| e.to_string())?;
        if !matches!(ia.read_byte(), Ok(b'B')) {
            out!("Last transaction was partial.");
            return Err("Last transaction was partial.".to_string());
        }
        let txn_zxid = entry.header.zxid;
        has_zxid |= txn_zxid == zxid;
        if let Some(prev) = previous.filter(|&p| txn_zxid != p.wrapping_add(1)) {
            // Said for whoever investigates an inconsistency; a new
            // epoch starting at counter 1 is no gap.
            if txn_zxid >> 32 == prev >> 32 {
                out!("There is intra-epoch gap between {prev:x} and {txn_zxid:x}");
            } else if txn_zxid & 0xffff_ffff != 1 {
                out!("There is inter-epoch gap between {prev:x} and {txn_zxid:x}");
            }
        }
        previous = Some(txn_zxid);
        if txn_zxid > zxid {
            if count == 0 || !has_zxid {
                out!("This log does not contain zxid {zxid:x}");
                return Ok(false);
            }
            out!("Chopping at {zxid:x} new log has {count} records");
            return Ok(true);
        }
        let written = oa
            .write_long(crc)
            .and_then(|()| oa.write_buffer(&bytes))
            .and_then(|()| oa.write_byte(b'B'));
        written.map_err(|e| e.to_string())?;
        count += 1;
    }
}

/// Java's `Long.decode`: an optional sign, then `0x`/`0X`/`#` for hex, a
/// leading `0` for octal, or decimal; `None` for anything else or a value
/// outside a long.
pub fn decode_long(s: &str) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) =
        if let Some(h) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
            (16, h)
        } else if let Some(h) = rest.strip_prefix('#') {
            (16, h)
        } else if rest.len() > 1 && rest.starts_with('0') {
            (8, &rest[1..])
        } else {
            (10, rest)
        };
    if digits.is_empty() || digits.starts_with(['-', '+']) {
        return None;
    }
    // Parsed with the sign attached so that i64::MIN fits.
    let signed = if negative {
        format!("-{digits}")
    } else {
        digits.to_string()
    };
    i64::from_str_radix(&signed, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_persistence::records::{CreateSessionTxn, TxnHeader};
    use zk_persistence::txn::Txn;
    use zk_persistence::zoo_defs::op_code;

    /// A log of createSession txns at `zxids`; returns it and the offset
    /// where each entry ends.
    fn log(zxids: &[i64]) -> (Vec<u8>, Vec<usize>) {
        let mut oa = OutputArchive::new(Vec::new());
        let header = FileHeader {
            magic: TXNLOG_MAGIC,
            version: 2,
            dbid: 0,
        };
        oa.write_record(&header).unwrap();
        let mut ends = Vec::new();
        for &zxid in zxids {
            let entry = TxnEntry {
                header: TxnHeader {
                    client_id: 7,
                    cxid: 0,
                    zxid,
                    time: 0,
                    txn_type: op_code::CREATE_SESSION,
                },
                txn: Txn::CreateSession(CreateSessionTxn { time_out: 4000 }),
                digest: None,
            }
            .to_bytes();
            let mut adler = adler2::Adler32::new();
            adler.write_slice(&entry);
            oa.write_long(i64::from(adler.checksum())).unwrap();
            oa.write_buffer(&entry).unwrap();
            oa.write_byte(b'B').unwrap();
            ends.push(oa.position() as usize);
        }
        // The preallocated tail.
        oa.write_raw(&[0; 64]).unwrap();
        (oa.into_inner(), ends)
    }

    fn run(input: &[u8], zxid: i64) -> (Result<bool, String>, Vec<u8>, String) {
        let (mut out, mut said) = (Vec::new(), Vec::new());
        let result = chop(input, &mut out, zxid, &mut said);
        (result, out, String::from_utf8(said).unwrap())
    }

    #[test]
    fn keeps_the_entries_up_to_the_zxid_and_names_the_gaps() {
        let zxids = [1, 2, 4, 0x1_0000_0001, 0x1_0000_0002, 0x2_0000_0005];
        let (bytes, ends) = log(&zxids);
        let (result, out, said) = run(&bytes, 0x1_0000_0002);
        assert_eq!(result, Ok(true));
        assert_eq!(out, bytes[..ends[4]], "header and five entries, no tail");
        assert_eq!(
            said,
            "ZooKeeper Transactional Log File with dbid 0 txnlog format version 2\n\
             There is intra-epoch gap between 2 and 4\n\
             There is inter-epoch gap between 100000002 and 200000005\n\
             Chopping at 100000002 new log has 5 records\n"
        );
    }

    #[test]
    fn says_why_it_cannot_chop() {
        let (bytes, _) = log(&[1, 2, 3]);
        let (result, _, said) = run(&bytes, 9);
        assert_eq!(result, Ok(false));
        assert!(said.ends_with("EOF reached after 3 txns.\n"), "{said}");
        let (result, _, said) = run(&bytes, 0);
        assert_eq!(result, Ok(false));
        assert!(
            said.ends_with("This log does not contain zxid 0\n"),
            "{said}"
        );
        let (bytes, ends) = log(&[1, 3, 4]);
        let (_, _, said) = run(&bytes, 2);
        assert!(
            said.ends_with("This log does not contain zxid 2\n"),
            "{said}"
        );
        let mut damaged = bytes.clone();
        damaged[ends[0] + 20] ^= 1;
        let (result, _, _) = run(&damaged, 3);
        assert!(result.unwrap_err().starts_with("CRC doesn't match "));
    }

    #[test]
    fn decodes_like_java_long_decode() {
        assert_eq!(decode_long("4294967301"), Some(0x1_0000_0005));
        assert_eq!(decode_long("0x100000005"), Some(0x1_0000_0005));
        assert_eq!(decode_long("#ff"), Some(255));
        assert_eq!(decode_long("010"), Some(8));
        assert_eq!(decode_long("-0x8000000000000000"), Some(i64::MIN));
        assert_eq!(decode_long("0"), Some(0));
        for bad in ["", "0x", "--1", "0x-1", "1e3", "0x10000000000000000", "09"] {
            assert_eq!(decode_long(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_chopped_copy_is_named_after_the_decimal_zxid() {
        assert_eq!(
            chopped_path(Path::new("/d/version-2/log.1"), 0x1_0000_0005),
            Path::new("/d/version-2/log.1.chopped4294967301")
        );
        assert_eq!(
            chopped_path(Path::new("log.1"), 3),
            Path::new("log.1.chopped3")
        );
    }
}
