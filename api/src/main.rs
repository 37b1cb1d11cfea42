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
    /// Administration from the command line.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an admin account (or make an existing username an admin). The password comes from
    /// FORUM_ADMIN_PASSWORD or, when unset, the first line of standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        print!("{}", forum_api::openapi::document_json()?);
        return Ok(());
    }
    let config = Config::load()?;
    forum_domain::adapters::telemetry::init(&config.settings);
    match cli.command {
        Some(Command::Migrate) => startup::migrate(&config.settings).await.context("migrate"),
        Some(Command::Admin {
            command: AdminCommand::Create { username, email },
        }) => {
            let password = match std::env::var("FORUM_ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("reading the password from stdin")?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            startup::migrate(&config.settings).await?;
            let db = startup::db_pool(&config.settings)?;
            let created = startup::ensure_admin(&db, &username, &email, &password).await?;
            println!(
                "{} admin {username}",
                if created {
                    "created"
                } else {
                    "promoted existing user to"
                }
            );
            Ok(())
        }
        _ => {
            let app = Application::build(config).await?;
            app.run_until_stopped().await.context("server")
        }
    }
}
