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
    /// Processed images attached to the post.
    pub images: Vec<Image>,
    /// Open reports: sent to the community's moderators only, absent for everyone else.
    pub report_count: Option<i64>,
}

/// An uploaded image (`GET /images/{id}`, a post's `images[]`) and, once processed, its
/// WebP variants.
#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    pub id: Uuid,
    /// `pending` until the job has run, then `ready` or `failed`.
    pub state: String,
    /// Of the original after EXIF orientation; `null` until ready.
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The largest variant (absolute or root-relative); `null` until ready.
    pub url: Option<String>,
    pub variants: Vec<ImageVariant>,
    /// Why processing failed; only on `failed` images.
    #[serde(default)]
    pub error: Option<String>,
}

/// One resized WebP rendition of an image, served from `url`.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageVariant {
    pub width: u32,
    pub height: u32,
    /// Absolute or root-relative (`/media/images/...`).
    pub url: String,
}

/// What an upload answers (202): `{image}`, with the image's `state` also at the top level.
#[derive(Debug, Clone, Deserialize)]
pub struct UploadAccepted {
    pub image: Image,
    pub state: String,
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

/// A comment, as created, edited, listed or placed in a thread. Outside a thread `replies` is
/// empty and `more` is `null`.
#[derive(Debug, Clone, Deserialize)]
pub struct Comment {
    pub id: Uuid,
    pub post_id: Uuid,
    /// `null` for a top-level comment.
    pub parent_id: Option<Uuid>,
    /// 0 at the top level, 10 at most.
    pub depth: i32,
    /// `null` once the comment is deleted.
    pub author: Option<Author>,
    /// The markdown as written (`[deleted]` / `[removed]` once gone).
    pub body: String,
    /// Sanitized HTML rendered from `body`.
    pub body_html: String,
    pub score: i64,
    pub my_vote: i32,
    /// RFC 3339; `null` until the first edit.
    pub edited_at: Option<String>,
    pub deleted: bool,
    pub removed: bool,
    /// Direct replies, including those not shown here.
    pub reply_count: i64,
    /// The direct replies included in this page of the thread.
    pub replies: Vec<Comment>,
    /// The direct replies left out of this page; `null` when none are.
    pub more: Option<More>,
}

/// Comments left out of a page of a thread: `count` of them, fetched with `parent_id` and
/// `cursor` (`GET /posts/{id}/comments?parent_id=&cursor=`).
#[derive(Debug, Clone, Deserialize)]
pub struct More {
    pub count: i64,
    /// The comment whose replies these are; `null` for top-level comments.
    pub parent_id: Option<Uuid>,
    pub cursor: String,
}

/// A page of a comment tree (`GET /posts/{id}/comments`).
#[derive(Debug, Clone, Deserialize)]
pub struct Thread {
    pub items: Vec<Comment>,
    /// What is left at the first level of this page (empty or one entry).
    pub more: Vec<More>,
}

/// `GET /comments/{id}`: the comment and `path`, its ancestors' ids, top level first.
#[derive(Debug, Clone, Deserialize)]
pub struct CommentWithPath {
    #[serde(flatten)]
    pub comment: Comment,
    pub path: Vec<Uuid>,
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
    /// The avatar's URL (its largest variant); `null` without one.
    pub avatar: Option<String>,
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

/// An entry of `GET /me/notifications`.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    pub id: Uuid,
    /// `post_reply`, `comment_reply`, ...
    pub kind: String,
    pub read: bool,
    /// Who replied; `null` when unknown.
    pub actor: Option<Author>,
}

/// A report, as `POST /reports` answers it and `GET /communities/{name}/reports` lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Report {
    pub id: Uuid,
    /// `post` or `comment`.
    pub target_type: String,
    /// The moderator's note, once resolved.
    pub resolution_note: Option<String>,
    /// Open reports on the same target (in the moderators' queue only).
    pub open_reports_on_target: Option<i64>,
}

/// An entry of a community's modlog or of the admins' site-wide one.
#[derive(Debug, Clone, Deserialize)]
pub struct ModlogEntry {
    /// e.g. `remove_post`, `lock_post`, `ban_user`, `remove_community`.
    pub action: String,
    /// The moderator or admin who acted.
    pub actor: Option<Author>,
    /// The user acted on, for actions on users.
    pub target_user: Option<Author>,
    pub reason: Option<String>,
}

/// An entry of `GET /communities/{name}/bans`.
#[derive(Debug, Clone, Deserialize)]
pub struct CommunityBan {
    pub username: String,
}

/// A user as admins see them (`GET /admin/users`).
#[derive(Debug, Clone, Deserialize)]
pub struct AdminUser {
    pub username: String,
    /// Set while the user is banned site-wide.
    pub ban_reason: Option<String>,
}

/// A thread summary (`GET /posts/{id}/summary`, 200).
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    pub summary: String,
    /// `openai`, `anthropic` or `extractive`.
    pub provider: String,
    pub model: String,
    /// RFC 3339.
    pub generated_at: String,
    /// The post's comment count when the summary was made.
    pub comment_count_at: i64,
}

/// `GET /admin/jobs`: every queue's state.
#[derive(Debug, Clone, Deserialize)]
pub struct JobsOverview {
    pub queues: Vec<QueueStats>,
}

/// One queue in `GET /admin/jobs`.
#[derive(Debug, Clone, Deserialize)]
pub struct QueueStats {
    /// e.g. `email`, `images`, `summaries`.
    pub queue: String,
    /// Failed at least once and waiting for their next attempt.
    pub retrying: u64,
    /// Out of attempts.
    pub dead: u64,
    /// The newest dead jobs.
    pub dead_jobs: Vec<DeadJob>,
}

/// A dead job, retried with `POST /admin/jobs/{id}/retry`.
#[derive(Debug, Clone, Deserialize)]
pub struct DeadJob {
    pub id: Uuid,
    pub attempts: u32,
    /// The last attempt's error.
    pub error: String,
    /// The job's payload as the outbox carried it (its shape is the job's, not the API's).
    pub job: serde_json::Value,
}

/// What `POST /admin/jobs/{id}/retry` answers (202).
#[derive(Debug, Clone, Deserialize)]
pub struct RetriedJob {
    pub queue: String,
}

/// `GET /health/ready`, 200 when every dependency answers and 503 otherwise.
#[derive(Debug, Clone, Deserialize)]
pub struct Health {
    pub checks: HealthChecks,
}

/// Each dependency's state: `ok` or `unavailable`.
#[derive(Debug, Clone, Deserialize)]
pub struct HealthChecks {
    pub postgres: String,
    pub redis: String,
}
