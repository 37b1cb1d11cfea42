//! `forum-jobs`: the outbox relay and the queue workers. Stops taking jobs on SIGTERM/SIGINT.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    forum_jobs::cli_main().await
}
