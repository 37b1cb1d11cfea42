//! `forum-jobs`: the outbox relay and one apalis worker per queue (email, images, summaries,
//! probe), with our retry policy, a dead set, cleanup of finished jobs and metrics; and the LLM
//! provider layer for thread summaries.

pub mod images;
pub mod llm;
pub mod mailer;
pub mod metrics;
pub mod probe;
pub mod queue;
pub mod relay;
pub mod summaries;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use forum_domain::adapters::{media, queues};
use forum_domain::jobs::Topic;
use forum_domain::settings::Config;
use sqlx::PgPool;
use tokio::signal::unix::{SignalKind, signal};

use crate::mailer::{EmailHandler, Mailer};
use crate::metrics::Metrics;

pub fn db_pool(config: &Config) -> anyhow::Result<PgPool> {
    let s = &config.settings;
    s.pool(&s.db.url).context("invalid FORUM_DATABASE_URL")
}

/// Everything `forum-jobs` runs, until `shutdown` resolves; then in-flight jobs get
/// `job_shutdown_grace_secs` to finish.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = db_pool(&config)?;
    let metrics = Arc::new(Metrics::new()?);
    let store = media::store(&config).context("object storage")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let Some(redis) = queue::connect_until_up(&config, stop_rx.clone()).await else {
        return Ok(());
    };
    let mailer = Mailer::new(&config, db.clone(), Some(redis.clone()))?;

    let mut background = Vec::new();
    let queues: relay::Queues = Topic::ALL
        .into_iter()
        .map(|t| (t, queue::storage_on(redis.clone(), &config, t)))
        .collect();
    background.push(tokio::spawn(
        relay::Relay {
            db: db.clone(),
            queues,
            idle: Duration::from_millis(config.settings.jobs.outbox_poll_ms),
        }
        .run(),
    ));
    background.push(tokio::spawn(housekeeping(
        config.clone(),
        db.clone(),
        redis.clone(),
        metrics.clone(),
    )));
    if !config.settings.jobs.metrics_addr.is_empty() {
        background.push(tokio::spawn(metrics::serve(
            metrics.clone(),
            config.settings.jobs.metrics_addr.clone(),
        )));
    }

    let workers = vec![
        tokio::spawn(queue::supervise(
            config.clone(),
            EmailHandler(mailer),
            metrics.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(queue::supervise(
            config.clone(),
            images::ImageHandler {
                db: db.clone(),
                store,
                config: config.clone(),
                redis: Some(redis.clone()),
            },
            metrics.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(queue::supervise(
            config.clone(),
            summaries::SummaryHandler {
                db: db.clone(),
                summarizer: Arc::new(llm::Summarizer::new(&config)),
                redis: redis.clone(),
                prefix: config.settings.redis.prefix.clone(),
                max_comments: config.settings.llm.summary_max_comments,
                metrics: metrics.clone(),
            },
            metrics.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(queue::supervise(
            config.clone(),
            probe::ProbeHandler {
                redis: redis.clone(),
                prefix: config.settings.redis.prefix.clone(),
            },
            metrics.clone(),
            stop_rx.clone(),
        )),
    ];
    for w in workers {
        let _ = w.await;
    }
    for task in background {
        task.abort();
    }
    db.close().await;
    Ok(())
}

/// Every few seconds: queue gauges and outbox lag; every `job_cleanup_interval_secs`: delete
/// finished jobs.
async fn housekeeping(
    config: Config,
    db: PgPool,
    mut redis: redis::aio::ConnectionManager,
    metrics: Arc<Metrics>,
) {
    let prefix = config.settings.redis.prefix.clone();
    let cleanup_every = Duration::from_secs(config.settings.jobs.cleanup_interval_secs.max(1));
    let mut last_cleanup = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(5).min(cleanup_every));
    loop {
        tick.tick().await;
        for topic in Topic::ALL {
            if let Ok(s) = queues::stats(&mut redis, &prefix, topic, 0).await {
                let q = topic.as_str();
                metrics
                    .queue_depth
                    .with_label_values(&[q])
                    .set((s.ready + s.scheduled) as f64);
                for (state, n) in [
                    ("running", s.running),
                    ("retrying", s.retrying),
                    ("dead", s.dead),
                ] {
                    metrics
                        .queue_state
                        .with_label_values(&[q, state])
                        .set(n as f64);
                }
            }
        }
        if let Ok(lag) = forum_domain::store::outbox::lag_seconds(&db).await {
            metrics.outbox_lag.set(lag);
        }
        if last_cleanup.elapsed() >= cleanup_every {
            last_cleanup = tokio::time::Instant::now();
            match queue::cleanup(&mut redis, &prefix).await {
                Ok(n) if n > 0 => tracing::debug!(removed = n, "finished jobs cleaned up"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cleaning up finished jobs"),
            }
        }
    }
}

/// The `forum-jobs` binary: settings from the environment, stops on SIGTERM/SIGINT.
pub async fn cli_main() -> anyhow::Result<()> {
    let config = Config::load()?;
    forum_domain::adapters::telemetry::init(&config.settings);
    let shutdown = async {
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM: finishing in-flight jobs"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: finishing in-flight jobs"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tracing::info!(
        mail = config
            .settings
            .mail
            .smtp_url
            .as_deref()
            .unwrap_or(&config.settings.mail.dir),
        media = config.settings.media.dir,
        "forum-jobs starting"
    );
    run(config, shutdown).await
}
