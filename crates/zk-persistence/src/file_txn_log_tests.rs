use super::*;
use crate::test_dir::{Rng, TestDir};

/// OpCode.createSession; its txn is a single int (the timeout).
const CREATE_SESSION: i32 = -10;

fn hdr(zxid: i64) -> TxnHeader {
    TxnHeader {
        client_id: 0x1000 + zxid,
        cxid: zxid as i32,
        zxid,
        time: 1_700_000_000_000 + zxid,
        txn_type: CREATE_SESSION,
    }
}

fn body(zxid: i64) -> Vec<u8> {
    (30_000 + zxid as i32).to_be_bytes().to_vec()
}

fn digest(zxid: i64) -> TxnDigest {
    TxnDigest {
        version: 2,
        tree_digest: zxid * 7919,
    }
}

fn small_log(dir: &Path) -> FileTxnLog {
    let mut log = FileTxnLog::new(dir);
    log.set_prealloc_size(64 * 1024);
    log
}

fn write_txns(log: &mut FileTxnLog, zxids: impl IntoIterator<Item = i64>) {
    for z in zxids {
        log.append(&hdr(z), &body(z), Some(&digest(z))).unwrap();
    }
    log.commit().unwrap();
}

fn zxids(iter: TxnIterator) -> Vec<i64> {
    iter.map(|e| e.unwrap().zxid()).collect()
}

fn corrupt_info(e: &io::Error) -> &CorruptLog {
    e.get_ref()
        .and_then(|e| e.downcast_ref::<CorruptLog>())
        .unwrap_or_else(|| panic!("not a CorruptLog: {}", e))
}

/// Byte range of each entry (start, end) in a file written by `write_txns`.
fn entry_bounds(n: usize, start: u64) -> Vec<(u64, u64)> {
    let len = marshall_txn_entry(&hdr(1), &body(1), Some(&digest(1))).len() as u64;
    (0..n as u64)
        .map(|i| {
            let s = start + i * (len + 13);
            (s, s + len + 13)
        })
        .collect()
}

#[test]
fn entry_layout_is_byte_for_byte_zookeepers() {
    let dir = TestDir::new("layout");
    let mut log = FileTxnLog::new(dir.path());
    log.set_prealloc_size(0);
    log.append(&hdr(0x100000001), &body(1), Some(&digest(1)))
        .unwrap();
    log.commit().unwrap();
    let bytes = fs::read(dir.path().join("log.100000001")).unwrap();
    assert_eq!(&bytes[..4], b"ZKLG");
    assert_eq!(&bytes[4..8], &[0, 0, 0, 2]);
    assert_eq!(&bytes[8..16], &[0; 8]);
    let entry = marshall_txn_entry(&hdr(0x100000001), &body(1), Some(&digest(1)));
    assert_eq!(entry.len(), 32 + 4 + 12);
    let crc = adler2::adler32_slice(&entry) as u64;
    assert_eq!(&bytes[16..24], &crc.to_be_bytes());
    assert_eq!(&bytes[24..28], &(entry.len() as i32).to_be_bytes());
    assert_eq!(&bytes[28..28 + entry.len()], &entry[..]);
    assert_eq!(bytes[28 + entry.len()], b'B');
    assert_eq!(bytes.len(), 28 + entry.len() + 1);
}

#[test]
fn padding_follows_file_padding_rules() {
    // Cases from FilePadding's contract.
    assert_eq!(padded_file_size(16, 16, 100), 116);
    assert_eq!(padded_file_size(50, 116, 100), 216);
    assert_eq!(padded_file_size(10, 10_000, 100), 10_000);
    assert_eq!(padded_file_size(250, 116, 100), 300);
    assert_eq!(padded_file_size(10, 10, 0), 10);
    let dir = TestDir::new("pad");
    let mut log = FileTxnLog::new(dir.path());
    log.set_prealloc_size(8192);
    write_txns(&mut log, 1..=3);
    let len = fs::metadata(dir.path().join("log.1")).unwrap().len();
    assert_eq!(len, 16 + 8192, "first padding is header + one block");
    write_txns(&mut log, 4..=1000);
    let len = fs::metadata(dir.path().join("log.1")).unwrap().len();
    assert_eq!(len % 8192, 16);
    assert!(len >= log.current_log_size() + 4096);
    assert_eq!(zxids(log.read(1).unwrap()), (1..=1000).collect::<Vec<_>>());
}

