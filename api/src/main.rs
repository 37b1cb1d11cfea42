use anyhow::Context;
use clap::{Parser, Subcommand};
use forum_api::startup::{self, Application};
use forum_domain::settings::Config;

/// The forum's HTTP API. Settings come from FORUM_* environment variables (see README).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the OpenAPI document (what openapi/openapi.json holds).
    Openapi,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        print!("{}", forum_api::openapi::document_json()?);
        return Ok(());
    }
    let config = Config::load()?;
    forum_domain::telemetry::init(&config.settings);
    match cli.command {
        Some(Command::Migrate) => startup::migrate(&config.settings).await.context("migrate"),
        _ => {
            let app = Application::build(config).await?;
            app.run_until_stopped().await.context("server")
        }
    }
}
