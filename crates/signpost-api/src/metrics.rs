//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4).
//!
//! Two kinds of metric live here:
//! - [`Instruments`]: counters and histograms the control plane updates as things happen (API
//!   requests, probe durations, snapshot builds). They are `prometheus-client` metrics; updating
//!   one is an atomic add, fine off the query path.
//! - Collectors, read at scrape time from what already exists: the DNS counters (each worker's own
//!   set, summed here; see [`signpost_dns::metrics`]) and the live snapshot (endpoint statuses,
//!   fail-open). The query path itself never touches a registry.
//!
//! Series exist for profiles of the snapshot in force: a deleted profile's series go away, and
//! come back where they left off if it is created again (its counter slots are kept by name).

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use signpost_dns::metrics::{QTYPE_LABELS, RCODE_LABELS};
use signpost_dns::{DnsCounters, Snapshot};
use signpost_health::{EndpointKey, ProbeObserver, ProbeResult};
use signpost_model::health::MonitorStatus;

use crate::routes::ApiState;
use crate::rum::Rum;

/// Every monitor status, in the order `signpost_endpoint_status` lists them.
const STATUSES: [MonitorStatus; 7] = [
    MonitorStatus::CheckingEndpoint,
    MonitorStatus::Online,
    MonitorStatus::Degraded,
    MonitorStatus::Disabled,
    MonitorStatus::Inactive,
    MonitorStatus::Stopped,
    MonitorStatus::Unmonitored,
];

/// Labels of `signpost_api_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route's pattern (`/api/v1/profiles/{name}`), not the path, so it stays bounded.
    route: String,
    method: String,
    status: u16,
}

/// Labels of `signpost_probe_duration_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabels {
    profile: String,
    endpoint: String,
    /// [`ProbeResult::class`].
    result: &'static str,
}

/// The metrics the control plane updates as things happen. Cheap to clone (handles).
#[derive(Debug, Clone)]
pub struct Instruments {
    requests: Family<RequestLabels, Counter>,
    probes: Family<ProbeLabels, Histogram>,
    compile: Histogram,
    publish: Histogram,
    config_revision: Gauge,
}

impl Default for Instruments {
    fn default() -> Self {
        let seconds = || {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        };
        Self {
            requests: Family::default(),
            probes: Family::new_with_constructor(|| {
                Histogram::new([
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
            }),
            compile: seconds(),
            publish: seconds(),
            config_revision: Gauge::default(),
        }
    }
}

impl Instruments {
    /// A snapshot was published: `compile` building the routing tables, `total` from the start
    /// of the compile to the swap.
    pub fn published(&self, compile: Duration, total: Duration) {
        self.compile.observe(compile.as_secs_f64());
        self.publish.observe(total.as_secs_f64());
    }

    /// The configuration in force is the store's revision `revision`.
    pub fn config_revision(&self, revision: u64) {
        self.config_revision
            .set(i64::try_from(revision).unwrap_or(i64::MAX));
    }

    /// The probe observer for the health monitor.
    pub fn probe_observer(&self) -> Arc<dyn ProbeObserver> {
        Arc::new(ProbeDurations(self.probes.clone()))
    }
}

/// Observes probe durations into `signpost_probe_duration_seconds`.
#[derive(Debug)]
struct ProbeDurations(Family<ProbeLabels, Histogram>);

impl ProbeObserver for ProbeDurations {
    fn probed(&self, (profile, endpoint): &EndpointKey, result: &ProbeResult) {
        self.0
            .get_or_create(&ProbeLabels {
                profile: profile.clone(),
                endpoint: endpoint.clone(),
                result: result.class(),
            })
            .observe(result.latency_ms as f64 / 1000.0);
    }
}

/// The registry a scrape encodes.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    counters: Option<Arc<DnsCounters>>,
}

impl Metrics {
    /// Metrics over `instruments`, the DNS server's `counters` (when it counts) and the snapshot
    /// in force.
    pub fn new(
        instruments: &Instruments,
        counters: Option<Arc<DnsCounters>>,
        snapshot: Arc<ArcSwap<Snapshot>>,
        rum: Option<Arc<Rum>>,
    ) -> Self {
        let mut registry = Registry::default();
        registry.register(
            "signpost_api_requests",
            "API requests answered, by route pattern, method and status",
            instruments.requests.clone(),
        );
        registry.register(
            "signpost_probe_duration_seconds",
            "Health probe durations, by profile, endpoint and result class",
            instruments.probes.clone(),
        );
        registry.register(
            "signpost_snapshot_compile_seconds",
            "Time to compile the routing tables of a snapshot",
            instruments.compile.clone(),
        );
        registry.register(
            "signpost_snapshot_publish_seconds",
            "Time from the start of a compile to the new snapshot answering queries",
            instruments.publish.clone(),
        );
        registry.register(
            "signpost_config_revision",
            "Store revision of the configuration in force",
            instruments.config_revision.clone(),
        );
        if let Some(rum) = rum {
            registry.register_collector(Box::new(RumCollector(rum)));
        }
        registry.register_collector(Box::new(SnapshotCollector {
            snapshot: snapshot.clone(),
        }));
        if let Some(counters) = &counters {
            registry.register_collector(Box::new(DnsCollector {
                counters: counters.clone(),
                snapshot,
            }));
        }
        Self {
            registry,
            requests: instruments.requests.clone(),
            counters,
        }
    }

