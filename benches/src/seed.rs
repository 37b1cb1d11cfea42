//! A deterministic forum dataset, generated inside Postgres.
//!
//! Every value comes from `generate_series` and a hash of (seed, stream, row number), so the same
//! seed and base time give the same data on any machine, and nothing crosses the wire but SQL:
//! faster than COPY from the client for synthetic rows.
//!
//! Bulk loading is built like `pg_restore`: keys, indexes and foreign keys are dropped first and
//! rebuilt at the end (one sorted build each instead of millions of random inserts), and every
//! row is written once, already carrying its counters. Votes are generated first (as numbers, in
//! temporary tables), so scores, comment and reply counts, karma, member and post counts are
//! aggregates of the very rows that are then inserted: exactly what the API would have produced.
//! The ranks are the generated columns of the schema. Post and comment ids are UUIDv7 of their
//! creation time, as the API makes them, so "new" stays an id scan.

use std::time::{Duration, Instant};

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

/// The tables the generator fills; their keys and indexes are rebuilt after the load.
const TABLES: [&str; 9] = [
    "users",
    "communities",
    "community_members",
    "community_moderators",
    "posts",
    "post_search",
    "comments",
    "post_votes",
    "comment_votes",
];

/// Words of the generated text: made-up words of two or three syllables, picked with a cubic
/// skew, so a few are very common and most are rare, as in real text. Ranks 200-249 are real
/// words (what the search scenario asks for), each in about 1 % of posts.
const REAL_WORDS: &str = "'{rust,go,postgres,redis,queue,summary,image,thread,vote,community,forum,\
    latency,cache,index,query,backend,frontend,release,bug,feature,design,review,test,benchmark,\
    server,client,async,tokio,actix,sqlx,moderation,report,ban,karma,comment,post,title,search,\
    ranking,hot,new,top,rising,controversial,cursor,page,limit,budget,quota,error}'::text[]";
const SYLLABLES: &str = "'{ka,lo,mi,ne,ru,ta,vo,zi,bel,dor,fen,gar,hul,jin,kor,lum,mar,nix,pol,qua,\
    ros,sul,tor,vex}'::text[]";
const VOCABULARY: i64 = 24 * 24 * 24;

