//! `Summary` and `SummarySet`: 3.8's summaries as its Prometheus provider
//! builds them — a count, a sum and quantiles (0.5 for a BASIC summary;
//! 0.5, 0.9 and 0.99 for an ADVANCED one). A set is one summary per `key`
//! label value.
//!
//! 3.8's client library estimates quantiles over the last ten minutes
//! (CKMS over rotating age buckets). Here a summary keeps its most recent
//! observations in a bounded window ([`WINDOW_CAPACITY`] samples, none
//! older than [`MAX_AGE`]) and computes exact quantiles over it when
//! scraped: the same ten-minute horizon, bounded memory, and no more than
//! a lock and a push per observation.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus::proto::{LabelPair, Metric, MetricFamily, MetricType, Quantile};

/// Observations a summary keeps for its quantiles.
pub const WINDOW_CAPACITY: usize = 4096;
/// Age past which an observation no longer counts for the quantiles
/// (3.8: the client library's default `maxAgeSeconds`, 600).
pub const MAX_AGE: Duration = Duration::from_secs(600);

/// 3.8's `MetricsContext.DetailLevel`: which quantiles a summary exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailLevel {
    /// The median only.
    Basic,
    /// The median, the 90th and the 99th percentiles.
    Advanced,
}

impl DetailLevel {
    /// The quantiles exposed at this level.
    pub fn quantiles(self) -> &'static [f64] {
        match self {
            DetailLevel::Basic => &[0.5],
            DetailLevel::Advanced => &[0.5, 0.9, 0.99],
        }
    }
}

/// The label name of every set (3.8's `PrometheusMetricsProvider.LABEL`).
pub const KEY_LABEL: &str = "key";

#[derive(Debug, Default)]
struct Window {
    samples: VecDeque<(Instant, f64)>,
    count: u64,
    sum: f64,
}

impl Window {
    fn observe(&mut self, value: f64) {
        if self.samples.len() == WINDOW_CAPACITY {
            self.samples.pop_front();
        }
        self.samples.push_back((Instant::now(), value));
        self.count += 1;
        self.sum += value;
    }

    /// The summary as Prometheus sees it; NaN quantiles when nothing was
    /// observed within [`MAX_AGE`] (as 3.8's client reports them).
    fn metric(&mut self, level: DetailLevel, labels: Vec<LabelPair>) -> Metric {
        let now = Instant::now();
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > MAX_AGE)
        {
            self.samples.pop_front();
        }
        let mut sorted: Vec<f64> = self.samples.iter().map(|(_, v)| *v).collect();
        sorted.sort_by(f64::total_cmp);
        let quantiles = level
            .quantiles()
            .iter()
            .map(|&q| {
                let mut quantile = Quantile::default();
                quantile.set_quantile(q);
                quantile.set_value(nearest_rank(&sorted, q));
                quantile
            })
            .collect();
        let mut summary = prometheus::proto::Summary::default();
        summary.set_sample_count(self.count);
        summary.set_sample_sum(self.sum);
        summary.set_quantile(quantiles);
        let mut metric = Metric::from_label(labels);
        metric.set_summary(summary);
        metric
    }
}

/// The `q` quantile of sorted values by the nearest-rank method.
fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn family(name: &str, metrics: Vec<Metric>) -> MetricFamily {
    let mut mf = MetricFamily::default();
    mf.set_name(name.to_string());
    // 3.8 gives every metric its name as its help text.
    mf.set_help(name.to_string());
    mf.set_field_type(MetricType::SUMMARY);
    mf.set_metric(metrics);
    mf
}

fn key_label(key: &str) -> LabelPair {
    let mut label = LabelPair::default();
    label.set_name(KEY_LABEL.to_string());
    label.set_value(key.to_string());
    label
}

/// 3.8's `Summary`: one distribution (e.g. `fsynctime`, in ms).
#[derive(Debug)]
pub struct Summary {
    name: &'static str,
    level: DetailLevel,
    window: Mutex<Window>,
}

impl Summary {
    /// An empty summary named as 3.8 names it.
    pub fn new(name: &'static str, level: DetailLevel) -> Summary {
        Summary {
            name,
            level,
            window: Mutex::new(Window::default()),
        }
    }

    /// The metric's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Records one observation.
    pub fn add(&self, value: i64) {
        self.window.lock().unwrap().observe(value as f64);
    }

