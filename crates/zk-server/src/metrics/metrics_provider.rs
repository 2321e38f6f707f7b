//! `MetricsProvider`: the provider `metricsProvider.className` names,
//! started as 3.8's `MetricsProviderBootstrap.startMetricsProvider` does
//! before the server. 3.8 loads any class by name; a Rust server knows
//! three, and refuses the others, as 3.8 refuses a class it cannot load.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use log::info;

use super::prometheus_metrics_provider::{self, PrometheusConfig, PrometheusMetricsProvider};
use crate::start_error::StartError;

/// 3.8's default provider: metrics kept for `mntr`, none exported.
pub const DEFAULT_METRICS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider";
/// 3.8's provider that keeps nothing.
pub const NULL_METRICS_PROVIDER: &str = "org.apache.zookeeper.metrics.impl.NullMetricsProvider";

/// A started provider.
#[derive(Debug)]
pub enum MetricsProvider {
    /// Default or Null: nothing to serve.
    Default,
    /// The `/metrics` endpoint.
    Prometheus(PrometheusMetricsProvider),
}

impl MetricsProvider {
    /// Starts the provider `class_name` with its `metricsProvider.*`
    /// settings. An unknown class, a bad setting or an endpoint that
    /// cannot bind is a start failure whose message names the class; as
    /// in 3.8 only an `httpPort` that is not a number is a config error
    /// (Java's NumberFormatException reaches main as an
    /// IllegalArgumentException), the rest are unexpected errors.
    pub fn start(
        class_name: &str,
        configuration: &BTreeMap<String, String>,
    ) -> Result<MetricsProvider, StartError> {
        let cannot_boot = |why: String| format!("Cannot boot MetricsProvider {class_name}: {why}");
        match class_name {
            DEFAULT_METRICS_PROVIDER | NULL_METRICS_PROVIDER => Ok(MetricsProvider::Default),
            prometheus_metrics_provider::CLASS_NAME => {
                let config = PrometheusConfig::from_properties(configuration)
                    .map_err(|e| StartError::InvalidConfig(cannot_boot(e)))?;
                let provider = PrometheusMetricsProvider::start(&config).map_err(|e| match e {
                    StartError::Io(io) => {
                        StartError::Io(std::io::Error::new(io.kind(), cannot_boot(io.to_string())))
                    }
                    other => other,
                })?;
                info!("ServerMetrics initialized with provider {class_name}");
                Ok(MetricsProvider::Prometheus(provider))
            }
            // 3.8: a class it cannot load is an IOException out of
            // runFromConfig, so an unexpected error (exit 1), not a
            // config error.
            _ => Err(StartError::Io(std::io::Error::other(cannot_boot(format!(
                "unknown class; this server provides {DEFAULT_METRICS_PROVIDER}, \
                 {NULL_METRICS_PROVIDER} and {}",
                prometheus_metrics_provider::CLASS_NAME
            ))))),
        }
    }

    /// The endpoint's address, for the Prometheus provider.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            MetricsProvider::Default => None,
            MetricsProvider::Prometheus(p) => Some(p.local_addr()),
        }
    }

    /// Stops serving.
    pub fn stop(&mut self) {
        if let MetricsProvider::Prometheus(p) = self {
            p.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_class_is_refused_naming_it() {
        let e = MetricsProvider::start("com.example.Mine", &BTreeMap::new()).unwrap_err();
        assert!(matches!(e, StartError::Io(_)), "{e}");
        assert!(e.to_string().contains("com.example.Mine"), "{e}");
        assert!(matches!(
            MetricsProvider::start(NULL_METRICS_PROVIDER, &BTreeMap::new()).unwrap(),
            MetricsProvider::Default
        ));
    }

    #[test]
    fn prometheus_bind_failure_names_class_and_address() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let mut props = BTreeMap::new();
        props.insert("httpHost".to_string(), "127.0.0.1".to_string());
        props.insert("httpPort".to_string(), port.to_string());
        let e =
            MetricsProvider::start(prometheus_metrics_provider::CLASS_NAME, &props).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("PrometheusMetricsProvider"), "{text}");
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    }
}
