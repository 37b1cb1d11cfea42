//! What the API sends, as the tests read it: typed views of the responses, written from
//! API.md rather than borrowed from the server's own types, so a renamed or retyped field
//! fails a test instead of changing both sides at once. Only the fields tests look at; the
//! API may send more.

use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Author {
    pub username: String,
}

/// The community a post belongs to, as the post shows it.
#[derive(Debug, Clone, Deserialize)]
pub struct CommunityRef {
    pub name: String,
    pub title: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Post {
    pub id: Uuid,
    pub community: CommunityRef,
    pub title: String,
    /// The markdown as written (`[deleted]` once deleted).
    pub body: String,
    /// Sanitized HTML rendered from `body`.
    pub body_html: String,
    pub url: Option<String>,
    /// RFC 3339; `null` until the first edit.
    pub edited_at: Option<String>,
    /// `null` once the post is deleted.
    pub author: Option<Author>,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub comment_count: i64,
    pub my_vote: i32,
    pub saved: bool,
    pub locked: bool,
    pub pinned: bool,
    pub removed: bool,
    pub deleted: bool,
    /// Processed images attached to the post (their shape is not looked at here).
    pub images: Vec<serde_json::Value>,
}

/// A community rule: a plain string or `{title, description?}`, as submitted.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Rule {
    Text(String),
    Titled {
        title: String,
        #[serde(default)]
        description: Option<String>,
    },
}

/// A community; the `is_*` fields describe the caller (false when anonymous).
#[derive(Debug, Clone, Deserialize)]
pub struct Community {
    pub id: Uuid,
    pub name: String,
    pub title: String,
    pub rules: Vec<Rule>,
    pub member_count: i64,
    pub post_count: i64,
    pub is_member: bool,
    pub is_moderator: bool,
}

/// An entry of `GET /communities/{name}/moderators`.
#[derive(Debug, Clone, Deserialize)]
pub struct Moderator {
    pub username: String,
    /// `owner` or `moderator`.
    pub role: String,
}

/// An entry of `GET /communities/{name}/approved`.
#[derive(Debug, Clone, Deserialize)]
pub struct ApprovedUser {
    pub username: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Comment {
    pub id: Uuid,
    pub post_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub depth: i32,
    pub body: String,
    pub score: i64,
    pub my_vote: i32,
    pub deleted: bool,
    pub removed: bool,
}

/// The answer to a vote: the target's counts and the caller's vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct VoteResult {
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub my_vote: i32,
}

impl VoteResult {
    /// `(score, upvotes, downvotes)`.
    pub fn counts(&self) -> (i64, i64, i64) {
        (self.score, self.upvotes, self.downvotes)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Profile {
    pub username: String,
    pub display_name: Option<String>,
    /// Never sent: the public profile hides the address.
    pub email: Option<String>,
    pub post_karma: i64,
    pub comment_karma: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An application/problem+json body.
#[derive(Debug, Clone, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

impl Problem {
    /// The fields named in `errors`, in order.
    pub fn fields(&self) -> Vec<&str> {
        self.errors.iter().map(|e| e.field.as_str()).collect()
    }
}

/// The signed-in account, as `/me` and the auth routes show it.
#[derive(Debug, Clone, Deserialize)]
pub struct Me {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub role: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub email_notifications: bool,
}

/// What register, login and refresh answer.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthTokens {
    pub user: Me,
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: String,
    pub expires_in: i64,
}
