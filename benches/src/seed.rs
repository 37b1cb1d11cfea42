//! A deterministic forum dataset, generated inside Postgres.
//!
//! Every row comes from `generate_series` and a hash of (seed, stream, row number), so the same
//! seed gives the same data on any machine, and nothing crosses the wire but SQL: faster than
//! COPY from the client for synthetic rows. Votes are rows in `post_votes`/`comment_votes`; the
//! counters (scores, comment and reply counts, karma, member and post counts) are then computed
//! from those rows, so they are exactly what the API would have produced, and the ranks are the
//! generated columns of the schema.

use std::time::Instant;

use sqlx::{Executor, PgConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub users: i64,
    pub communities: i64,
    pub posts: i64,
    pub comments: i64,
    pub votes: i64,
}

impl Sizes {
    pub const SMALL: Sizes = Sizes {
        users: 1_000,
        communities: 50,
        posts: 10_000,
        comments: 100_000,
        votes: 200_000,
    };
    pub const LARGE: Sizes = Sizes {
        users: 100_000,
        communities: 1_000,
        posts: 1_000_000,
        comments: 5_000_000,
        votes: 10_000_000,
    };
}

/// The password of every generated user.
pub const PASSWORD: &str = "bench-password-123";

/// Steps, each one SQL statement, with a name for the progress line. `$1` is the seed.
fn steps(s: Sizes, password_hash: &str) -> Vec<(&'static str, String)> {
    let Sizes {
        users: u,
        communities: c,
        posts: p,
        comments: m,
        votes: v,
    } = s;
    // Post votes and comment votes share the total 7:3.
    let vp = v * 7 / 10;
    let vc = v - vp;
    // Comments by depth: 40 % top level, then 30 %, 20 %, 10 % one level deeper each.
    let m0 = (m * 4 / 10).max(1);
    let m1 = m * 3 / 10;
    let m2 = m * 2 / 10;
    let m3 = m - m0 - m1 - m2;
    let k = 5.min(c).max(1);
    let step = (c / k).max(1);
    let words = "ARRAY['rust','go','postgres','redis','queue','summary','image','thread','vote',\
        'community','forum','latency','cache','index','query','backend','frontend','release','bug',\
        'feature','design','review','test','benchmark','server','client','async','tokio','actix',\
        'sqlx','moderation','report','ban','karma','comment','post','title','search','ranking',\
        'hot','new','top','rising','controversial','cursor','page','limit','budget','quota','error']";
    let text = |stream: u32, n: u32| {
        format!(
            "(SELECT string_agg(({words})[1 + floor(r(g * 7 + w, $1 * 64 + {stream}) * 50)::int], ' ')
              FROM generate_series(1, {n}) w)"
        )
    };
    let id = |kind: &str, expr: &str| format!("md5($1 || ':{kind}:' || ({expr}))::uuid");
    vec![
        ("users", format!(
            "INSERT INTO users (id, username, email, password_hash, email_verified, created_at)
             SELECT {uid}, 'u' || g, 'u' || g || '@example.com', '{password_hash}', true,
                    now() - r(g, $1 * 64 + 1) * interval '730 days'
             FROM generate_series(1, {u}) g",
            uid = id("u", "g")
        )),
        ("communities", format!(
            "INSERT INTO communities (id, name, title, description, owner_id, created_at)
             SELECT {cid}, 'c' || g, 'Community ' || g, {desc}, {owner},
                    now() - r(g, $1 * 64 + 2) * interval '700 days'
             FROM generate_series(1, {c}) g",
            cid = id("c", "g"),
            desc = text(3, 12),
            owner = id("u", &format!("1 + (g * 7919) % {u}"))
        )),
        ("moderators", "INSERT INTO community_moderators (community_id, user_id, role)
             SELECT id, owner_id, 'owner' FROM communities".into()),
        ("members", format!(
            "INSERT INTO community_members (community_id, user_id)
             SELECT {cid}, {uid} FROM generate_series(1, {u}) g, generate_series(0, {k} - 1) j
             ON CONFLICT DO NOTHING",
            cid = id("c", &format!("1 + ((g * 31 + j * {step}) % {c})")),
            uid = id("u", "g")
        )),
        ("posts", format!(
            "INSERT INTO posts (id, community_id, author_id, title, body, body_html, created_at)
             SELECT {pid}, {cid}, {uid}, t.title, t.body, '<p>' || t.body || '</p>',
                    now() - r(g, $1 * 64 + 4) * interval '365 days'
             FROM generate_series(1, {p}) g,
                  LATERAL (SELECT initcap({title}) AS title, {body} || '.' AS body) t",
            pid = id("p", "g"),
            cid = id("c", &format!("1 + floor({c} * r(g, $1 * 64 + 5) ^ 2)::bigint")),
            uid = id("u", &format!("1 + floor({u} * r(g, $1 * 64 + 6))::bigint")),
            title = text(7, 6),
            body = text(8, 30)
        )),
        ("comments, top level", format!(
            "INSERT INTO comments (id, post_id, parent_id, author_id, path, depth, body, body_html, created_at)
             SELECT {mid}, pp.id, NULL, {uid}, '{{}}', 0, b.body, '<p>' || b.body || '</p>',
                    pp.created_at + r(g, $1 * 64 + 9) * interval '2 days'
             FROM generate_series(1, {m0}) g
             JOIN posts pp ON pp.id = {pid}
             CROSS JOIN LATERAL (SELECT {body} AS body) b",
            mid = id("m", "g"),
            // Skewed to few posts, so some threads are large (post 1 the largest).
            pid = id("p", &format!("1 + floor({p} * r(g, $1 * 64 + 10) ^ 3)::bigint")),
            uid = id("u", &format!("1 + floor({u} * r(g, $1 * 64 + 11))::bigint")),
            body = text(12, 18)
        )),
        ("comments, replies", reply_level(1, m0 + 1, m0 + m1, 1, m0, u)),
        ("comments, replies to replies", reply_level(2, m0 + m1 + 1, m0 + m1 + m2, m0 + 1, m0 + m1, u)),
        ("comments, deeper replies", reply_level(3, m0 + m1 + m2 + 1, m0 + m1 + m2 + m3, m0 + m1 + 1, m0 + m1 + m2, u)),
        ("post votes", format!(
            "INSERT INTO post_votes (user_id, post_id, value, voted_at)
             SELECT {uid}, {pid}, CASE WHEN r(g, $1 * 64 + 20) < 0.8 THEN 1 ELSE -1 END, now()
             FROM generate_series(1, {vp}) g
             ON CONFLICT DO NOTHING",
            uid = id("u", &format!("1 + floor({u} * r(g, $1 * 64 + 21))::bigint")),
            pid = id("p", &format!("1 + floor({p} * r(g, $1 * 64 + 22) ^ 2)::bigint"))
        )),
        ("comment votes", format!(
            "INSERT INTO comment_votes (user_id, comment_id, value, voted_at)
             SELECT {uid}, {mid}, CASE WHEN r(g, $1 * 64 + 23) < 0.75 THEN 1 ELSE -1 END, now()
             FROM generate_series(1, {vc}) g
             WHERE {m} > 0
             ON CONFLICT DO NOTHING",
            uid = id("u", &format!("1 + floor({u} * r(g, $1 * 64 + 24))::bigint")),
            mid = id("m", &format!("1 + floor({m} * r(g, $1 * 64 + 25) ^ 2)::bigint"))
        )),
        ("post counters", "UPDATE posts p SET upvotes = v.up, downvotes = v.down, score = v.up - v.down
             FROM (SELECT post_id, count(*) FILTER (WHERE value = 1)::int AS up,
                          count(*) FILTER (WHERE value = -1)::int AS down
                   FROM post_votes GROUP BY post_id) v
             WHERE v.post_id = p.id".into()),
        ("comment counters", "UPDATE comments c SET upvotes = v.up, downvotes = v.down, score = v.up - v.down
             FROM (SELECT comment_id, count(*) FILTER (WHERE value = 1)::int AS up,
                          count(*) FILTER (WHERE value = -1)::int AS down
                   FROM comment_votes GROUP BY comment_id) v
             WHERE v.comment_id = c.id".into()),
        ("reply counts", "UPDATE comments c SET reply_count = r.n
             FROM (SELECT parent_id, count(*)::int AS n FROM comments WHERE parent_id IS NOT NULL GROUP BY parent_id) r
             WHERE r.parent_id = c.id".into()),
        ("comment counts", "UPDATE posts p SET comment_count = m.n, thread_changes = m.n
             FROM (SELECT post_id, count(*)::int AS n FROM comments GROUP BY post_id) m
             WHERE m.post_id = p.id".into()),
        ("karma", "UPDATE users u SET post_karma = coalesce(pk.k, 0), comment_karma = coalesce(ck.k, 0)
             FROM users u2
             LEFT JOIN (SELECT author_id, sum(score)::bigint AS k FROM posts GROUP BY author_id) pk ON pk.author_id = u2.id
             LEFT JOIN (SELECT author_id, sum(score)::bigint AS k FROM comments GROUP BY author_id) ck ON ck.author_id = u2.id
             WHERE u.id = u2.id AND (pk.k IS NOT NULL OR ck.k IS NOT NULL)".into()),
        ("community counts", "UPDATE communities c SET member_count = coalesce(m.n, 0), post_count = coalesce(p.n, 0)
             FROM communities c2
             LEFT JOIN (SELECT community_id, count(*) AS n FROM community_members GROUP BY community_id) m ON m.community_id = c2.id
             LEFT JOIN (SELECT community_id, count(*) AS n FROM posts GROUP BY community_id) p ON p.community_id = c2.id
             WHERE c.id = c2.id".into()),
    ]
}

/// Comments `from..=to` (global numbers) at `depth`, each replying to one of `parents_from..=parents_to`.
fn reply_level(
    depth: u32,
    from: i64,
    to: i64,
    parents_from: i64,
    parents_to: i64,
    u: i64,
) -> String {
    let parents = (parents_to - parents_from + 1).max(1);
    let stream = 12 + depth * 2;
    format!(
        "INSERT INTO comments (id, post_id, parent_id, author_id, path, depth, body, body_html, created_at)
         SELECT md5($1 || ':m:' || g)::uuid, par.post_id, par.id,
                md5($1 || ':u:' || (1 + floor({u} * r(g, $1 * 64 + {s1}))::bigint))::uuid,
                par.path || par.id, {depth}, par.body_reply, '<p>' || par.body_reply || '</p>',
                par.created_at + r(g, $1 * 64 + {s2}) * interval '1 day'
         FROM generate_series({from}, {to}) g
         CROSS JOIN LATERAL (
             SELECT c.id, c.post_id, c.path, c.created_at, 'Re: ' || left(c.body, 60) AS body_reply
             FROM comments c
             WHERE c.id = md5($1 || ':m:' || ({parents_from} + floor({parents} * r(g, $1 * 64 + {stream}) ^ 2)::bigint))::uuid
         ) par",
        s1 = stream + 1,
        s2 = stream + 2,
    )
}

/// Loads a dataset into `db` (migrated, empty). `progress` is told each step as it ends.
pub async fn load(
    db: &mut PgConnection,
    sizes: Sizes,
    seed: i64,
    password_hash: &str,
    mut progress: impl FnMut(usize, usize, &str, std::time::Duration),
) -> anyhow::Result<()> {
    db.execute("SET statement_timeout = 0").await?;
    // Hash-based uniform numbers in [0, 1): the same (row, stream) gives the same number anywhere.
    db.execute(
        "CREATE OR REPLACE FUNCTION r(g bigint, s bigint) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
         $$ SELECT (hashint8extended(g, s) & 9223372036854775807)::float8 / 9223372036854775808.0 $$",
    )
    .await?;
    let steps = steps(sizes, password_hash);
    let total = steps.len();
    for (i, (name, sql)) in steps.into_iter().enumerate() {
        let started = Instant::now();
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(seed)
            .execute(&mut *db)
            .await
            .map_err(|e| anyhow::anyhow!("step {name}: {e}"))?;
        progress(i + 1, total, name, started.elapsed());
    }
    db.execute("DROP FUNCTION r(bigint, bigint)").await?;
    db.execute("ANALYZE").await?;
    Ok(())
}
