//! The daemon's Prometheus metrics: the process-wide recorder and the daemon's own series,
//! described in one place.
//!
//! | name | type | labels |
//! |---|---|---|
//! | `saslgate_config_reloads_total` | counter | `result` = `ok` \| `error` |
//! | `saslgate_daemon_requests_total` | counter | `route` (a route template), `status` (HTTP code) |
//! | `saslgate_daemon_request_duration_seconds` | histogram | `route` |
//! | `saslgate_daemon_authentications_total` | counter | `service`, `outcome` = `success` \| `failure`, `reason` |
//! | `saslgate_daemon_sessions` | gauge | — (open server SASL sessions) |
//! | `saslgate_daemon_ready` | gauge | — (1 once the readiness latch is released) |
//!
//! Label values are configured names, route templates or closed enums; never token claims.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// The metrics recorder is process-global by nature (the `metrics` facade has one global
/// recorder); this holds the handle that renders it.
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const DURATION_BUCKETS_SECS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Installs the Prometheus recorder once per process and returns its handle. If another
/// recorder was installed first (an embedding program), a private recorder is used and
/// `/metrics` shows only what is recorded through it (nothing).
pub(crate) fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = || {
                PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        Matcher::Suffix("_seconds".to_string()),
                        DURATION_BUCKETS_SECS,
                    )
                    .unwrap_or_else(|_| PrometheusBuilder::new())
            };
            let handle = match builder().install_recorder() {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, "a metrics recorder is already installed; /metrics will be empty");
                    builder().build_recorder().handle()
                }
            };
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "saslgate_config_reloads_total",
        "Configuration reloads (SIGHUP or POST /v1/admin/reload), by result."
    );
    describe_counter!(
        "saslgate_daemon_requests_total",
        "HTTP requests served by the daemon API, by route template and status code."
    );
    describe_histogram!(
        "saslgate_daemon_request_duration_seconds",
        Unit::Seconds,
        "Time to serve one daemon API request, by route template."
    );
    describe_counter!(
        "saslgate_daemon_authentications_total",
        "Completed server SASL exchanges, by service, outcome and rejection reason."
    );
    describe_gauge!("saslgate_daemon_sessions", "Open server SASL sessions.");
    describe_gauge!(
        "saslgate_daemon_ready",
        "1 once the readiness latch is released, else 0."
    );
    // Register the reload counters so that they render as 0 before the first reload.
    metrics::counter!("saslgate_config_reloads_total", "result" => "ok").increment(0);
    metrics::counter!("saslgate_config_reloads_total", "result" => "error").increment(0);
    metrics::gauge!("saslgate_daemon_ready").set(0.0);
}

/// Counts one reload with `ok` true for success.
pub(crate) fn reload(ok: bool) {
    let result = if ok { "ok" } else { "error" };
    metrics::counter!("saslgate_config_reloads_total", "result" => result).increment(1);
}

/// Records one served request.
pub(crate) fn request(route: &str, status: u16, duration: std::time::Duration) {
    metrics::counter!(
        "saslgate_daemon_requests_total",
        "route" => route.to_string(),
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!("saslgate_daemon_request_duration_seconds", "route" => route.to_string())
        .record(duration.as_secs_f64());
}

/// Records one completed SASL exchange; `reason` is `none` on success.
pub(crate) fn authentication(service: &str, success: bool, reason: &'static str) {
    let outcome = if success { "success" } else { "failure" };
    metrics::counter!(
        "saslgate_daemon_authentications_total",
        "service" => service.to_string(),
        "outcome" => outcome,
        "reason" => reason
    )
    .increment(1);
}

/// Sets the open-session gauge.
pub(crate) fn sessions(open: u64) {
    metrics::gauge!("saslgate_daemon_sessions").set(open as f64);
}

/// Sets the readiness gauge.
pub(crate) fn ready() {
    metrics::gauge!("saslgate_daemon_ready").set(1.0);
}