#[test]
fn round_trip_across_rolled_files() {
    let dir = TestDir::new("roll");
    let mut log = small_log(dir.path());
    write_txns(&mut log, 1..=5);
    log.roll_log().unwrap();
    write_txns(&mut log, 6..=10);
    log.roll_log().unwrap();
    write_txns(&mut log, 11..=12);
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["log.1", "log.6", "log.b"]);

    let all: Vec<_> = log.read(0).unwrap().map(|e| e.unwrap()).collect();
    assert_eq!(all.len(), 12);
    assert_eq!(all[7].header, hdr(8));
    assert_eq!(
        all[7].body(),
        &[&body(8)[..], &digest(8).to_bytes()[..]].concat()[..]
    );
    assert_eq!(zxids(log.read(7).unwrap()), (7..=12).collect::<Vec<_>>());
    assert_eq!(zxids(log.read(6).unwrap()), (6..=12).collect::<Vec<_>>());
    assert_eq!(zxids(log.read(13).unwrap()), Vec::<i64>::new());
    // Without fast-forward, reading starts at the file holding the zxid.
    assert_eq!(
        zxids(log.read_from(8, false).unwrap()),
        (6..=12).collect::<Vec<_>>()
    );
    assert_eq!(log.last_logged_zxid(), 12);
    assert_eq!(log.db_id().unwrap(), 0);
}

#[test]
fn log_files_for_a_snapshot_zxid() {
    let files: Vec<PathBuf> = ["log.1", "log.6", "log.b", "snapshot.5", "log.x"]
        .iter()
        .map(PathBuf::from)
        .collect();
    let names = |v: Vec<PathBuf>| -> Vec<String> {
        v.iter().map(|p| p.to_str().unwrap().to_string()).collect()
    };
    assert_eq!(
        names(get_log_files(files.clone(), 0)),
        ["log.1", "log.6", "log.b"]
    );
    assert_eq!(
        names(get_log_files(files.clone(), 5)),
        ["log.1", "log.6", "log.b"]
    );
    assert_eq!(names(get_log_files(files.clone(), 6)), ["log.6", "log.b"]);
    assert_eq!(names(get_log_files(files.clone(), 10)), ["log.6", "log.b"]);
    assert_eq!(names(get_log_files(files, 0x20)), ["log.b"]);
}

#[test]
fn empty_directory_has_no_txns() {
    let dir = TestDir::new("empty");
    let log = FileTxnLog::new(dir.path());
    assert_eq!(log.last_logged_zxid(), -1);
    assert_eq!(zxids(log.read(0).unwrap()), Vec::<i64>::new());
    assert!(log.db_id().is_err());
    let missing = FileTxnLog::new(dir.path().join("nope"));
    assert_eq!(missing.last_logged_zxid(), -1);
}

#[test]
fn append_entry_logs_proposal_bytes_verbatim() {
    let dir = TestDir::new("raw");
    let mut log = small_log(dir.path());
    let entry = marshall_txn_entry(&hdr(3), &body(3), None);
    log.append_entry(&entry).unwrap();
    log.commit().unwrap();
    let got: Vec<_> = log.read(0).unwrap().map(|e| e.unwrap()).collect();
    assert_eq!(got[0].bytes, entry);
    assert!(log.append_entry(&[1, 2, 3]).is_err());
}

#[test]
fn force_sync_off_and_size_limit_roll() {
    let dir = TestDir::new("limit");
    let mut log = small_log(dir.path());
    log.set_force_sync(false);
    assert!(!log.is_force_sync());
    log.set_size_limit(Some(180));
    write_txns(&mut log, 1..=2); // 16 + 2 * 61 bytes: under the limit
    assert!(log.current_log_file().is_some());
    write_txns(&mut log, 3..=3); // now over: the commit rolls
    assert!(log.current_log_file().is_none());
    write_txns(&mut log, 4..=4);
    assert!(dir.path().join("log.4").exists());
    assert_eq!(log.total_log_size(), 16 + 3 * 61 + 16 + 61);
    assert_eq!(zxids(log.read(0).unwrap()), vec![1, 2, 3, 4]);
}

