//! `StatsTrack`: the text a quota's `zookeeper_limits` and
//! `zookeeper_stats` znodes hold, as 3.8 reads and writes it:
//! `count=N,bytes=M`, then, when there are other keys (the hard limits),
//! `=;key=value` pairs sorted by key. The extra `=` is 3.8's: older
//! parsers stop at it and see only count and bytes.

use std::collections::BTreeMap;

const COUNT: &str = "count";
const BYTES: &str = "bytes";
const COUNT_HARD_LIMIT: &str = "countHardLimit";
const BYTE_HARD_LIMIT: &str = "byteHardLimit";

/// A quota's counts or limits; a key that is absent reads as -1 (no limit,
/// or not counted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsTrack {
    stats: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// Parses a znode's data. Pairs are split on runs of `,` and `;`, each
    /// at its first `=`, with what follows up to a further `=` as the value
    /// (so `bytes=10=` is 10); an empty value is -1. A value that is no
    /// number is left out with a warning (3.8 fails the whole parse with a
    /// NumberFormatException, which would stop its write path).
    pub fn parse(data: Option<&[u8]>) -> StatsTrack {
        let mut stats = BTreeMap::new();
        let text = String::from_utf8_lossy(data.unwrap_or_default());
        for pair in text.split([',', ';']).filter(|p| !p.is_empty()) {
            let mut kv = pair.split('=');
            let key = kv.next().unwrap_or_default();
            let value = kv.next().unwrap_or_default();
            let value = if value.is_empty() {
                Ok(-1)
            } else {
                value.parse::<i64>()
            };
            match value {
                Ok(v) => {
                    stats.insert(key.to_string(), v);
                }
                Err(e) => log::warn!("quota text {text:?}: {key}: {e}; ignoring it"),
            }
        }
        StatsTrack { stats }
    }

    fn get(&self, key: &str) -> i64 {
        self.stats.get(key).copied().unwrap_or(-1)
    }

    /// `count`: znodes (counted) or the soft count limit.
    pub fn count(&self) -> i64 {
        self.get(COUNT)
    }

    /// `bytes`: data bytes (counted) or the soft byte limit.
    pub fn bytes(&self) -> i64 {
        self.get(BYTES)
    }

    /// `countHardLimit`, -1 when unset.
    pub fn count_hard_limit(&self) -> i64 {
        self.get(COUNT_HARD_LIMIT)
    }

    /// `byteHardLimit`, -1 when unset.
    pub fn byte_hard_limit(&self) -> i64 {
        self.get(BYTE_HARD_LIMIT)
    }

    /// Sets `count`.
    pub fn set_count(&mut self, count: i64) {
        self.stats.insert(COUNT.to_string(), count);
    }

    /// Sets `bytes`.
    pub fn set_bytes(&mut self, bytes: i64) {
        self.stats.insert(BYTES.to_string(), bytes);
    }

    /// The text 3.8 writes for it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl std::fmt::Display for StatsTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{COUNT}={},{BYTES}={}", self.count(), self.bytes())?;
        let mut rest = self
            .stats
            .iter()
            .filter(|(k, _)| *k != COUNT && *k != BYTES)
            .peekable();
        if rest.peek().is_some() {
            f.write_str("=")?;
            for (k, v) in rest {
                write!(f, ";{k}={v}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_3_8s_text() {
        let t = StatsTrack::parse(Some(b"count=5,bytes=10"));
        assert_eq!((t.count(), t.bytes()), (5, 10));
        assert_eq!((t.count_hard_limit(), t.byte_hard_limit()), (-1, -1));
        assert_eq!(t.to_string(), "count=5,bytes=10");

        let t = StatsTrack::parse(Some(
            b"count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2",
        ));
        assert_eq!((t.count(), t.bytes(), t.count_hard_limit()), (-1, -1, 2));
        assert_eq!(
            t.to_string(),
            "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=2"
        );
    }

    #[test]
    fn empty_and_odd_text_reads_as_unset() {
        let t = StatsTrack::parse(None);
        assert_eq!((t.count(), t.bytes()), (-1, -1));
        assert_eq!(t.to_string(), "count=-1,bytes=-1");
        let t = StatsTrack::parse(Some(b"count=,bytes=x"));
        assert_eq!((t.count(), t.bytes()), (-1, -1));
        let mut t = StatsTrack::default();
        t.set_count(3);
        t.set_bytes(7);
        assert_eq!(t.to_bytes(), b"count=3,bytes=7");
    }
}
