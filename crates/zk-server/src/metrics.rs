//! 3.8's `org.apache.zookeeper.metrics` package: the metric types
//! ([`counter`], [`summary`]), the gauge registry ([`metrics_context`]),
//! the providers ([`metrics_provider`], [`prometheus_metrics_provider`]).
//! The metrics themselves are [`crate::server_metrics::ServerMetrics`].

pub mod counter;
pub mod metrics_context;
pub mod metrics_provider;
pub mod prometheus_metrics_provider;
pub mod summary;
