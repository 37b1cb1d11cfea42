//! `forum-jobs`: background workers. For now it connects to Postgres (through PgBouncer) and
//! Redis, reports readiness and waits for SIGTERM; the queues and workers build on this.

use std::time::Duration;

use anyhow::Context;
use forum_domain::settings::Config;
use sqlx::postgres::PgPoolOptions;
use tokio::signal::unix::{SignalKind, signal};

/// Retries a connection until it answers or the deadline passes, so a worker started together
/// with its services does not die while they come up.
async fn wait_for<F, Fut>(what: &str, deadline: Duration, mut attempt: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let started = tokio::time::Instant::now();
    loop {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(e) if started.elapsed() < deadline => {
                tracing::warn!(error = %e, "{what} not ready yet");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.context(format!("{what} not reachable"))),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    let settings = config.settings;
    forum_domain::telemetry::init(&settings);
    let worker_id = format!("forum-jobs-{}", uuid::Uuid::now_v7());

    let db = PgPoolOptions::new()
        .max_connections(settings.database_max_connections)
        .acquire_timeout(Duration::from_millis(settings.database_acquire_timeout_ms))
        .connect_lazy(&settings.database_url)
        .context("invalid FORUM_DATABASE_URL")?;
    let redis =
        redis::Client::open(settings.redis_url.as_str()).context("invalid FORUM_REDIS_URL")?;

    let deadline = Duration::from_secs(60);
    wait_for("postgres", deadline, || async {
        sqlx::query("SELECT 1")
            .execute(&db)
            .await
            .map(drop)
            .map_err(anyhow::Error::from)
    })
    .await?;
    wait_for("redis", deadline, || async {
        let mut conn = redis.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await?;
        Ok(())
    })
    .await?;
    tracing::info!(
        worker_id,
        "forum-jobs ready: postgres (through PgBouncer) and redis reachable"
    );

    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: shutting down"),
    }
    db.close().await;
    Ok(())
}
