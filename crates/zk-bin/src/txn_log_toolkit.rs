//! `txnlog-dump`: the dump mode of ZooKeeper's `TxnLogToolkit`. Prints the
//! file header, then one line per txn (time, session, cxid, zxid, type,
//! body) in the toolkit's own format, until the end of the log: end of
//! file or the zero-filled preallocated tail.
//!
//! An entry whose Adler32 does not match is printed with a `CRC ERROR - `
//! prefix, as the toolkit does; a partial last entry or a record that
//! cannot be decoded stops the dump with an error naming the offset.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

use zk_persistence::jute::{InputArchive, JuteErrorKind};
use zk_persistence::records::{Acl, FileHeader};
use zk_persistence::txn::{Txn, TxnEntry};
use zk_persistence::txn_log::TXNLOG_MAGIC;
use zk_persistence::zoo_defs::op_code;

const USAGE: &str = "usage: zk-bin txnlog-dump TXN_LOG_FILE";

pub fn run(args: &[String]) -> Result<(), String> {
    let [file] = args else {
        return Err(USAGE.to_string());
    };
    let path = Path::new(file);
    let name = path.display();
    let f = File::open(path).map_err(|e| format!("{name}: {e}"))?;
    // Lengths in a log may reach twice jute.maxbuffer, as the server's own
    // reader allows.
    let mut ia = InputArchive::with_max_buffer(BufReader::new(f), 2 * 0xfffff);
    let header: FileHeader = ia
        .read_record()
        .map_err(|e| format!("{name}: file header: {e}"))?;
    if header.magic != TXNLOG_MAGIC {
        return Err(format!("Invalid magic number for {name}"));
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut say = |line: String| {
        // A closed pipe (`| head`) ends the dump quietly.
        writeln!(out, "{line}").is_ok()
    };
    say(format!(
        "ZooKeeper Transactional Log File with dbid {} txnlog format version {}",
        header.dbid, header.version
    ));
    let mut count = 0u64;
    loop {
        let at = ia.position();
        let read = ia.read_long().and_then(|crc| Ok((crc, ia.read_buffer()?)));
        let (crc, bytes) = match read {
            Ok(entry) => entry,
            Err(e) if matches!(e.kind, JuteErrorKind::Eof) => break,
            Err(e) => return Err(format!("{name}: entry at offset {at}: {e}")),
        };
        if bytes.is_empty() {
            // Preallocated zeros: the end of the log.
            break;
        }
        let mut adler = adler2::Adler32::new();
        adler.write_slice(&bytes);
        let entry = TxnEntry::from_bytes(&bytes)
            .map_err(|e| format!("{name}: entry at offset {at}: {e}"))?;
        if adler.checksum() as i64 != crc {
            say(format!("CRC ERROR - {}", format_entry(&entry)));
        }
        if !say(format_entry(&entry)) {
            return Ok(());
        }
        match ia.read_byte() {
            Ok(b'B') => {}
            _ => {
                return Err(format!(
                    "{name}: Last transaction was partial (entry at offset {at})."
                ))
            }
        }
        count += 1;
    }
    say(format!("EOF reached after {count} txns."));
    Ok(())
}

/// One line as `TxnLogToolkit.printTxn` formats it.
fn format_entry(entry: &TxnEntry) -> String {
    let h = &entry.header;
    let line = format!(
        "{} session 0x{:x} cxid 0x{:x} zxid 0x{:x} {} {}",
        short_long_date(h.time),
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

/// `DateFormat.getDateTimeInstance(SHORT, LONG)` in the en_US locale and
/// UTC: `11/23/26, 2:13:33 AM UTC`.
fn short_long_date(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    let (h24, min, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let h12 = if h24 % 12 == 0 { 12 } else { h24 % 12 };
    let ampm = if h24 < 12 { "AM" } else { "PM" };
    format!(
        "{m}/{d}/{:02}, {h12}:{min:02}:{s:02} {ampm} UTC",
        y.rem_euclid(100)
    )
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zk_persistence::records::{DeleteTxn, Id};

    #[test]
    fn dates_print_as_java_short_long_in_utc() {
        assert_eq!(short_long_date(0), "1/1/70, 12:00:00 AM UTC");
        assert_eq!(
            short_long_date(1_795_400_013_000),
            "11/23/26, 2:13:33 AM UTC"
        );
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
