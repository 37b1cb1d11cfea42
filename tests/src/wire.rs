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

#[derive(Debug, Clone, Deserialize)]
pub struct Post {
    pub id: Uuid,
    pub title: String,
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
