//! Prometheus metrics of the API (`GET /metrics`) and one structured log
//! line per request. Neither ever sees the bearer token.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::auth::TenantId;
use crate::db::Stats;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TableLabels {
    table: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    platform: String,
    outcome: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

pub struct Metrics {
    registry: Registry,
    requests: Family<RouteLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    clickhouse_seconds: HistogramFamily<TableLabels>,
    rows_read: Family<TableLabels, Counter>,
    unexpected_buckets: Counter,
    oauth_callbacks: Family<OutcomeLabels, Counter>,
    accounts_linked: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RouteLabels, Counter>::default();
        // 1 ms to ~16 s: dashboard queries sit at the low end, timeouts at the top.
        let latency: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.001, 2.0, 15)));
        let clickhouse_seconds: HistogramFamily<TableLabels> =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0005, 2.0, 16)));
        let rows_read = Family::<TableLabels, Counter>::default();
        let unexpected_buckets = Counter::default();
        let oauth_callbacks = Family::<OutcomeLabels, Counter>::default();
        let accounts_linked = Family::<OutcomeLabels, Counter>::default();
        let mut registry = Registry::with_prefix("adhouse_api");
        registry.register("http_requests", "HTTP requests by route pattern, method and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency", latency.clone());
        registry.register("clickhouse_query_seconds", "ClickHouse time per API query, by answering table", clickhouse_seconds.clone());
        registry.register("clickhouse_rows_read", "Rows ClickHouse read for API queries, by answering table", rows_read.clone());
        registry.register(
            "unexpected_buckets",
            "Query answers refused because ClickHouse returned a row outside the API's time buckets (a bug)",
            unexpected_buckets.clone(),
        );
        registry.register(
            "oauth_callbacks",
            "OAuth callbacks from ad platforms by outcome (granted, denied, bad_state, replayed, platform_error, internal)",
            oauth_callbacks.clone(),
        );
        registry.register(
            "account_links",
            "Ad accounts linked (linked) and unlinked (unlinked, purged), by platform",
            accounts_linked.clone(),
        );
        Self { registry, requests, latency, clickhouse_seconds, rows_read, unexpected_buckets, oauth_callbacks, accounts_linked }
    }
}

impl Metrics {
    /// ClickHouse's own figures for one API query answered from `table`.
    pub fn observe_clickhouse(&self, table: &str, stats: &Stats) {
        let labels = TableLabels { table: table.to_owned() };
        self.clickhouse_seconds.get_or_create(&labels).observe(stats.elapsed_ms / 1_000.0);
        self.rows_read.get_or_create(&labels).inc_by(stats.rows_read);
    }

    pub fn observe_unexpected_bucket(&self) {
        self.unexpected_buckets.inc();
    }

    pub fn observe_oauth_callback(&self, platform: &str, outcome: &str) {
        self.oauth_callbacks.get_or_create(&OutcomeLabels { platform: platform.to_owned(), outcome: outcome.to_owned() }).inc();
    }

    /// `outcome`: linked, unlinked or purged.
    pub fn observe_account_link(&self, platform: &str, outcome: &str, accounts: u64) {
        self.accounts_linked.get_or_create(&OutcomeLabels { platform: platform.to_owned(), outcome: outcome.to_owned() }).inc_by(accounts);
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// Middleware: counts, times and logs every request by its route pattern
/// (never the raw path of an unknown URL, which would explode label sets).
pub async fn observe(request: ServiceRequest, next: Next<impl MessageBody>) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let method = request.method().to_string();
    let path = request.path().to_owned();
    let response = next.call(request).await?;
    let elapsed = started.elapsed();
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16();
    let tenant = response.request().extensions().get::<TenantId>().map(|tenant| tenant.0.clone());
    if let Some(metrics) = metrics {
        let labels = RouteLabels { route: route.clone(), method: method.clone(), status };
        metrics.requests.get_or_create(&labels).inc();
        metrics.latency.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }
    tracing::info!(
        target: "adhouse_api::request",
        %method,
        %path,
        %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1_000.0,
        tenant = tenant.as_deref().unwrap_or(""),
        "request"
    );
    Ok(response)
}
