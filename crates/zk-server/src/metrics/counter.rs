//! `Counter` and `CounterSet`: 3.8's monotonic counters. Exposed under
//! their own names (3.8's client library, simpleclient 0.9, appends no
//! `_total`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use prometheus::proto::{self, LabelPair, Metric, MetricFamily, MetricType};

use super::summary::KEY_LABEL;

fn family(name: &str, metrics: Vec<Metric>) -> MetricFamily {
    let mut mf = MetricFamily::default();
    mf.set_name(name.to_string());
    mf.set_help(name.to_string());
    mf.set_field_type(MetricType::COUNTER);
    mf.set_metric(metrics);
    mf
}

fn metric(labels: Vec<LabelPair>, value: u64) -> Metric {
    let mut counter = proto::Counter::default();
    counter.set_value(value as f64);
    let mut m = Metric::from_label(labels);
    m.set_counter(counter);
    m
}

/// 3.8's `Counter`.
#[derive(Debug)]
pub struct Counter {
    name: &'static str,
    value: AtomicU64,
}

impl Counter {
    /// A counter at zero.
    pub fn new(name: &'static str) -> Counter {
        Counter {
            name,
            value: AtomicU64::new(0),
        }
    }

    /// The metric's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Adds `delta`.
    pub fn add(&self, delta: u64) {
        self.value.fetch_add(delta, Ordering::Relaxed);
    }

    /// Adds one.
    pub fn inc(&self) {
        self.add(1);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.value.load(Ordering::Relaxed)
    }

    /// The family (always present).
    pub fn collect(&self, out: &mut Vec<MetricFamily>) {
        out.push(family(self.name, vec![metric(Vec::new(), self.get())]));
    }
}

/// 3.8's `CounterSet`: one counter per `key`.
#[derive(Debug)]
pub struct CounterSet {
    name: &'static str,
    values: Mutex<BTreeMap<String, u64>>,
}

impl CounterSet {
    /// An empty set.
    pub fn new(name: &'static str) -> CounterSet {
        CounterSet {
            name,
            values: Mutex::new(BTreeMap::new()),
        }
    }

    /// The metric's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Adds `delta` to the counter of `key`.
    pub fn add(&self, key: &str, delta: u64) {
        let mut values = self.values.lock().unwrap();
        match values.get_mut(key) {
            Some(v) => *v += delta,
            None => {
                values.insert(key.to_string(), delta);
            }
        }
    }

    /// The family, when a key has been seen.
    pub fn collect(&self, out: &mut Vec<MetricFamily>) {
        let values = self.values.lock().unwrap();
        if values.is_empty() {
            return;
        }
        let metrics = values
            .iter()
            .map(|(k, v)| {
                let mut label = LabelPair::default();
                label.set_name(KEY_LABEL.to_string());
                label.set_value(k.clone());
                metric(vec![label], *v)
            })
            .collect();
        out.push(family(self.name, metrics));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_and_set_count() {
        let c = Counter::new("commit_count");
        c.inc();
        c.add(2);
        assert_eq!(c.get(), 3);
        let s = CounterSet::new("quota_exceeded_error_per_namespace");
        s.add("/a", 1);
        s.add("/a", 1);
        let mut out = Vec::new();
        s.collect(&mut out);
        let m = &out[0].get_metric()[0];
        assert_eq!(m.get_counter().get_value(), 2.0);
        assert_eq!(m.get_label()[0].value(), "/a");
    }
}
