//! `MetricsContext`: where 3.8's servers register their gauges
//! (`registerGauge` in `ZooKeeperServer.registerMetrics` and its quorum
//! subclasses), sampled when the endpoint is scraped.
//!
//! 3.8 registers one callback per gauge. Here a server registers one
//! *source* that answers all of its gauges at once, because they are read
//! together from one snapshot of the server's statistics (the snapshot
//! `mntr` prints); a later registration under the same owner replaces the
//! earlier one, as 3.8's does when a new role's server starts.

use std::sync::{Arc, Mutex};

use prometheus::proto::{self, Metric, MetricFamily, MetricType};

/// A server's gauges: (3.8's gauge name, value) pairs; and the counters
/// whose count lives in the server's own structures rather than in
/// [`crate::server_metrics::ServerMetrics`] (the data tree's digest
/// mismatches, which the persistence crate below this one counts).
pub type GaugeSource = Box<dyn Fn() -> Vec<Sample> + Send + Sync>;

/// One sampled value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// 3.8's metric name.
    pub name: &'static str,
    /// Gauge, or counter for a count kept elsewhere.
    pub kind: MetricType,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// A gauge's value.
    pub fn gauge(name: &'static str, value: f64) -> Sample {
        Sample {
            name,
            kind: MetricType::GAUGE,
            value,
        }
    }

    /// A counter's value.
    pub fn counter(name: &'static str, value: f64) -> Sample {
        Sample {
            name,
            kind: MetricType::COUNTER,
            value,
        }
    }
}

struct Registered {
    owner: String,
    /// Tells a server's own registration from a later server's.
    id: usize,
    source: Arc<GaugeSource>,
}

/// The gauges registered by the running servers.
#[derive(Default)]
pub struct MetricsContext {
    sources: Mutex<Vec<Registered>>,
}

impl std::fmt::Debug for MetricsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let owners: Vec<String> = self
            .sources
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.owner.clone())
            .collect();
        f.debug_struct("MetricsContext")
            .field("owners", &owners)
            .finish()
    }
}

impl MetricsContext {
    /// Registers `owner`'s gauges, replacing what `owner` registered before.
    pub fn register_gauge_source(&self, owner: &str, id: usize, source: GaugeSource) {
        let mut sources = self.sources.lock().unwrap();
        sources.retain(|r| r.owner != owner);
        sources.push(Registered {
            owner: owner.to_string(),
            id,
            source: Arc::new(source),
        });
    }

    /// Removes `owner`'s gauges if registration `id` is still the current
    /// one (a stopping server leaves its successor's alone).
    pub fn unregister_gauge_source(&self, owner: &str, id: usize) {
        self.sources
            .lock()
            .unwrap()
            .retain(|r| !(r.owner == owner && r.id == id));
    }

    /// One family per sampled value.
    pub fn collect(&self, out: &mut Vec<MetricFamily>) {
        // Sampled outside the lock: a source takes the server's own locks,
        // and a thread holding one of those may be registering.
        let sources: Vec<Arc<GaugeSource>> = self
            .sources
            .lock()
            .unwrap()
            .iter()
            .map(|r| Arc::clone(&r.source))
            .collect();
        for source in sources {
            for sample in source() {
                let mut metric = Metric::default();
                if sample.kind == MetricType::COUNTER {
                    let mut counter = proto::Counter::default();
                    counter.set_value(sample.value);
                    metric.set_counter(counter);
                } else {
                    let mut gauge = proto::Gauge::default();
                    gauge.set_value(sample.value);
                    metric.set_gauge(gauge);
                }
                let mut mf = MetricFamily::default();
                mf.set_name(sample.name.to_string());
                mf.set_help(sample.name.to_string());
                mf.set_field_type(sample.kind);
                mf.set_metric(vec![metric]);
                out.push(mf);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_registration_replaces_and_survives_the_earlier_unregistering() {
        let c = MetricsContext::default();
        c.register_gauge_source(
            "ZooKeeperServer",
            1,
            Box::new(|| vec![Sample::gauge("znode_count", 1.0)]),
        );
        c.register_gauge_source(
            "ZooKeeperServer",
            2,
            Box::new(|| vec![Sample::gauge("znode_count", 2.0)]),
        );
        c.unregister_gauge_source("ZooKeeperServer", 1);
        let mut out = Vec::new();
        c.collect(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].get_metric()[0].get_gauge().get_value(), 2.0);
        c.unregister_gauge_source("ZooKeeperServer", 2);
        out.clear();
        c.collect(&mut out);
        assert!(out.is_empty());
    }
}
