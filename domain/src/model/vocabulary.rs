//! The words clients use to ask for things, one type each, shared by every layer: the query
//! string parses straight into them, the store orders by them, cursors name them.

use chrono::Duration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a post listing is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    #[default]
    Hot,
    New,
    Top,
    Controversial,
    Rising,
}

/// The time window of `top` and `controversial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    Hour,
    #[default]
    Day,
    Week,
    Month,
    Year,
    All,
}

impl Window {
    pub fn duration(self) -> Option<Duration> {
        match self {
            Window::Hour => Some(Duration::hours(1)),
            Window::Day => Some(Duration::days(1)),
            Window::Week => Some(Duration::weeks(1)),
            Window::Month => Some(Duration::days(30)),
            Window::Year => Some(Duration::days(365)),
            Window::All => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "hour",
            Window::Day => "day",
            Window::Week => "week",
            Window::Month => "month",
            Window::Year => "year",
            Window::All => "all",
        }
    }
}

/// How post search results are ordered: best match (the default), newest, or highest score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SearchSort {
    #[default]
    Relevance,
    New,
    Top,
}

impl SearchSort {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchSort::Relevance => "relevance",
            SearchSort::New => "new",
            SearchSort::Top => "top",
        }
    }
}

/// How the comments of a thread are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommentSort {
    #[default]
    Best,
    Top,
    New,
    Old,
    Controversial,
}

impl CommentSort {
    pub fn as_str(self) -> &'static str {
        match self {
            CommentSort::Best => "best",
            CommentSort::Top => "top",
            CommentSort::New => "new",
            CommentSort::Old => "old",
            CommentSort::Controversial => "controversial",
        }
    }
}

/// How one user's posts or comments are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthorSort {
    #[default]
    New,
    Top,
}

impl AuthorSort {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorSort::New => "new",
            AuthorSort::Top => "top",
        }
    }
}

/// How the community directory is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommunitySort {
    /// Most members first.
    #[default]
    Popular,
    New,
}

/// Where a report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    #[default]
    Open,
    Resolved,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "open",
            ReportStatus::Resolved => "resolved",
        }
    }
}
