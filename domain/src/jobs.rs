//! Background work as data: what the API writes to the outbox and the workers consume.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The queue a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Email,
}

impl Topic {
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Email => "email",
        }
    }
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
}