#[test]
fn truncate_cuts_the_holding_file_and_deletes_later_ones() {
    let dir = TestDir::new("trunc");
    let mut log = small_log(dir.path());
    write_txns(&mut log, 1..=5);
    log.roll_log().unwrap();
    write_txns(&mut log, 6..=10);
    log.roll_log().unwrap();
    write_txns(&mut log, 11..=12);

    log.truncate(7).unwrap();
    assert!(!dir.path().join("log.b").exists());
    let cut = fs::metadata(dir.path().join("log.6")).unwrap().len();
    assert_eq!(cut, entry_bounds(2, 16)[1].1);
    assert_eq!(zxids(log.read(0).unwrap()), (1..=7).collect::<Vec<_>>());
    assert_eq!(log.last_logged_zxid(), 7);

    // Appending after a truncate starts a fresh file.
    write_txns(&mut log, 8..=9);
    assert!(dir.path().join("log.8").exists());
    assert_eq!(zxids(log.read(0).unwrap()), (1..=9).collect::<Vec<_>>());

    // Truncating at or past the end changes nothing; before the first
    // file removes every file.
    log.truncate(100).unwrap();
    assert_eq!(zxids(log.read(0).unwrap()), (1..=9).collect::<Vec<_>>());
    log.truncate(0).unwrap();
    assert_eq!(zxids(log.read(0).unwrap()), Vec::<i64>::new());
    assert!(log.truncate(0).is_err(), "no files left to truncate");
}

#[test]
fn zero_filled_tail_ends_the_log() {
    let dir = TestDir::new("zeros");
    let mut log = FileTxnLog::new(dir.path()); // 64 MB preallocation
    write_txns(&mut log, 1..=3);
    let path = dir.path().join("log.1");
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        16 + DEFAULT_PREALLOC_SIZE
    );
    drop(log);
    let log = FileTxnLog::new(dir.path());
    assert_eq!(zxids(log.read(0).unwrap()), vec![1, 2, 3]);
    assert_eq!(log.last_logged_zxid(), 3);
}

#[test]
fn a_log_cut_anywhere_in_its_last_entries_yields_the_valid_prefix() {
    let dir = TestDir::new("cut");
    let mut log = small_log(dir.path());
    write_txns(&mut log, 1..=4);
    drop(log);
    let path = dir.path().join("log.1");
    let original = fs::read(&path).unwrap();
    let bounds = entry_bounds(4, 16);
    let end = bounds[3].1 as usize;
    for cut in 0..=end {
        let expect: Vec<i64> = (1..=4)
            .filter(|z| bounds[*z as usize - 1].1 as usize <= cut)
            .collect();
        // Cut off at EOF ...
        fs::write(&path, &original[..cut]).unwrap();
        let log = FileTxnLog::new(dir.path());
        assert_eq!(zxids(log.read(0).unwrap()), expect, "EOF at {}", cut);
        // With no txn left, the file name is all we know.
        assert_eq!(log.last_logged_zxid(), expect.last().copied().unwrap_or(1));
        // ... and cut off by zeros inside the preallocated space (a header
        // is never torn inside its magic number: it is one small write).
        if cut == 0 || cut >= 4 {
            let mut zeroed = original.clone();
            zeroed[cut..].iter_mut().for_each(|b| *b = 0);
            fs::write(&path, &zeroed).unwrap();
            assert_eq!(zxids(log.read(0).unwrap()), expect, "zeros from {}", cut);
        }
    }
}

#[test]
fn a_torn_file_is_followed_by_the_next_file() {
    let dir = TestDir::new("tornnext");
    let mut log = small_log(dir.path());
    write_txns(&mut log, 1..=3);
    log.roll_log().unwrap();
    write_txns(&mut log, 4..=5);
    drop(log);
    let path = dir.path().join("log.1");
    let bytes = fs::read(&path).unwrap();
    let cut = entry_bounds(3, 16)[2].0 as usize + 20;
    fs::write(&path, &bytes[..cut]).unwrap();
    let log = FileTxnLog::new(dir.path());
    assert_eq!(zxids(log.read(0).unwrap()), vec![1, 2, 4, 5]);
}

