//! Prometheus metrics of the worker process, served as text on `jobs_metrics_addr`.

use std::time::Duration;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub struct Metrics {
    pub registry: Registry,
    jobs: IntCounterVec,
    duration: HistogramVec,
    pub queue_depth: GaugeVec,
    pub queue_state: GaugeVec,
    pub outbox_lag: prometheus::Gauge,
    pub summaries: IntCounterVec,
    pub provider_latency: HistogramVec,
    pub tokens: IntCounterVec,
    pub cost: prometheus::CounterVec,
    pub breaker_state: GaugeVec,
    pub fallbacks: prometheus::IntCounter,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Metrics> {
        let registry = Registry::new();
        let jobs = IntCounterVec::new(
            Opts::new(
                "forum_jobs_total",
                "Job attempts by queue and outcome (done, retried, dead).",
            ),
            &["queue", "outcome"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new("forum_job_duration_seconds", "Time one job attempt took.").buckets(
                vec![
                    0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
                ],
            ),
            &["queue"],
        )?;
        let queue_depth = GaugeVec::new(
            Opts::new(
                "forum_queue_depth",
                "Jobs waiting per queue (ready plus scheduled).",
            ),
            &["queue"],
        )?;
        let queue_state = GaugeVec::new(
            Opts::new(
                "forum_queue_jobs",
                "Jobs per queue and state (running, retrying, dead).",
            ),
            &["queue", "state"],
        )?;
        let outbox_lag = prometheus::Gauge::new(
            "forum_outbox_lag_seconds",
            "Age of the oldest outbox row not yet relayed.",
        )?;
        let summaries = IntCounterVec::new(
            Opts::new(
                "forum_summaries_total",
                "Summaries by provider and outcome.",
            ),
            &["provider", "outcome"],
        )?;
        let provider_latency = HistogramVec::new(
            HistogramOpts::new(
                "forum_llm_provider_seconds",
                "Latency of a summary provider call.",
            )
            .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
            &["provider"],
        )?;
        let tokens = IntCounterVec::new(
            Opts::new(
                "forum_llm_tokens_total",
                "Tokens used, by provider and kind.",
            ),
            &["provider", "kind"],
        )?;
        let cost = prometheus::CounterVec::new(
            Opts::new(
                "forum_llm_cost_usd_total",
                "Estimated summary cost in US dollars.",
            ),
            &["provider"],
        )?;
        let breaker_state = GaugeVec::new(
            Opts::new(
                "forum_llm_breaker_state",
                "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
            ),
            &["provider"],
        )?;
        let fallbacks = prometheus::IntCounter::new(
            "forum_llm_fallbacks_total",
            "Summaries that fell back past their first provider.",
        )?;
        registry.register(Box::new(jobs.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(queue_depth.clone()))?;
        registry.register(Box::new(queue_state.clone()))?;
        registry.register(Box::new(outbox_lag.clone()))?;
        registry.register(Box::new(summaries.clone()))?;
        registry.register(Box::new(provider_latency.clone()))?;
        registry.register(Box::new(tokens.clone()))?;
        registry.register(Box::new(cost.clone()))?;
        registry.register(Box::new(breaker_state.clone()))?;
        registry.register(Box::new(fallbacks.clone()))?;
        Ok(Metrics {
            registry,
            jobs,
            duration,
            queue_depth,
            queue_state,
            outbox_lag,
            summaries,
            provider_latency,
            tokens,
            cost,
            breaker_state,
            fallbacks,
        })
    }

    pub fn job(&self, queue: &str, outcome: &str) {
        self.jobs.with_label_values(&[queue, outcome]).inc();
    }

    pub fn observe_duration(&self, queue: &str, took: Duration) {
        self.duration
            .with_label_values(&[queue])
            .observe(took.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "encoding metrics");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// Answers every request on `addr` with the metrics text: enough for a Prometheus scrape,
/// without a web framework in the worker process.
pub async fn serve(metrics: std::sync::Arc<Metrics>, addr: String) {
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(%addr, error = %e, "metrics endpoint not served");
            return;
        }
    };
    tracing::info!(%addr, "worker metrics at /metrics");
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            // The request itself does not matter; read its head (bounded) and answer.
            let _ = tokio::time::timeout(Duration::from_secs(2), socket.read(&mut buf)).await;
            let body = metrics.render();
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body.as_bytes()).await;
        });
    }
}