    /// How many observations were recorded since the start.
    pub fn count(&self) -> u64 {
        self.window.lock().unwrap().count
    }

    /// The family, always present (an unlabelled summary is exposed even
    /// before its first observation, as 3.8's is).
    pub fn collect(&self, out: &mut Vec<MetricFamily>) {
        let metric = self.window.lock().unwrap().metric(self.level, Vec::new());
        out.push(family(self.name, vec![metric]));
    }
}

/// 3.8's `SummarySet`: one summary per key (a namespace, a learner).
#[derive(Debug)]
pub struct SummarySet {
    name: &'static str,
    level: DetailLevel,
    windows: Mutex<BTreeMap<String, Window>>,
}

impl SummarySet {
    /// An empty set named as 3.8 names it.
    pub fn new(name: &'static str, level: DetailLevel) -> SummarySet {
        SummarySet {
            name,
            level,
            windows: Mutex::new(BTreeMap::new()),
        }
    }

    /// The metric's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Records one observation under `key`.
    pub fn add(&self, key: &str, value: i64) {
        let mut windows = self.windows.lock().unwrap();
        match windows.get_mut(key) {
            Some(w) => w.observe(value as f64),
            None => windows
                .entry(key.to_string())
                .or_default()
                .observe(value as f64),
        }
    }

    /// The family, when a key has been seen (the text format has no empty
    /// families; 3.8 writes only the family's header then).
    pub fn collect(&self, out: &mut Vec<MetricFamily>) {
        let mut windows = self.windows.lock().unwrap();
        if windows.is_empty() {
            return;
        }
        let level = self.level;
        let metrics = windows
            .iter_mut()
            .map(|(k, w)| w.metric(level, vec![key_label(k)]))
            .collect();
        out.push(family(self.name, metrics));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantiles(mf: &MetricFamily) -> Vec<(f64, f64)> {
        mf.get_metric()[0]
            .get_summary()
            .get_quantile()
            .iter()
            .map(|q| (q.quantile(), q.value()))
            .collect()
    }

    #[test]
    fn advanced_summary_has_three_quantiles_count_and_sum() {
        let s = Summary::new("readlatency", DetailLevel::Advanced);
        for v in 1..=100 {
            s.add(v);
        }
        let mut out = Vec::new();
        s.collect(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(
            quantiles(&out[0]),
            vec![(0.5, 50.0), (0.9, 90.0), (0.99, 99.0)]
        );
        let summary = out[0].get_metric()[0].get_summary();
        assert_eq!(summary.sample_count(), 100);
        assert_eq!(summary.sample_sum(), 5050.0);
    }

    #[test]
    fn basic_summary_has_the_median_only_and_nan_when_empty() {
        let s = Summary::new("fsynctime", DetailLevel::Basic);
        let mut out = Vec::new();
        s.collect(&mut out);
        let q = quantiles(&out[0]);
        assert_eq!(q.len(), 1);
        assert!(q[0].1.is_nan(), "empty summary's median: {:?}", q);
    }

    #[test]
    fn window_keeps_the_latest_observations_but_counts_all() {
        let s = Summary::new("fsynctime", DetailLevel::Basic);
        for _ in 0..WINDOW_CAPACITY {
            s.add(1000);
        }
        for _ in 0..WINDOW_CAPACITY {
            s.add(1);
        }
        let mut out = Vec::new();
        s.collect(&mut out);
        assert_eq!(quantiles(&out[0]), vec![(0.5, 1.0)]);
        assert_eq!(
            out[0].get_metric()[0].get_summary().sample_count(),
            2 * WINDOW_CAPACITY as u64
        );
    }

    #[test]
    fn summary_set_labels_each_key() {
        let s = SummarySet::new("ack_latency", DetailLevel::Advanced);
        let mut out = Vec::new();
        s.collect(&mut out);
        assert!(out.is_empty(), "no key yet, no family: {:?}", out);
        s.add("2", 5);
        s.add("3", 7);
        s.collect(&mut out);
        let keys: Vec<&str> = out[0]
            .get_metric()
            .iter()
            .map(|m| m.get_label()[0].value())
            .collect();
        assert_eq!(keys, ["2", "3"]);
        assert_eq!(out[0].get_metric()[0].get_label()[0].name(), "key");
    }
}
