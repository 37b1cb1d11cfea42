//! `forum-jobs`: the outbox relay and the queue workers. Stops taking jobs on SIGTERM/SIGINT.

use forum_domain::settings::Config;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::load()?;
    forum_domain::telemetry::init(&config.settings);
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
            .smtp_url
            .as_deref()
            .unwrap_or(&config.settings.mail_dir),
        "forum-jobs starting"
    );
    forum_jobs::run(config, shutdown).await
}
