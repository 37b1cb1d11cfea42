//! Transactional email: templates (HTML + text) rendered with minijinja, sent through lettre
//! (SMTP with a connection pool, or `.eml` files in development). Each message has a unique key
//! and a Message-ID derived from it; a key already recorded as sent is never sent again.

use std::sync::Arc;

use anyhow::Context;
use forum_domain::jobs::{EmailJob, EmailTemplate, Envelope, Topic};
use forum_domain::secrets;
use forum_domain::settings::Config;
use forum_domain::store::outbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use minijinja::{Environment, context};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use secrecy::ExposeSecret;
use sqlx::PgPool;

use crate::queue::{Handler, JobError};

/// How long the Redis record of a sent key lives (longer than any retry schedule).
const SENT_MARK_SECS: u64 = 7 * 24 * 3600;

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

pub struct Mailer {
    db: PgPool,
    /// A second record of sent keys, written right after the SMTP server accepted the message:
    /// if recording in Postgres fails the job is retried, and this stops the retry re-sending.
    redis: Option<(ConnectionManager, String)>,
    transport: Transport,
    from: Mailbox,
    public_url: String,
    /// Key of the unsubscribe tokens (the server secret).
    key: Vec<u8>,
    templates: Environment<'static>,
    domain: String,
}

/// Why a send did not happen.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying: the SMTP server or the database is unreachable.
    #[error("temporary mail failure: {0}")]
    Temporary(String),
    /// Retrying will not help (a malformed address).
    #[error("permanent mail failure: {0}")]
    Permanent(String),
}

fn templates() -> anyhow::Result<Environment<'static>> {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("../templates/base.html")),
        (
            "verify_email.html",
            include_str!("../templates/verify_email.html"),
        ),
        (
            "verify_email.txt",
            include_str!("../templates/verify_email.txt"),
        ),
        (
            "password_reset.html",
            include_str!("../templates/password_reset.html"),
        ),
        (
            "password_reset.txt",
            include_str!("../templates/password_reset.txt"),
        ),
        ("welcome.html", include_str!("../templates/welcome.html")),
        ("welcome.txt", include_str!("../templates/welcome.txt")),
        (
            "reply_notification.html",
            include_str!("../templates/reply_notification.html"),
        ),
        (
            "reply_notification.txt",
            include_str!("../templates/reply_notification.txt"),
        ),
    ] {
        env.add_template(name, source)?;
    }
    Ok(env)
}

