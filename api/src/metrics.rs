//! Prometheus metrics, one registry per app (tests run many apps in one process).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use sqlx::PgPool;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    db_pool: IntGaugeVec,
    cache: IntCounterVec,
    redis_errors: IntCounterVec,
    rate_limits: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("forum".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route template and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route template and status",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route", "status"],
        )?;
        let db_pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by state"),
            &["state"],
        )?;
        let cache = IntCounterVec::new(
            Opts::new(
                "cache_requests_total",
                "Cache lookups by cache and result (hit, miss, error, bypass)",
            ),
            &["cache", "result"],
        )?;
        let redis_errors = IntCounterVec::new(
            Opts::new(
                "redis_errors_total",
                "Redis operations that failed and were served without Redis",
            ),
            &["op"],
        )?;
        let rate_limits = IntCounterVec::new(
            Opts::new(
                "rate_limit_decisions_total",
                "Rate-limit decisions by bucket and outcome",
            ),
            &["bucket", "outcome"],
        )?;
        registry.register(Box::new(rate_limits.clone()))?;
        registry.register(Box::new(cache.clone()))?;
        registry.register(Box::new(redis_errors.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(db_pool.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            db_pool,
            cache,
            redis_errors,
            rate_limits,
        })
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    pub fn cache(&self, cache: &str, result: &str) {
        self.cache.with_label_values(&[cache, result]).inc();
    }

    pub fn rate_limited(&self, bucket: &str, allowed: bool) {
        let outcome = if allowed { "allowed" } else { "limited" };
        self.rate_limits.with_label_values(&[bucket, outcome]).inc();
    }

    pub fn redis_error(&self, op: &str) {
        self.redis_errors.with_label_values(&[op]).inc();
    }

    /// The text exposition, with pool gauges read at scrape time.
    pub fn render(&self, db: &PgPool) -> String {
        let idle = i64::try_from(db.num_idle()).unwrap_or(i64::MAX);
        let size = i64::from(db.size());
        self.db_pool.with_label_values(&["idle"]).set(idle);
        self.db_pool
            .with_label_values(&["in_use"])
            .set((size - idle).max(0));
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }
}
