//! Listing query plans at scale: creates a scratch database, generates posts with SQL (one
//! million by default), and prints `EXPLAIN (ANALYZE, BUFFERS)` of each listing's first page and
//! of a page further down.
//!
//! ```sh
//! ./scripts/stack.sh && eval "$(./scripts/stack.sh env)"
//! cargo run --release -p forum-benches --bin listing-plans -- 1000000
//! ```

use std::time::Instant;

use forum_domain::model::{Sort, Window};
use forum_domain::rules::paging::Cursor;
use forum_domain::store::posts::{self, Listing, Scope};
use sqlx::Executor;
use uuid::Uuid;

const DB: &str = "forum_listing_plans";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let posts: i64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let mut db = forum_benches::fresh_database(DB).await?;
    // Bulk generation takes longer than the app's statement timeout allows.
    db.execute("SET statement_timeout = 0").await?;

    let started = Instant::now();
    db.execute(
        "INSERT INTO users (id, username, email, password_hash)
         SELECT gen_random_uuid(), 'user' || g, 'user' || g || '@example.com', 'x' FROM generate_series(1, 1000) g",
    )
    .await?;
    db.execute(
        "INSERT INTO communities (id, name, title) SELECT gen_random_uuid(), 'community_' || g, 'Community ' || g
         FROM generate_series(1, 1000) g",
    )
    .await?;
    // Posts over one year, in 1,000 communities, with skewed scores.
    sqlx::query(
        "INSERT INTO posts (id, community_id, author_id, title, body, created_at, upvotes, downvotes, score)
         SELECT gen_random_uuid(), c.ids[1 + (g * 7919) % 1000], u.ids[1 + g % 1000], 'Post number ' || g,
                'Generated body ' || g, now() - (g::bigint * 31536000 / $1) * interval '1 second',
                (g * 31) % 500 / (1 + g % 7), (g * 17) % 60 / (1 + g % 5),
                (g * 31) % 500 / (1 + g % 7) - (g * 17) % 60 / (1 + g % 5)
         FROM generate_series(1, $1) g,
              (SELECT array_agg(id) AS ids FROM communities) c,
              (SELECT array_agg(id) AS ids FROM users) u",
    )
    .bind(posts)
    .execute(&mut db)
    .await?;
    db.execute("VACUUM ANALYZE").await?;
    println!("generated {posts} posts in {:.1?}\n", started.elapsed());

    let (community,): (Uuid,) =
        sqlx::query_as("SELECT id FROM communities ORDER BY post_count DESC, id LIMIT 1")
            .fetch_one(&mut db)
            .await?;
    let listings = [
        ("hot, all communities", Sort::Hot, Window::All, Scope::All),
        ("new, all communities", Sort::New, Window::All, Scope::All),
        (
            "hot, one community",
            Sort::Hot,
            Window::All,
            Scope::Community(community),
        ),
        (
            "new, one community",
            Sort::New,
            Window::All,
            Scope::Community(community),
        ),
        ("top of the week", Sort::Top, Window::Week, Scope::All),
        ("top of all time", Sort::Top, Window::All, Scope::All),
        (
            "controversial of all time",
            Sort::Controversial,
            Window::All,
            Scope::All,
        ),
        ("rising", Sort::Rising, Window::All, Scope::All),
    ];
    for (name, sort, window, scope) in listings {
        let first = Listing {
            sort,
            window,
            scope,
            after: None,
            limit: 25,
            include_removed: false,
        };
        // A cursor 2,000 rows down: the page a reader reaches after 80 pages.
        let rows = posts::list(
            &mut db,
            &Listing {
                limit: 2000,
                ..first.clone()
            },
        )
        .await?;
        let deep = rows.last().map(|r| first.cursor_for(r));
        for (label, after) in [("first page", None), ("after 500 rows", deep)] {
            let listing = Listing {
                after: after.map(|c: Cursor| c),
                ..first.clone()
            };
            let mut qb = posts::explain_analyze_listing(&listing);
            let plan: Vec<(String,)> = qb.build_query_as().fetch_all(&mut db).await?;
            println!("== {name}, {label}");
            for (line,) in plan {
                println!("{line}");
            }
            println!();
        }
    }
    drop(db);
    forum_benches::drop_database(DB).await?;
    Ok(())
}
