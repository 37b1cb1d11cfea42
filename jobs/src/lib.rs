//! `forum-jobs`: the outbox relay and the workers on Redis queues (apalis), and the LLM
//! provider layer for thread summaries.

pub mod llm;
pub mod mailer;
pub mod relay;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use apalis::prelude::*;
use apalis_redis::RedisStorage;
use forum_domain::jobs::EmailJob;
use forum_domain::settings::Config;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::mailer::{MailError, Mailer};

pub fn db_pool(config: &Config) -> anyhow::Result<PgPool> {
    let s = &config.settings;
    PgPoolOptions::new()
        .max_connections(s.database_max_connections)
        .acquire_timeout(Duration::from_millis(s.database_acquire_timeout_ms))
        .connect_lazy(&s.database_url)
        .context("invalid FORUM_DATABASE_URL")
}

/// The queue storage for email jobs, under this deployment's key prefix.
pub async fn email_storage(config: &Config) -> anyhow::Result<RedisStorage<EmailJob>> {
    let conn = apalis_redis::connect(config.settings.redis_url.as_str())
        .await
        .context("connecting to Redis")?;
    let queue = format!("{}email", config.settings.redis_prefix);
    let storage_config = apalis_redis::Config::default()
        .queue(queue)
        // Notice new jobs and orphans of dead workers quickly (defaults: 30 s x 10).
        .heartbeat_interval(Duration::from_secs(2))
        .missed_heartbeats(5);
    Ok(RedisStorage::new(conn).with_config(storage_config))
}

async fn send_email(job: EmailJob, mailer: Data<Arc<Mailer>>) -> Result<(), BoxDynError> {
    match mailer.deliver(&job).await {
        Ok(()) => Ok(()),
        Err(MailError::Permanent(e)) => {
            tracing::error!(key = %job.key, error = %e, "email dropped: permanent failure");
            Ok(())
        }
        Err(e @ MailError::Temporary(_)) => Err(Box::new(e)),
    }
}

/// Everything `forum-jobs` runs, until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let db = db_pool(&config)?;
    let mailer = Mailer::new(&config, db.clone())?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let Some(relay_storage) = connect_until_up(&config, stop_rx.clone()).await else {
        return Ok(());
    };
    let relay = relay::Relay {
        db: db.clone(),
        email: relay_storage,
        idle: Duration::from_millis(config.settings.outbox_poll_ms),
    };
    let relay = tokio::spawn(relay.run());

    // The worker stops when its backend fails (Redis gone, or restarted without our worker
    // registration): supervise it, rebuilding it with a fresh name until we are told to stop.
    let mut failures = 0u32;
    while !*stop_rx.borrow() {
        let Some(storage) = connect_until_up(&config, stop_rx.clone()).await else {
            break;
        };
        // A unique name per run: apalis re-queues a dead worker's jobs only for names that
        // stopped heart-beating.
        let name = format!("email-{}", uuid::Uuid::now_v7());
        let worker = WorkerBuilder::new(name)
            .backend(storage)
            .data(mailer.clone())
            .concurrency(config.settings.email_concurrency.max(1))
            .build(send_email);
        let mut stop = stop_rx.clone();
        let result = worker
            .run_until(async move {
                let _ = stop.wait_for(|s| *s).await;
                Ok::<(), std::io::Error>(())
            })
            .await;
        match result {
            Ok(()) => break,
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(error = %e, failures, "email worker stopped; restarting");
                tokio::time::sleep(Duration::from_millis(200) * failures.min(25)).await;
            }
        }
    }
    relay.abort();
    db.close().await;
    Ok(())
}

/// Connects the email queue, retrying while Redis is down; `None` once told to stop.
async fn connect_until_up(
    config: &Config,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Option<RedisStorage<EmailJob>> {
    let mut wait = Duration::from_millis(100);
    loop {
        if *stop.borrow() {
            return None;
        }
        match email_storage(config).await {
            Ok(storage) => return Some(storage),
            Err(e) => {
                tracing::warn!(error = %e, "queue unavailable; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    }
}
