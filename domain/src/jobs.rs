//! Background work as data: what the API writes to the outbox and the workers consume.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The queue a message goes to. Each topic is one apalis queue with its own worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Email,
    Images,
    Summaries,
    /// A job that waits a given time and succeeds: benchmarks and crash tests. Its worker runs
    /// only when `probe_concurrency` > 0.
    Probe,
}

impl Topic {
    pub const ALL: [Topic; 4] = [Topic::Summaries, Topic::Images, Topic::Email, Topic::Probe];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Email => "email",
            Topic::Images => "images",
            Topic::Summaries => "summaries",
            Topic::Probe => "probe",
        }
    }

    pub fn parse(s: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// What travels through a queue: the job, the attempt it is on, and an id that stays the same
/// across retries (the outbox row's id when it came from the outbox).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<J> {
    pub id: Uuid,
    #[serde(default)]
    pub attempt: u32,
    pub job: J,
}

impl<J> Envelope<J> {
    pub fn new(id: Uuid, job: J) -> Self {
        Self {
            id,
            attempt: 0,
            job,
        }
    }
}

/// A job that used up its attempts (or failed for good), kept until an admin retries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadJob {
    pub id: Uuid,
    pub queue: String,
    pub attempts: u32,
    pub error: String,
    pub failed_at: chrono::DateTime<chrono::Utc>,
    /// The job itself, as the outbox carries it.
    pub job: serde_json::Value,
}

/// Redis keys of one queue. apalis-redis names its keys after the queue (`{queue}:active`,
/// ...); the `:forum:` ones are ours (retry bookkeeping and the dead set admins see).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueKeys {
    pub queue: String,
}

impl QueueKeys {
    pub fn new(prefix: &str, topic: Topic) -> Self {
        Self {
            queue: format!("{prefix}{}", topic.as_str()),
        }
    }
    pub fn active(&self) -> String {
        format!("{}:active", self.queue)
    }
    pub fn scheduled(&self) -> String {
        format!("{}:scheduled", self.queue)
    }
    pub fn workers(&self) -> String {
        format!("{}:workers", self.queue)
    }
    /// The jobs a worker holds (apalis: `{queue}:inflight:{worker}`).
    pub fn inflight_of(&self, worker: &str) -> String {
        format!("{}:inflight:{worker}", self.queue)
    }
    pub fn data(&self) -> String {
        format!("{}:data", self.queue)
    }
    pub fn meta_prefix(&self) -> String {
        format!("{}:meta", self.queue)
    }
    pub fn done(&self) -> String {
        format!("{}:done", self.queue)
    }
    /// apalis' own dead set (jobs it gave up on); ours is `dead()`.
    pub fn apalis_dead(&self) -> String {
        format!("{}:dead", self.queue)
    }
    /// Hash: envelope id -> last error, for jobs waiting for their next attempt.
    pub fn retrying(&self) -> String {
        format!("{}:forum:retrying", self.queue)
    }
    /// Hash: envelope id -> `DeadJob` JSON.
    pub fn dead(&self) -> String {
        format!("{}:forum:dead", self.queue)
    }
}

/// How long to wait before attempt `attempt + 1`: exponential from `base`, capped, with up to
/// ±25 % jitter (`jitter` in [0, 1)) so jobs failing together do not return together.
pub fn backoff(
    attempt: u32,
    base: std::time::Duration,
    cap: std::time::Duration,
    jitter: f64,
) -> std::time::Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempt.min(20)));
    let exp = exp.min(cap);
    let factor = 0.75 + 0.5 * jitter.clamp(0.0, 1.0);
    exp.mul_f64(factor).min(cap)
}

/// Process an uploaded image into its variants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageJob {
    pub image_id: Uuid,
}

/// Summarize a post's thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryJob {
    pub post_id: Uuid,
}

/// Waits `sleep_ms`. With an `id`, counts its runs in Redis under `{prefix}probe:{id}` (so a
/// test can see a job run again after its worker was killed); without, it is a no-op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeJob {
    #[serde(default)]
    pub id: Option<Uuid>,
    #[serde(default)]
    pub sleep_ms: u64,
}

/// A transactional email. `key` is unique per message so a retried job never sends twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailJob {
    pub key: Uuid,
    pub to: String,
    pub username: String,
    /// The recipient's account (for one-click unsubscribe links).
    #[serde(default)]
    pub recipient_id: Option<Uuid>,
    #[serde(flatten)]
    pub template: EmailTemplate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "template", rename_all = "snake_case")]
pub enum EmailTemplate {
    /// Sent at registration: the link confirms the address.
    VerifyEmail {
        token: String,
    },
    PasswordReset {
        token: String,
    },
    /// Sent once the address is confirmed.
    Welcome,
    /// Someone replied to the recipient's post or comment.
    ReplyNotification {
        post_id: Uuid,
        comment_id: Uuid,
        post_title: String,
        actor: String,
        excerpt: String,
    },
}

impl EmailJob {
    /// Addressed to an account (enables the unsubscribe link).
    pub fn for_user(mut self, id: Uuid) -> Self {
        self.recipient_id = Some(id);
        self
    }

    pub fn new(to: &str, username: &str, template: EmailTemplate) -> Self {
        Self {
            key: Uuid::now_v7(),
            to: to.to_string(),
            username: username.to_string(),
            recipient_id: None,
            template,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_job_round_trips_with_a_flat_template_tag() {
        let job = EmailJob::new(
            "a@b.co",
            "alice",
            EmailTemplate::PasswordReset { token: "t".into() },
        );
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["template"], "password_reset");
        assert_eq!(json["token"], "t");
        assert_eq!(serde_json::from_value::<EmailJob>(json).unwrap(), job);
    }

    #[test]
    fn backoff_grows_exponentially_with_bounded_jitter_and_a_cap() {
        use std::time::Duration;
        let base = Duration::from_secs(2);
        let cap = Duration::from_secs(600);
        assert_eq!(backoff(0, base, cap, 0.5), Duration::from_secs(2));
        assert_eq!(backoff(3, base, cap, 0.5), Duration::from_secs(16));
        assert_eq!(backoff(3, base, cap, 0.0), Duration::from_secs(12));
        assert_eq!(backoff(3, base, cap, 0.999_999).as_secs(), 19);
        assert_eq!(backoff(30, base, cap, 0.9), cap);
    }

    #[test]
    fn topics_round_trip_and_keys_follow_apalis_names() {
        for t in Topic::ALL {
            assert_eq!(Topic::parse(t.as_str()), Some(t));
        }
        let k = QueueKeys::new("p:", Topic::Images);
        assert_eq!(k.active(), "p:images:active");
        assert_eq!(k.inflight_of("w1"), "p:images:inflight:w1");
        assert_eq!(k.dead(), "p:images:forum:dead");
    }
}
