//! `txnlog-dump`: the dump mode of ZooKeeper's `TxnLogToolkit`. Prints the
//! file header, then one line per txn (time, session, cxid, zxid, type,
//! body) in the toolkit's own format, until the end of the log: end of
//! file or the zero-filled preallocated tail.
//!
//! An entry whose Adler32 does not match is printed with a `CRC ERROR - `
//! prefix and then normally, as the toolkit does, and its offset is
//! reported on stderr; an entry that cannot be decoded or a missing
//! end-of-record byte stops the dump with an error naming the offset. A
//! log cut short inside an entry ends the dump as the end of the log, as
//! in the toolkit. Times print in UTC.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

use zk_persistence::file_txn_log::TXNLOG_MAGIC;
use zk_persistence::jute::{InputArchive, JuteErrorKind};
use zk_persistence::records::{Acl, FileHeader};
use zk_persistence::txn::{Txn, TxnEntry};
use zk_persistence::zoo_defs::op_code;

use crate::java_dates;

const USAGE: &str = "usage: zk-bin txnlog-dump [-d|--dump] TXN_LOG_FILE
       prints every txn of one log file (the toolkit's dump mode; its
       recover and chop modes are not provided). Times are in UTC.";

pub fn run(args: &[String]) -> Result<(), String> {
    // The toolkit's own flag for its (default) dump mode is accepted too.
    let args: Vec<&String> = args
        .iter()
        .filter(|a| !matches!(a.as_str(), "-d" | "--dump"))
        .collect();
    let [file] = args[..] else {
        return Err(USAGE.to_string());
    };
    if file.starts_with('-') {
        return Err(USAGE.to_string());
    }
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
            // stdout keeps the toolkit's layout; the offset, which the
            // toolkit leaves out, goes to stderr for whoever repairs it.
            eprintln!(
                "{name}: CRC error in the entry at offset {at}: stored 0x{crc:x}, computed 0x{:x}",
                adler.checksum()
            );
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