/// Helper functions, created for the load and dropped with it. Sizes, seed and base time are
/// baked in, so each is a plain expression Postgres inlines: they are STABLE because their
/// bodies are (`text || bigint`, `timestamptz - interval`), and a function claiming more than
/// its body is never inlined, which costs ~20 µs a call.
fn functions(s: Sizes, seed: i64, base_unix: i64) -> Vec<String> {
    let Sizes {
        users: u,
        communities: c,
        posts: p,
        ..
    } = s;
    vec![
        // Uniform in [0, 1): the same (row, stream) gives the same number anywhere.
        format!(
            "CREATE FUNCTION seed_r(g bigint, s bigint) RETURNS float8 LANGUAGE sql STABLE PARALLEL SAFE
             RETURN (hashint8extended(g, {seed} * 64 + s) & 9223372036854775807)::float8 / 9223372036854775808.0"
        ),
        // A UUIDv7 of `t` whose other bits come from the hex digest `h`.
        "CREATE FUNCTION seed_v7(t timestamptz, h text) RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE
         RETURN (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7' || substr(h, 1, 3)
                 || '8' || substr(h, 4, 15))::uuid".into(),
        format!("CREATE FUNCTION seed_uid(n bigint) RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE
                 RETURN md5('{seed}:u:' || n)::uuid"),
        format!("CREATE FUNCTION seed_cid(n bigint) RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE
                 RETURN md5('{seed}:c:' || n)::uuid"),
        format!("CREATE FUNCTION seed_post_at(n bigint) RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE
                 RETURN to_timestamp({base_unix}) - seed_r(n, 4) * interval '365 days'"),
        format!("CREATE FUNCTION seed_pid(n bigint) RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE
                 RETURN seed_v7(seed_post_at(n), md5('{seed}:p:' || n))"),
        format!("CREATE FUNCTION seed_mid(n bigint, at timestamptz) RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE
                 RETURN seed_v7(at, md5('{seed}:m:' || n))"),
        // Communities skewed to the first ones, so some are busy.
        format!("CREATE FUNCTION seed_post_community(n bigint) RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
                 RETURN 1 + floor({c} * seed_r(n, 5) ^ 2)::bigint"),
        format!("CREATE FUNCTION seed_post_author(n bigint) RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
                 RETURN 1 + floor({u} * seed_r(n, 6))::bigint"),
        format!("CREATE FUNCTION seed_comment_author(n bigint) RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
                 RETURN 1 + floor({u} * seed_r(n, 11))::bigint"),
        // Top-level comments skewed to few posts, so some threads are large.
        format!("CREATE FUNCTION seed_comment_post(n bigint) RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE
                 RETURN 1 + floor({p} * seed_r(n, 10) ^ 3)::bigint"),
    ]
}

/// `n` words of stream `stream` for the row numbered by column `g`. Written out rather than a
/// function: Postgres does not inline this one, and a call per word was 5× the whole expression.
fn text(stream: u32, n: u32, g: &str) -> String {
    format!(
        "(SELECT string_agg(CASE WHEN i BETWEEN 200 AND 249 THEN ({REAL_WORDS})[i - 199]
                 ELSE ({SYLLABLES})[1 + i % 24] || ({SYLLABLES})[1 + i / 24 % 24]
                      || CASE WHEN i >= 576 THEN ({SYLLABLES})[1 + i / 576 % 24] ELSE '' END END, ' ')
          FROM generate_series(1, {n}) w,
               LATERAL (SELECT floor({VOCABULARY} * seed_r({g} * 64 + w, {stream}) ^ 3)::int AS i) wi)"
    )
}

/// The load's steps after the keys are dropped: a name for the progress line and its statements.
fn steps(s: Sizes, password_hash: &str, base_unix: i64) -> Vec<(&'static str, Vec<String>)> {
    let Sizes {
        users: u,
        communities: c,
        posts: p,
        comments: m,
        votes: v,
    } = s;
    // Post votes and comment votes share the total 7:3.
    let vp = v * 7 / 10;
    let vc = if m > 0 { v - vp } else { 0 };
    // Comments by depth: 40 % top level, then 30 %, 20 %, 10 % one level deeper each.
    let m0 = if m > 0 { (m * 4 / 10).max(1) } else { 0 };
    let m1 = m * 3 / 10;
    let m2 = m * 2 / 10;
    // Every user joins k communities, k distinct ones: (31 g + j step) mod c differs for each j < k.
    let k = 5.min(c).max(1);
    let step = (c / k).max(1);
    let base = format!("to_timestamp({base_unix})");
    let reply_level = |depth: u32, from: i64, to: i64, parents_from: i64, parents_to: i64| {
        let parents = (parents_to - parents_from + 1).max(1);
        let stream = 12 + depth * 2;
        // Replies skewed to the first parents, so some sub-threads are deep and busy.
        format!(
            "INSERT INTO seed_cm (n, depth, pn, parent_n, parent_id, id, path, at)
             SELECT g, {depth}, par.pn, par.n, par.id, seed_mid(g, t.at), par.path || par.id, t.at
             FROM generate_series({from}, {to}) g
             JOIN seed_cm par ON par.n = {parents_from} + floor({parents} * seed_r(g, {stream}) ^ 2)::bigint
             CROSS JOIN LATERAL (SELECT par.at + seed_r(g, {s2}) * interval '1 day' AS at) t",
            s2 = stream + 2,
        )
    };
    vec![
        ("post votes", vec![
            // One vote per (user, post): duplicates of a pair keep the first row.
            format!(
                "CREATE TEMP TABLE seed_pv AS
                 SELECT DISTINCT ON (un, pn) un, pn, value FROM (
                     SELECT g, 1 + floor({u} * seed_r(g, 21))::bigint AS un,
                            1 + floor({p} * seed_r(g, 22) ^ 2)::bigint AS pn,
                            CASE WHEN seed_r(g, 20) < 0.8 THEN 1 ELSE -1 END AS value
                     FROM generate_series(1, {vp}) g) x
                 ORDER BY un, pn, g"
            ),
            format!(
                "INSERT INTO post_votes (user_id, post_id, value, voted_at)
                 SELECT seed_uid(un), seed_pid(pn), value, {base} FROM seed_pv"
            ),
            "ANALYZE seed_pv".into(),
        ]),
        ("comment tree", vec![
            "CREATE TEMP TABLE seed_cm (n bigint, depth int, pn bigint, parent_n bigint, parent_id uuid,
                                        id uuid, path uuid[], at timestamptz)".into(),
            format!(
                "INSERT INTO seed_cm (n, depth, pn, parent_n, parent_id, id, path, at)
                 SELECT g, 0, t.pn, NULL, NULL, seed_mid(g, t.at), '{{}}', t.at
                 FROM generate_series(1, {m0}) g
                 CROSS JOIN LATERAL (SELECT seed_comment_post(g) AS pn,
                     seed_post_at(seed_comment_post(g)) + seed_r(g, 9) * interval '2 days' AS at) t"
            ),
            "ANALYZE seed_cm".into(),
            reply_level(1, m0 + 1, m0 + m1, 1, m0),
            "ANALYZE seed_cm".into(),
            reply_level(2, m0 + m1 + 1, m0 + m1 + m2, m0 + 1, m0 + m1),
            "ANALYZE seed_cm".into(),
            reply_level(3, m0 + m1 + m2 + 1, m, m0 + m1 + 1, m0 + m1 + m2),
            "ANALYZE seed_cm".into(),
        ]),
        ("comment votes", vec![
            format!(
                "CREATE TEMP TABLE seed_cv AS
                 SELECT DISTINCT ON (un, cn) un, cn, value FROM (
                     SELECT g, 1 + floor({u} * seed_r(g, 24))::bigint AS un,
                            1 + floor({m} * seed_r(g, 25) ^ 2)::bigint AS cn,
                            CASE WHEN seed_r(g, 23) < 0.75 THEN 1 ELSE -1 END AS value
                     FROM generate_series(1, {vc}) g) x
                 ORDER BY un, cn, g"
            ),
            "ANALYZE seed_cv".into(),
            format!(
                "INSERT INTO comment_votes (user_id, comment_id, value, voted_at)
                 SELECT seed_uid(v.un), c.id, v.value, {base} FROM seed_cv v JOIN seed_cm c ON c.n = v.cn"
            ),
        ]),
        ("comments", vec![format!(
            "INSERT INTO comments (id, post_id, parent_id, author_id, path, depth, body, body_html, created_at,
                                   score, upvotes, downvotes, reply_count)
             SELECT c.id, seed_pid(c.pn), c.parent_id, seed_uid(seed_comment_author(c.n)), c.path, c.depth,
                    b.body, '<p>' || b.body || '</p>', c.at,
                    coalesce(v.up - v.down, 0), coalesce(v.up, 0), coalesce(v.down, 0), coalesce(r.n, 0)
             FROM seed_cm c
             CROSS JOIN LATERAL (SELECT CASE WHEN c.depth = 0 THEN '' ELSE 'Re: ' END || {body} || '.' AS body) b
             LEFT JOIN (SELECT cn, count(*) FILTER (WHERE value = 1)::int AS up,
                               count(*) FILTER (WHERE value = -1)::int AS down
                        FROM seed_cv GROUP BY cn) v ON v.cn = c.n
             LEFT JOIN (SELECT parent_n, count(*)::int AS n FROM seed_cm WHERE parent_n IS NOT NULL
                        GROUP BY parent_n) r ON r.parent_n = c.n",
            body = text(12, 18, "c.n")
        )]),
        ("posts", vec![format!(
            "INSERT INTO posts (id, community_id, author_id, title, body, body_html, created_at,
                                score, upvotes, downvotes, comment_count, thread_changes)
             SELECT seed_pid(g), seed_cid(seed_post_community(g)), seed_uid(seed_post_author(g)),
                    t.title, t.body, '<p>' || t.body || '</p>', seed_post_at(g),
                    coalesce(v.up - v.down, 0), coalesce(v.up, 0), coalesce(v.down, 0),
                    coalesce(m.n, 0), coalesce(m.n, 0)
             FROM generate_series(1, {p}) g
             CROSS JOIN LATERAL (SELECT initcap({title}) AS title, {body} || '.' AS body) t
             LEFT JOIN (SELECT pn, count(*) FILTER (WHERE value = 1)::int AS up,
                               count(*) FILTER (WHERE value = -1)::int AS down
                        FROM seed_pv GROUP BY pn) v ON v.pn = g
             LEFT JOIN (SELECT pn, count(*)::int AS n FROM seed_cm GROUP BY pn) m ON m.pn = g",
            title = text(7, 6, "g"),
            body = text(8, 30, "g")
        )]),
        // What the posts' search trigger (off during the load) would have written.
        ("search documents", vec![
            "INSERT INTO post_search (post_id, community_id, search)
             SELECT id, community_id, post_search_document(title, body) FROM posts".into(),
        ]),
        ("users", vec![format!(
            "INSERT INTO users (id, username, email, password_hash, email_verified, created_at,
                                post_karma, comment_karma)
             SELECT seed_uid(g), 'u' || g, 'u' || g || '@example.com', '{password_hash}', true,
                    {base} - seed_r(g, 1) * interval '730 days', coalesce(pk.k, 0), coalesce(ck.k, 0)
             FROM generate_series(1, {u}) g
             LEFT JOIN (SELECT seed_post_author(pn) AS a, sum(value)::bigint AS k FROM seed_pv GROUP BY 1) pk
                    ON pk.a = g
             LEFT JOIN (SELECT seed_comment_author(cn) AS a, sum(value)::bigint AS k FROM seed_cv GROUP BY 1) ck
                    ON ck.a = g"
        )]),
        ("communities", vec![
            format!(
                "INSERT INTO community_members (community_id, user_id)
                 SELECT seed_cid(1 + (g * 31 + j * {step}) % {c}), seed_uid(g)
                 FROM generate_series(1, {u}) g, generate_series(0, {k} - 1) j"
            ),
            format!(
                "INSERT INTO communities (id, name, title, description, owner_id, created_at,
                                          member_count, post_count)
                 SELECT seed_cid(g), 'c' || g, 'Community ' || g, {desc}, seed_uid(1 + (g * 7919) % {u}),
                        {base} - seed_r(g, 2) * interval '700 days', coalesce(mc.n, 0), coalesce(pc.n, 0)
                 FROM generate_series(1, {c}) g
                 LEFT JOIN (SELECT 1 + (g * 31 + j * {step}) % {c} AS cn, count(*) AS n
                            FROM generate_series(1, {u}) g, generate_series(0, {k} - 1) j GROUP BY 1) mc
                        ON mc.cn = g
                 LEFT JOIN (SELECT seed_post_community(g) AS cn, count(*) AS n
                            FROM generate_series(1, {p}) g GROUP BY 1) pc ON pc.cn = g",
                desc = text(3, 12, "g")
            ),
            "INSERT INTO community_moderators (community_id, user_id, role)
             SELECT id, owner_id, 'owner' FROM communities".into(),
        ]),
    ]
}

/// Statements that drop the keys, indexes and foreign keys of `TABLES` (and the foreign keys
/// pointing at them), and those that rebuild them afterwards, grouped by table.
async fn keys(db: &mut PgConnection) -> anyhow::Result<(Vec<String>, Vec<(String, Vec<String>)>)> {
    let tables: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
    // (table, order, create, drop): keys before indexes before foreign keys when rebuilding.
    let rows: Vec<(String, i32, String, String)> = sqlx::query_as(
        "WITH t AS (SELECT unnest($1::text[])::regclass AS rel)
         SELECT * FROM (
         SELECT conrelid::regclass::text AS tbl, CASE contype WHEN 'f' THEN 3 ELSE 1 END AS ord,
                format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) AS make,
                format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname) AS undo
         FROM pg_constraint
         WHERE (contype IN ('p', 'u') AND conrelid IN (SELECT rel FROM t))
            OR (contype = 'f' AND (conrelid IN (SELECT rel FROM t) OR confrelid IN (SELECT rel FROM t)))
         UNION ALL
         SELECT i.indrelid::regclass::text, 2, pg_get_indexdef(i.indexrelid),
                format('DROP INDEX %s', i.indexrelid::regclass)
         FROM pg_index i
         WHERE i.indrelid IN (SELECT rel FROM t)
           AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                           WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))
         ) k ORDER BY ord = 3, tbl, ord, make",
    )
    .bind(&tables)
    .fetch_all(&mut *db)
    .await?;
    // Foreign keys go first, then keys (other constraints may depend on them), then indexes.
    let mut drops: Vec<(i32, String)> = rows
        .iter()
        .map(|(_, order, _, drop)| {
            let rank = match order {
                3 => 0,
                1 => 1,
                _ => 2,
            };
            (rank, drop.clone())
        })
        .collect();
    drops.sort_by_key(|(order, _)| *order);
    let mut rebuild: Vec<(String, Vec<String>)> = Vec::new();
    for (table, order, create, _) in rows {
        let name = if order == 3 {
            "foreign keys".to_string()
        } else {
            format!("keys and indexes of {table}")
        };
        match rebuild.last_mut() {
            Some((last, statements)) if *last == name => statements.push(create),
            _ => rebuild.push((name, vec![create])),
        }
    }
    Ok((drops.into_iter().map(|(_, d)| d).collect(), rebuild))
}

