//! Benchmark support: the deterministic dataset generator (`seed`) and scratch databases.

pub mod seed;

use anyhow::{Context, bail};
use sqlx::{Connection, Executor, PgConnection};

/// A direct connection to the database `FORUM_DATABASE_DIRECT_URL` names (or the local default),
/// and that URL without its database name.
async fn admin() -> anyhow::Result<(PgConnection, String)> {
    let direct = std::env::var("FORUM_DATABASE_DIRECT_URL")
        .unwrap_or_else(|_| forum_domain::settings::DEFAULT_DATABASE_DIRECT_URL.into());
    let (base, _) = direct
        .rsplit_once('/')
        .context("database URL without a path")?;
    Ok((PgConnection::connect(&direct).await?, base.to_string()))
}

/// Drops database `name` if it exists (closing its connections).
pub async fn drop_database(name: &str) -> anyhow::Result<()> {
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("database names here are letters, digits and _");
    }
    let (mut admin, _) = admin().await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await?;
    Ok(())
}

/// Recreates database `name` empty next to the configured one, migrates it, and returns a direct
/// connection to it.
pub async fn fresh_database(name: &str) -> anyhow::Result<PgConnection> {
    drop_database(name).await?;
    let (mut admin, base) = admin().await?;
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    let mut db = PgConnection::connect(&format!("{base}/{name}")).await?;
    forum_domain::store::MIGRATOR.run(&mut db).await?;
    Ok(db)
}
