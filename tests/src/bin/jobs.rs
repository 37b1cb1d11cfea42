//! `forum-jobs`, built inside the test package so tests can start it as a process.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    forum_jobs::cli_main().await
}
