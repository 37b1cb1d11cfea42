//! What the API shows: users and their profiles.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

mod vocabulary;
pub use vocabulary::{
    AuthorSort, CommentSort, CommunitySort, ReportStatus, SearchSort, Sort, Window,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// A role named in a request; anything else is a field error naming `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, crate::rules::validation::FieldError> {
        match raw {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            _ => Err(crate::rules::validation::FieldError::new(
                field,
                "must be user or admin",
            )),
        }
    }

    /// Unknown stored values fall back to the least privilege.
    pub fn from_db(raw: &str) -> Self {
        if raw == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }
}

/// Who acts: a signed-in user and their site role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Uuid,
    pub role: Role,
}

/// The signed-in user's own profile (`GET /me`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    pub role: Role,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    /// URL of the processed avatar image, once one was uploaded.
    pub avatar: Option<String>,
    /// Whether replies and mentions are also sent by email.
    pub email_notifications: bool,
    pub post_karma: i64,
    pub comment_karma: i64,
    pub created_at: DateTime<Utc>,
}

/// What anyone may see of a user (`GET /users/{username}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublicProfile {
    pub username: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar: Option<String>,
    pub post_karma: i64,
    pub comment_karma: i64,
    pub created_at: DateTime<Utc>,
}

/// A community as the API shows it; the `is_*` fields describe the caller.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Community {
    pub id: Uuid,
    pub name: String,
    pub title: String,
    pub description: String,
    /// Each rule is a string or `{title, description}`, as submitted.
    #[schema(value_type = Vec<Object>)]
    pub rules: Vec<serde_json::Value>,
    pub nsfw: bool,
    /// Only moderators and approved users may post.
    pub restricted: bool,
    pub member_count: i64,
    pub post_count: i64,
    pub created_at: DateTime<Utc>,
    pub is_member: bool,
    pub is_moderator: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommunityRef {
    pub name: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuthorRef {
    pub username: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Moderator {
    pub username: String,
    /// `owner` or `moderator`.
    pub role: String,
    pub added_at: DateTime<Utc>,
}

/// A post in a listing or in detail. `my_vote` and `saved` describe the caller (0/false when
/// anonymous); deleted posts read `[deleted]` with no author.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Post {
    pub id: Uuid,
    pub community: CommunityRef,
    pub author: Option<AuthorRef>,
    pub title: String,
    pub body: String,
    /// Sanitized HTML rendered from `body` at write time.
    pub body_html: String,
    pub url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub comment_count: i64,
    /// -1, 0 or 1.
    pub my_vote: i32,
    pub saved: bool,
    pub locked: bool,
    pub pinned: bool,
    pub removed: bool,
    pub deleted: bool,
    /// Processed (`ready`) images attached to the post, as `Image` objects.
    #[schema(value_type = Vec<Image>)]
    pub images: Vec<serde_json::Value>,
    /// Open reports; shown to the community's moderators only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_count: Option<i64>,
}

/// A page of a listing: `next_cursor` fetches the next one, `null` at the end.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A comment in a thread. `replies` holds the children included in this page; `more` stands for
/// the ones left out, fetched with `parent_id` + `cursor`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Comment {
    pub id: Uuid,
    pub post_id: Uuid,
    pub parent_id: Option<Uuid>,
    /// 0 for top-level comments, at most 10.
    pub depth: i32,
    pub author: Option<AuthorRef>,
    pub body: String,
    pub body_html: String,
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub my_vote: i32,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub removed: bool,
    pub deleted: bool,
    /// Direct replies, including any not shown here.
    pub reply_count: i64,
    #[schema(no_recursion)]
    pub replies: Vec<Comment>,
    pub more: Option<More>,
    /// Open reports; shown to the community's moderators only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_count: Option<i64>,
}

/// Comments left out of a page: `count` of them, fetched with `parent_id` and `cursor`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct More {
    pub count: i64,
    /// The comment whose replies these are; `null` for top-level comments.
    pub parent_id: Option<Uuid>,
    pub cursor: String,
}

/// A page of a thread.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Thread {
    pub items: Vec<Comment>,
    /// What is left at the first level of this page (at most one entry).
    pub more: Vec<More>,
}

/// One comment with the ids of its ancestors, top-level first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommentWithPath {
    #[serde(flatten)]
    pub comment: Comment,
    pub path: Vec<Uuid>,
}

/// The outcome of a vote.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct VoteResult {
    pub score: i64,
    pub upvotes: i64,
    pub downvotes: i64,
    pub my_vote: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    pub id: Uuid,
    /// `post_reply` or `comment_reply`.
    pub kind: String,
    pub post_id: Uuid,
    pub comment_id: Uuid,
    /// Who replied.
    pub actor: Option<AuthorRef>,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModlogEntry {
    pub id: Uuid,
    /// e.g. `remove_post`, `ban_user`, `site_ban`, `change_role`.
    pub action: String,
    pub actor: Option<AuthorRef>,
    /// `null` for site-wide actions.
    pub community: Option<String>,
    /// `post`, `comment`, `user`, `community` or `report`.
    pub target_type: String,
    pub target_id: Option<Uuid>,
    pub target_user: Option<AuthorRef>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Report {
    pub id: Uuid,
    /// `post` or `comment`.
    pub target_type: String,
    pub target_id: Uuid,
    pub post_id: Uuid,
    pub community: String,
    pub reporter: Option<AuthorRef>,
    pub reason: String,
    /// `open` or `resolved`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution_note: Option<String>,
    /// Open reports on the same target.
    pub open_reports_on_target: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommunityBan {
    pub username: String,
    pub reason: String,
    /// `null`: permanent.
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A user as admins see them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AdminUser {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub role: Role,
    pub email_verified: bool,
    pub banned: bool,
    pub banned_until: Option<DateTime<Utc>>,
    pub ban_reason: Option<String>,
    pub post_karma: i64,
    pub comment_karma: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImageState {
    /// Uploaded; the job has not finished.
    Pending,
    /// Variants available.
    Ready,
    /// Not an image we accept, too large, or corrupt; `error` says which.
    Failed,
}

/// One resized WebP rendition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImageVariant {
    pub width: u32,
    pub height: u32,
    /// Absolute or root-relative.
    pub url: String,
}

/// An uploaded image and, once processed, its variants (widths 320, 640, 1280; never upscaled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Image {
    pub id: Uuid,
    pub state: ImageState,
    /// Of the original, after EXIF orientation; `null` until ready.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The largest variant; `null` until ready.
    pub url: Option<String>,
    pub variants: Vec<ImageVariant>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}
