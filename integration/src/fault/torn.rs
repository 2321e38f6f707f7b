//! A torn txn-log tail: what a crash in the middle of a write leaves. The
//! node must be down. Its newest `version-2/log.*` is cut at a random
//! offset inside its last records (3.8's format: a 16-byte file header,
//! then per record a checksum (8 bytes), a length (4), the txn and an
//! end-of-record byte 'B'; zeros of the preallocation after the last one).

use std::path::{Path, PathBuf};

use super::rng::Rng;

/// The newest txn log of a dataDir (highest zxid in its name).
pub fn newest_log(data_dir: &Path) -> Option<PathBuf> {
    let dir = data_dir.join("version-2");
    std::fs::read_dir(&dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let zxid = u64::from_str_radix(name.strip_prefix("log.")?, 16).ok()?;
            Some((zxid, e.path()))
        })
        .max_by_key(|(z, _)| *z)
        .map(|(_, p)| p)
}

/// The byte ranges of a log's complete records.
pub fn records(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 16;
    while at + 12 <= bytes.len() {
        let len = i32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap());
        let end = at + 12 + len.max(0) as usize + 1;
        if len <= 0 || end > bytes.len() || bytes[end - 1] != b'B' {
            break;
        }
        out.push((at, end));
        at = end;
    }
    out
}

/// Cuts the newest log of `data_dir` at a random offset within its last
/// one to three records; returns a description, or `None` when there is
/// no record to tear.
pub fn tear(data_dir: &Path, rng: &mut Rng) -> Result<Option<String>, String> {
    let Some(log) = newest_log(data_dir) else {
        return Ok(None);
    };
    let bytes = std::fs::read(&log).map_err(|e| format!("read {}: {e}", log.display()))?;
    let recs = records(&bytes);
    if recs.is_empty() {
        return Ok(None);
    }
    let k = rng.between(1, recs.len().min(3) as u64) as usize;
    let from = recs[recs.len() - k].0;
    let to = recs[recs.len() - 1].1;
    let cut = rng.between(from as u64, to as u64 - 1);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .map_err(|e| format!("open {}: {e}", log.display()))?;
    file.set_len(cut)
        .map_err(|e| format!("truncate {}: {e}", log.display()))?;
    Ok(Some(format!(
        "{} cut at byte {cut} of {} records ending at {to} (within the last {k})",
        log.display(),
        recs.len()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_stop_at_the_preallocated_zeros() {
        let mut log = vec![0u8; 16];
        for len in [3i32, 5] {
            log.extend_from_slice(&[0; 8]);
            log.extend_from_slice(&len.to_be_bytes());
            log.extend(std::iter::repeat_n(7, len as usize));
            log.push(b'B');
        }
        log.extend_from_slice(&[0; 100]);
        assert_eq!(records(&log), vec![(16, 32), (32, 50)]);
    }
}