/// Loads a dataset into `db` (migrated, empty), in one transaction. `base_unix` is "now" for the
/// generated times (posts span the year before it). `progress` is told each step as it ends.
pub async fn load(
    db: &mut PgConnection,
    sizes: Sizes,
    seed: i64,
    base_unix: i64,
    password_hash: &str,
    mut progress: impl FnMut(usize, usize, &str, Duration),
) -> anyhow::Result<()> {
    // Temporary tables of the load in memory; refused (and not needed) once the session has used
    // temporary tables, so a failure here is not an error.
    let _ = db.execute("SET temp_buffers = '3GB'").await;
    let mut tx = sqlx::Connection::begin(&mut *db).await?;
    for setting in [
        "SET LOCAL statement_timeout = 0",
        // Sorts for DISTINCT and the index builds in memory, not in temporary files.
        "SET LOCAL work_mem = '512MB'",
        "SET LOCAL maintenance_work_mem = '1GB'",
        "SET LOCAL synchronous_commit = off",
    ] {
        tx.execute(setting).await?;
    }
    for f in functions(sizes, seed, base_unix) {
        tx.execute(sqlx::AssertSqlSafe(f)).await?;
    }
    let (drops, rebuild) = keys(&mut tx).await?;
    // Row triggers would write one search document per post, through a RUM index; the
    // documents are written in one statement instead (step "search documents").
    tx.execute("ALTER TABLE posts DISABLE TRIGGER USER").await?;
    let mut steps: Vec<(String, Vec<String>)> = vec![("dropping keys and indexes".into(), drops)];
    steps.extend(
        self::steps(sizes, password_hash, base_unix)
            .into_iter()
            .map(|(n, s)| (n.to_string(), s)),
    );
    steps.extend(rebuild);
    let functions = [
        "seed_r(bigint, bigint)",
        "seed_v7(timestamptz, text)",
        "seed_uid(bigint)",
        "seed_cid(bigint)",
        "seed_pid(bigint)",
        "seed_post_at(bigint)",
        "seed_mid(bigint, timestamptz)",
        "seed_post_community(bigint)",
        "seed_post_author(bigint)",
        "seed_comment_author(bigint)",
        "seed_comment_post(bigint)",
    ]
    .join(", ");
    steps.push((
        "cleaning up".into(),
        vec![
            format!("DROP FUNCTION {functions}"),
            "DROP TABLE seed_pv, seed_cv, seed_cm".into(),
            "ALTER TABLE posts ENABLE TRIGGER USER".into(),
        ],
    ));
    let total = steps.len() + 1;
    for (i, (name, statements)) in steps.into_iter().enumerate() {
        let started = Instant::now();
        for sql in statements {
            tx.execute(sqlx::AssertSqlSafe(sql))
                .await
                .map_err(|e| anyhow::anyhow!("step {name}: {e}"))?;
        }
        progress(i + 1, total, &name, started.elapsed());
    }
    tx.commit().await?;
    // Hint bits, visibility map and statistics, as autovacuum would leave a live database.
    let started = Instant::now();
    db.execute("VACUUM (ANALYZE)").await?;
    progress(total, total, "vacuum and analyze", started.elapsed());
    Ok(())
}