#[test]
fn a_flipped_byte_before_the_tail_names_file_and_offset() {
    let dir = TestDir::new("flip");
    let mut log = small_log(dir.path());
    write_txns(&mut log, 1..=6);
    drop(log);
    let path = dir.path().join("log.1");
    let bounds = entry_bounds(6, 16);
    let original = fs::read(&path).unwrap();
    let mut bytes = original.clone();
    // A byte inside the txn header of the third entry.
    bytes[bounds[2].0 as usize + 12 + 5] ^= 0x40;
    fs::write(&path, &bytes).unwrap();
    let log = FileTxnLog::new(dir.path());
    let mut iter = log.read(0).unwrap();
    assert_eq!(iter.next().unwrap().unwrap().zxid(), 1);
    assert_eq!(iter.next().unwrap().unwrap().zxid(), 2);
    let err = iter.next().unwrap().unwrap_err();
    let info = corrupt_info(&err);
    assert_eq!(info.file, path);
    assert_eq!(info.offset, bounds[2].0);
    assert!(info.reason.contains("CRC"), "{}", info.reason);
    let msg = err.to_string();
    assert!(
        msg.contains("log.1") && msg.contains(&bounds[2].0.to_string()),
        "{}",
        msg
    );
    assert!(iter.next().is_none(), "nothing after an error");

    // A length no writer produces is damage too.
    let mut bytes = original.clone();
    let at = bounds[1].0 as usize + 8;
    bytes[at..at + 4].copy_from_slice(&(-7i32).to_be_bytes());
    fs::write(&path, &bytes).unwrap();
    let err = log.read(0).unwrap().find_map(|e| e.err()).unwrap();
    assert_eq!(corrupt_info(&err).offset, bounds[1].0);

    // And a bad magic number.
    let mut bytes = original;
    bytes[0] = b'X';
    fs::write(&path, &bytes).unwrap();
    let err = log.read(0).unwrap().find_map(|e| e.err()).unwrap();
    assert_eq!(corrupt_info(&err).offset, 0);
    assert!(err.to_string().contains("magic"));
}

#[test]
fn random_bytes_never_panic_the_reader() {
    let dir = TestDir::new("fuzz");
    let mut log = small_log(dir.path());
    write_txns(&mut log, 1..=8);
    drop(log);
    let path = dir.path().join("log.1");
    let original = fs::read(&path).unwrap();
    let log = FileTxnLog::new(dir.path());
    let mut rng = Rng::new(0x5eed);
    for round in 0..400 {
        let noise_len = rng.below(600) as usize;
        let bytes = match round % 4 {
            // Pure noise, with and without a valid header.
            0 => rng.bytes(noise_len),
            1 => [&original[..16], &rng.bytes(noise_len)[..]].concat(),
            // A real log with a few bytes overwritten.
            _ => {
                let mut b = original.clone();
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(b.len() as u64) as usize;
                    b[i] = rng.next_u64() as u8;
                }
                b
            }
        };
        fs::write(&path, &bytes).unwrap();
        let mut n = 0;
        for e in log.read(0).unwrap() {
            match e {
                Ok(_) => n += 1,
                Err(e) => {
                    assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{}", e);
                    break;
                }
            }
            assert!(n <= 8 + 600 / 13, "round {} yields too many txns", round);
        }
        let _ = log.last_logged_zxid();
    }
}

#[test]
fn decoded_txns_round_trip() {
    use crate::records::CreateSessionTxn;
    let dir = TestDir::new("decode");
    let mut log = small_log(dir.path());
    let txn = Txn::CreateSession(CreateSessionTxn { time_out: 4321 });
    log.append_txn(&hdr(1), &txn, Some(&digest(1))).unwrap();
    log.commit().unwrap();
    let entry = log.read(0).unwrap().next().unwrap().unwrap();
    let decoded = entry.decode().unwrap();
    assert_eq!(decoded.header, hdr(1));
    assert_eq!(decoded.txn, txn);
    assert_eq!(decoded.digest, Some(digest(1)));
}

#[test]
fn storage_size_leaves_out_the_file_read_first_as_3_8_does() {
    let dir = TestDir::new("storage-size");
    let mut log = small_log(dir.path());
    write_txns(&mut log, 1..=5);
    assert_eq!(log.read(1).unwrap().storage_size(), 0);
    log.roll_log().unwrap();
    write_txns(&mut log, 6..=9);
    let second = fs::metadata(dir.path().join("log.6")).unwrap().len();
    assert!(second > 0);
    // From zxid 3 the first file is log.1; from zxid 7 it is log.6.
    assert_eq!(log.read(3).unwrap().storage_size(), second);
    assert_eq!(log.read(7).unwrap().storage_size(), 0);
}