    /// The DNS server's counters (Traffic View reads them), when it counts.
    pub fn counters(&self) -> Option<&Arc<DnsCounters>> {
        self.counters.as_ref()
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an encoder error would be a bug in a collector.
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

/// `GET /metrics`.
pub(crate) async fn scrape(State(s): State<ApiState>) -> Response {
    let Some(metrics) = s.metrics.clone() else {
        return (axum::http::StatusCode::NOT_FOUND, "metrics are off").into_response();
    };
    // Summing 10,000 profiles' counters takes milliseconds: off the runtime's threads.
    let text = tokio::task::spawn_blocking(move || metrics.encode())
        .await
        .unwrap_or_default();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// Middleware: counts each routed request by its route pattern, method and status.
pub(crate) async fn count_requests(
    State(s): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_string();
    let method = request.method().to_string();
    let response = next.run(request).await;
    count_request(&s, route, method, response.status().as_u16());
    response
}

/// Counts one API request under its route's pattern (also for ARM's routes, which are parsed
/// rather than routed: their pattern is the OpenAPI document's path).
pub(crate) fn count_request(s: &ApiState, route: String, method: String, status: u16) {
    if let Some(metrics) = &s.metrics {
        metrics
            .requests
            .get_or_create(&RequestLabels {
                route,
                method,
                status,
            })
            .inc();
    }
}

/// Real User Measurements reports by what became of them, and the networks measured.
#[derive(Debug)]
struct RumCollector(Arc<Rum>);

impl Collector for RumCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let (accepted, bad_key, bad_report, full) = self.0.counts();
        let mut family = encoder.encode_descriptor(
            "signpost_rum_reports",
            "Real User Measurements reports: accepted, refused for a wrong or missing key \
             (bad_key), refused as malformed (bad_report), refused while the store is full (full)",
            None,
            MetricType::Counter,
        )?;
        for (result, n) in [
            ("accepted", accepted),
            ("bad_key", bad_key),
            ("bad_report", bad_report),
            ("full", full),
        ] {
            ConstCounter::new(n).encode(family.encode_family(&[("result", result)])?)?;
        }
        ConstGauge::new(i64::try_from(self.0.measurements.len()).unwrap_or(i64::MAX)).encode(
            encoder.encode_descriptor(
                "signpost_rum_networks",
                "Client networks (/24, /48) with Real User Measurements kept",
                None,
                MetricType::Gauge,
            )?,
        )?;
        Ok(())
    }
}

/// Endpoint statuses, fail-open and the serial, from the snapshot in force.
#[derive(Debug)]
struct SnapshotCollector {
    snapshot: Arc<ArcSwap<Snapshot>>,
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let snapshot = self.snapshot.load();
        let profiles = snapshot.routing.profiles();
        let serial = ConstGauge::new(i64::from(snapshot.serial));
        serial.encode(encoder.encode_descriptor(
            "signpost_snapshot_serial",
            "Serial of the snapshot answering queries (also the zones' SOA serial)",
            None,
            MetricType::Gauge,
        )?)?;
        let mut family = encoder.encode_descriptor(
            "signpost_endpoint_status",
            "1 for the endpoint's current monitor status (as DNS answers see it), 0 for the others",
            None,
            MetricType::Gauge,
        )?;
        for p in profiles {
            for e in &p.endpoints {
                for status in STATUSES {
                    let labels = [
                        ("profile", p.name.as_str()),
                        ("endpoint", e.name.as_str()),
                        ("status", status.as_str()),
                    ];
                    ConstGauge::new(i64::from(e.status == status))
                        .encode(family.encode_family(&labels)?)?;
                }
            }
        }
        let mut family = encoder.encode_descriptor(
            "signpost_endpoint_override",
            "1 for each endpoint an operator override forces Online or Degraded (state), while it \
             is in effect",
            None,
            MetricType::Gauge,
        )?;
        for p in profiles {
            for e in &p.endpoints {
                // A Disabled endpoint is never served: its override has no effect.
                if let Some(o) = e
                    .forced
                    .as_ref()
                    .filter(|_| e.status != MonitorStatus::Disabled)
                {
                    let labels = [
                        ("profile", p.name.as_str()),
                        ("endpoint", e.name.as_str()),
                        ("state", o.state.as_str()),
                    ];
                    ConstGauge::new(1i64).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        let mut family = encoder.encode_descriptor(
            "signpost_profile_fail_open",
            "1 while every endpoint of the profile is down and it serves them all (fail-open)",
            None,
            MetricType::Gauge,
        )?;
        for p in profiles {
            ConstGauge::new(i64::from(p.fail_open))
                .encode(family.encode_family(&[("profile", p.name.as_str())])?)?;
        }
        Ok(())
    }
}

/// The DNS path's counters, summed over its workers.
#[derive(Debug)]
struct DnsCollector {
    counters: Arc<DnsCounters>,
    snapshot: Arc<ArcSwap<Snapshot>>,
}

impl Collector for DnsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let snapshot = self.snapshot.load();
        let profiles = snapshot.routing.profiles();
        let slots = |id: usize| snapshot.metric_slots(id as signpost_routing::ProfileId);
        let mut family = encoder.encode_descriptor(
            "signpost_dns_responses",
            "DNS responses, by profile (empty: the name is no profile), query type and RCODE; \
             rate limiting may then drop or truncate some (signpost_rrl_*)",
            None,
            MetricType::Counter,
        )?;
        // Profiles past the slot limit share slot 0 with names that are no profile: counted
        // there, not under their own names.
        let named = profiles
            .iter()
            .enumerate()
            .filter_map(|(id, p)| Some((p.name.as_str(), slots(id)?.profile)))
            .filter(|(_, slot)| *slot != 0);
        for (name, slot) in [("", 0)].into_iter().chain(named) {
            let sums = self.counters.responses(slot);
            for (q, row) in sums.iter().enumerate() {
                for (r, &n) in row.iter().enumerate() {
                    if n == 0 {
                        continue;
                    }
                    let labels = [
                        ("profile", name),
                        ("qtype", QTYPE_LABELS[q]),
                        ("rcode", RCODE_LABELS[r]),
                    ];
                    ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        let mut family = encoder.encode_descriptor(
            "signpost_dns_answers",
            "Answer records given for each endpoint (with nesting, under the child profile that \
             holds the endpoint)",
            None,
            MetricType::Counter,
        )?;
        for (id, p) in profiles.iter().enumerate() {
            let Some(slots) = slots(id) else { continue };
            for (e, &slot) in p.endpoints.iter().zip(&slots.endpoints) {
                if slot == 0 {
                    continue;
                }
                let n = self.counters.answers(slot);
                if n > 0 {
                    let labels = [("profile", p.name.as_str()), ("endpoint", e.name.as_str())];
                    ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        let (dropped, slipped) = self.counters.rrl();
        for (name, help, value) in [
            (
                "signpost_dns_truncated",
                "Responses sent with TC because they did not fit (rate limiting's slips apart)",
                self.counters.truncated(),
            ),
            (
                "signpost_rrl_dropped",
                "Responses response rate limiting dropped",
                dropped,
            ),
            (
                "signpost_rrl_slipped",
                "Responses response rate limiting sent truncated instead (slip)",
                slipped,
            ),
            (
                "signpost_dns_worker_restarts",
                "Times a UDP worker panicked and was restarted",
                self.counters.worker_restarts(),
            ),
        ] {
            ConstCounter::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Counter,
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruments_encode_in_the_text_format() {
        let instruments = Instruments::default();
        instruments.published(Duration::from_millis(2), Duration::from_millis(3));
        instruments.config_revision(42);
        instruments.probe_observer().probed(
            &("p".into(), "e".into()),
            &ProbeResult {
                outcome: Err(signpost_health::Failure::Timeout),
                latency_ms: 1500,
            },
        );
        let snapshot = Arc::new(ArcSwap::from_pointee(
            Snapshot::build(&[], signpost_routing::RoutingTable::default(), 7).unwrap(),
        ));
        let text = Metrics::new(&instruments, None, snapshot, None).encode();
        assert!(text.contains("signpost_config_revision 42\n"), "{text}");
        assert!(text.contains("signpost_snapshot_serial 7"), "{text}");
        assert!(
            text.contains(
                "signpost_probe_duration_seconds_bucket{profile=\"p\",endpoint=\"e\",result=\"timeout\",le=\"2.5\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("signpost_snapshot_publish_seconds_count 1"),
            "{text}"
        );
    }
}
