//! Loads a deterministic dataset into a fresh database.
//!
//! ```sh
//! eval "$(./scripts/stack.sh env)"
//! cargo run --release -p forum-benches --bin seed -- small            # into database forum_bench
//! cargo run --release -p forum-benches --bin seed -- large --seed 7 --database forum_large
//! cargo run --release -p forum-benches --bin seed -- custom --users 10 --communities 2 \
//!     --posts 100 --comments 1000 --votes 2000
//! ```
//! Every user's password is `bench-password-123`. Point the API at the database with
//! `FORUM_DATABASE_URL=.../forum_bench FORUM_MIGRATE_ON_START=false`.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, bail};
use forum_benches::seed::{self, Sizes};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut sizes = match args.next().as_deref() {
        Some("small") | None => Sizes::SMALL,
        Some("large") => Sizes::LARGE,
        Some("custom") => Sizes {
            users: 0,
            communities: 0,
            posts: 0,
            comments: 0,
            votes: 0,
        },
        Some(other) => bail!("size is small, large or custom, not {other}"),
    };
    let mut seed_value = 1i64;
    let mut database = "forum_bench".to_string();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        let n = || {
            value
                .parse::<i64>()
                .with_context(|| format!("{flag} {value}"))
        };
        match flag.as_str() {
            "--seed" => seed_value = n()?,
            "--users" => sizes.users = n()?,
            "--communities" => sizes.communities = n()?,
            "--posts" => sizes.posts = n()?,
            "--comments" => sizes.comments = n()?,
            "--votes" => sizes.votes = n()?,
            "--database" => database = value.clone(),
            other => bail!("unknown option {other}"),
        }
    }
    if sizes.users < 1 || sizes.communities < 1 || sizes.posts < 1 {
        bail!("at least one user, community and post");
    }
    let mut db = forum_benches::fresh_database(&database).await?;
    let hash = forum_domain::secrets::hash_password(seed::PASSWORD)
        .map_err(|e| anyhow::anyhow!("hashing: {e}"))?;

    println!("seeding {database} with {sizes:?}, seed {seed_value}");
    let started = Instant::now();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    seed::load(
        &mut db,
        sizes,
        seed_value,
        now,
        &hash,
        |i, n, name, took| {
            let done = i * 30 / n;
            print!(
                "\r[{}{}] {i}/{n} {name} ({:.1} s)                    ",
                "#".repeat(done),
                ".".repeat(30 - done),
                took.as_secs_f64()
            );
            let _ = std::io::stdout().flush();
            if i == n {
                println!();
            }
        },
    )
    .await?;
    let counts: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM posts),
                (SELECT count(*) FROM comments), (SELECT count(*) FROM post_votes),
                (SELECT count(*) FROM comment_votes)",
    )
    .fetch_one(&mut db)
    .await?;
    println!(
        "loaded in {:.1} s: {} users, {} posts, {} comments, {} post votes, {} comment votes",
        started.elapsed().as_secs_f64(),
        counts.0,
        counts.1,
        counts.2,
        counts.3,
        counts.4
    );
    Ok(())
}
