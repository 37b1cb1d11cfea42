//! Hot pure code of the domain. Run: `cargo bench -p forum-benches`.

use std::collections::HashSet;
use std::hint::black_box;

use chrono::{Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use forum_domain::model::Comment;
use forum_domain::rules::paging::Cursor;
use forum_domain::rules::tree::{Node, assemble};
use forum_domain::rules::validation::{Email, Username};
use forum_domain::rules::{markdown, ranking};
use forum_domain::secrets::{OpaqueToken, hash_token};
use uuid::Uuid;

fn validation(c: &mut Criterion) {
    c.bench_function("username_parse", |b| {
        b.iter(|| Username::parse("username", black_box("Some_User_42")))
    });
    c.bench_function("email_parse", |b| {
        b.iter(|| Email::parse("email", black_box("first.last+tag@example.org")))
    });
}

fn tokens(c: &mut Criterion) {
    c.bench_function("opaque_token_generate", |b| b.iter(OpaqueToken::generate));
    let token = OpaqueToken::generate().plain;
    c.bench_function("opaque_token_hash", |b| {
        b.iter(|| hash_token(black_box(&token)))
    });
}

fn ranking_functions(c: &mut Criterion) {
    let at = Utc::now() - Duration::hours(5);
    c.bench_function("rank_hot", |b| b.iter(|| ranking::hot(black_box(1234), at)));
    c.bench_function("rank_controversy", |b| {
        b.iter(|| ranking::controversy(black_box(420), black_box(380)))
    });
    c.bench_function("rank_wilson", |b| {
        b.iter(|| ranking::wilson(black_box(420), black_box(38)))
    });
}

#[derive(Clone)]
struct Row {
    id: Uuid,
    parent: Option<Uuid>,
    replies: i64,
}

impl Node for Row {
    fn id(&self) -> Uuid {
        self.id
    }
    fn parent_id(&self) -> Option<Uuid> {
        self.parent
    }
    fn reply_count(&self) -> i64 {
        self.replies
    }
    fn into_comment(self) -> Comment {
        Comment {
            id: self.id,
            post_id: Uuid::nil(),
            parent_id: self.parent,
            depth: 0,
            author: None,
            body: String::new(),
            body_html: String::new(),
            score: 0,
            upvotes: 0,
            downvotes: 0,
            my_vote: 0,
            created_at: Utc::now(),
            edited_at: None,
            removed: false,
            deleted: false,
            reply_count: self.replies,
            replies: Vec::new(),
            more: None,
            report_count: None,
        }
    }
}

/// 10,000 comments: 1,000 top level, each with three replies, each with two replies.
fn tree(c: &mut Criterion) {
    let mut roots = Vec::new();
    let mut rest = Vec::new();
    let mut expanded = HashSet::new();
    for _ in 0..1_000 {
        let root = Uuid::now_v7();
        roots.push(Row {
            id: root,
            parent: None,
            replies: 3,
        });
        expanded.insert(root);
        for _ in 0..3 {
            let mid = Uuid::now_v7();
            rest.push(Row {
                id: mid,
                parent: Some(root),
                replies: 2,
            });
            expanded.insert(mid);
            for _ in 0..2 {
                rest.push(Row {
                    id: Uuid::now_v7(),
                    parent: Some(mid),
                    replies: 0,
                });
            }
        }
    }
    let cursor = |_: Uuid, _: Option<&Row>| String::new();
    c.bench_function("tree_assemble_10000_comments", |b| {
        b.iter(|| assemble(roots.clone(), rest.clone(), &expanded, &cursor))
    });
}

fn rendering(c: &mut Criterion) {
    let text = "# A title\n\nSome **bold** and _italic_ text with a [link](https://example.com) and \
        `code`.\n\n- one\n- two\n- three\n\n> a quote\n\n<script>alert(1)</script>\n\n```\nfn main() {}\n```\n"
        .repeat(8);
    c.bench_function("markdown_render_sanitize_2kb", |b| {
        b.iter(|| markdown::render(black_box(&text)))
    });
}

fn cursors(c: &mut Criterion) {
    let cursor = Cursor {
        scope: "posts:hot".into(),
        key: Some(4_321.123_456_789),
        id: Uuid::now_v7(),
        at: Some(1_763_000_000),
        snapshot: Some(Uuid::now_v7()),
        pos: Some(50),
    };
    let encoded = cursor.encode();
    c.bench_function("cursor_encode", |b| b.iter(|| black_box(&cursor).encode()));
    c.bench_function("cursor_decode", |b| {
        b.iter(|| Cursor::decode(black_box(&encoded), "posts:hot"))
    });
}

criterion_group!(
    benches,
    validation,
    tokens,
    ranking_functions,
    tree,
    rendering,
    cursors
);
criterion_main!(benches);