impl Mailer {
    pub fn new(
        config: &Config,
        db: PgPool,
        redis: Option<ConnectionManager>,
    ) -> anyhow::Result<Arc<Self>> {
        let s = &config.settings;
        let transport = match &s.mail.smtp_url {
            Some(url) => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("FORUM_SMTP_URL")?;
                if let (Some(user), Some(password)) =
                    (&s.mail.smtp_username, &config.secrets.smtp_password)
                {
                    builder = builder.credentials(
                        lettre::transport::smtp::authentication::Credentials::new(
                            user.clone(),
                            password.expose_secret().to_string(),
                        ),
                    );
                }
                Transport::Smtp(builder.build())
            }
            None => {
                std::fs::create_dir_all(&s.mail.dir)
                    .with_context(|| format!("creating {}", s.mail.dir))?;
                Transport::Files(AsyncFileTransport::new(&s.mail.dir))
            }
        };
        let domain = s
            .http
            .public_url
            .split("://")
            .nth(1)
            .and_then(|h| h.split(['/', ':']).next())
            .filter(|h| !h.is_empty())
            .unwrap_or("forum.localhost")
            .to_string();
        Ok(Arc::new(Self {
            db,
            redis: redis.map(|r| (r, format!("{}mail:sent:", s.redis.prefix))),
            transport,
            from: s.mail.from.parse().context("FORUM_MAIL_FROM")?,
            public_url: s.http.public_url.trim_end_matches('/').to_string(),
            key: config.jwt_secret.expose_secret().as_bytes().to_vec(),
            templates: templates()?,
            domain,
        }))
    }

    /// Renders and sends one job, unless its key was sent before.
    pub async fn deliver(&self, job: &EmailJob) -> Result<(), MailError> {
        let temporary = |e: &dyn std::fmt::Display| MailError::Temporary(e.to_string());
        if outbox::email_sent(&self.db, job.key)
            .await
            .map_err(|e| temporary(&e))?
        {
            tracing::info!(key = %job.key, "email already sent; skipping");
            return Ok(());
        }
        if let Some((redis, prefix)) = &self.redis {
            let seen: Option<String> = redis
                .clone()
                .get(format!("{prefix}{}", job.key))
                .await
                .map_err(|e| temporary(&e))?;
            if let Some(message_id) = seen {
                tracing::info!(key = %job.key, "email already sent (not yet recorded); skipping");
                outbox::record_email_sent(&self.db, job.key, &message_id)
                    .await
                    .map_err(|e| temporary(&e))?;
                return Ok(());
            }
        }
        let message_id = format!("<{}@{}>", job.key, self.domain);
        let message = self.build(job, &message_id)?;
        let sent = match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(drop).map_err(|e| {
                if e.is_permanent() {
                    MailError::Permanent(e.to_string())
                } else {
                    temporary(&e)
                }
            }),
            Transport::Files(t) => t.send(message).await.map(drop).map_err(|e| temporary(&e)),
        };
        sent?;
        if let Some((redis, prefix)) = &self.redis {
            let marked: Result<(), _> = redis
                .clone()
                .set_ex(format!("{prefix}{}", job.key), &message_id, SENT_MARK_SECS)
                .await;
            if let Err(e) = marked {
                tracing::warn!(key = %job.key, error = %e, "could not mark email as sent in Redis");
            }
        }
        outbox::record_email_sent(&self.db, job.key, &message_id)
            .await
            .map_err(|e| temporary(&e))?;
        tracing::info!(key = %job.key, "email sent");
        Ok(())
    }

    fn build(&self, job: &EmailJob, message_id: &str) -> Result<Message, MailError> {
        let base = &self.public_url;
        let to: Mailbox = job
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| MailError::Permanent(e.to_string()))?;
        let render = |name: &str, ctx: minijinja::Value| {
            self.templates
                .get_template(name)
                .and_then(|t| t.render(ctx))
                .map_err(|e| MailError::Permanent(e.to_string()))
        };
        let mut unsubscribe = None;
        let (subject, name, ctx) = match &job.template {
            EmailTemplate::VerifyEmail { token } => (
                "Confirm your email address".to_string(),
                "verify_email",
                context! { username => job.username, to => job.to, link => format!("{base}/verify-email?token={token}") },
            ),
            EmailTemplate::Welcome => (
                "Welcome to the forum".to_string(),
                "welcome",
                context! { username => job.username, to => job.to, link => format!("{base}/communities") },
            ),
            EmailTemplate::PasswordReset { token } => (
                "Reset your password".to_string(),
                "password_reset",
                context! { username => job.username, to => job.to, link => format!("{base}/reset-password?token={token}") },
            ),
            EmailTemplate::ReplyNotification {
                post_id,
                comment_id,
                post_title,
                actor,
                excerpt,
            } => {
                let link = format!(
                    "{base}/api/v1/unsubscribe/{}",
                    secrets::unsubscribe_token(&self.key, job.recipient_id.unwrap_or_default())
                );
                unsubscribe = Some(link.clone());
                (
                    format!("{actor} replied on \"{post_title}\""),
                    "reply_notification",
                    context! {
                        username => job.username, to => job.to, actor => actor, post_title => post_title, excerpt => excerpt,
                        link => format!("{base}/posts/{post_id}#comment-{comment_id}"), unsubscribe => link,
                    },
                )
            }
        };
        let html = render(&format!("{name}.html"), ctx.clone())?;
        let text = render(&format!("{name}.txt"), ctx)?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(message_id.to_string()));
        if let Some(link) = unsubscribe {
            // RFC 8058 one-click unsubscribe: mail clients POST to the link.
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{link}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_string(),
                ));
        }
        builder
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html),
                    ),
            )
            .map_err(|e| MailError::Permanent(e.to_string()))
    }
}

/// The `email` queue's consumer.
pub struct EmailHandler(pub Arc<Mailer>);

impl Handler for EmailHandler {
    type Job = EmailJob;
    const TOPIC: Topic = Topic::Email;

    async fn handle(&self, envelope: &Envelope<EmailJob>) -> Result<(), JobError> {
        match self.0.deliver(&envelope.job).await {
            Ok(()) => Ok(()),
            Err(MailError::Permanent(e)) => Err(JobError::Fail(e)),
            Err(MailError::Temporary(e)) => Err(JobError::Retry(e)),
        }
    }
}
