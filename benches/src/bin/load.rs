//! The load harness: runs each scenario at fixed concurrency levels against a running API and
//! prints requests/s, p50/p95/p99 latency and errors, next to two ceilings measured in the same
//! run: a bare actix-web endpoint serving the front page's bytes from memory (what HTTP costs on
//! this box) and pgbench running the community listing's SQL through PgBouncer (what the
//! database costs). `benches/run.sh` starts everything and writes `benches/RESULTS.md`.
//!
//! ```sh
//! cargo run --release -p forum-benches --bin load -- --base http://127.0.0.1:8080 \
//!     --database postgres://forum:forum@127.0.0.1:6432/forum_bench --duration 10 --concurrency 16,64,256
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::Rng;
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

#[derive(Clone)]
struct Fixture {
    base: String,
    client: reqwest::Client,
    tokens: Arc<Vec<String>>,
    community: String,
    hot_posts: Arc<Vec<Uuid>>,
    thread: Uuid,
    front_cursor: String,
}

#[derive(Default)]
struct Outcome {
    latencies_us: Vec<u64>,
    errors: u64,
}

struct Row {
    scenario: String,
    concurrency: usize,
    rps: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    errors: u64,
    requests: usize,
}

const WORDS: [&str; 8] = [
    "rust",
    "postgres",
    "queue",
    "latency",
    "cache",
    "moderation",
    "karma",
    "thread",
];

async fn one(f: &Fixture, scenario: &str, rng: &mut rand::rngs::StdRng) -> Result<(), String> {
    let c = &f.client;
    let token = &f.tokens[rng.random_range(0..f.tokens.len())];
    let req = match scenario.trim_end_matches("_uncached") {
        "front_hot_anon" | "front_hot" => {
            if rng.random_range(0..4) == 0 {
                c.get(format!(
                    "{}/api/v1/posts?sort=hot&cursor={}",
                    f.base, f.front_cursor
                ))
            } else {
                c.get(format!("{}/api/v1/posts?sort=hot", f.base))
            }
        }
        "community_hot_user" => c
            .get(format!(
                "{}/api/v1/posts?sort=hot&community={}",
                f.base, f.community
            ))
            .bearer_auth(token),
        "thread" => c.get(format!("{}/api/v1/posts/{}/comments", f.base, f.thread)),
        "vote_storm" => {
            let post = f.hot_posts[rng.random_range(0..f.hot_posts.len())];
            let value = rng.random_range(-1..=1);
            c.put(format!("{}/api/v1/posts/{post}/vote", f.base))
                .bearer_auth(token)
                .json(&json!({ "value": value }))
        }
        "create_post" => c
            .post(format!(
                "{}/api/v1/communities/{}/posts",
                f.base, f.community
            ))
            .bearer_auth(token)
            .json(&json!({"title": "load test post", "body": "Written by the load harness."})),
        "create_comment" => {
            let post = f.hot_posts[rng.random_range(0..f.hot_posts.len())];
            c.post(format!("{}/api/v1/posts/{post}/comments", f.base))
                .bearer_auth(token)
                .json(&json!({"body": "A comment from the load harness."}))
        }
        "search" => {
            let q = WORDS[rng.random_range(0..WORDS.len())];
            c.get(format!("{}/api/v1/search?q={q}", f.base))
        }
        "bare" => c.get(format!("{}/bare", f.base)),
        other => return Err(format!("unknown scenario {other}")),
    };
    let res = req.send().await.map_err(|e| e.to_string())?;
    let status = res.status();
    let _ = res.bytes().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(())
    } else {
        Err(status.to_string())
    }
}

async fn run(f: &Fixture, scenario: &str, concurrency: usize, duration: Duration) -> Row {
    let stop = Arc::new(AtomicBool::new(false));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let f = f.clone();
        let scenario = scenario.to_string();
        let stop = stop.clone();
        let first_error = first_error.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng: rand::rngs::StdRng = rand::SeedableRng::seed_from_u64(i as u64);
            let mut out = Outcome::default();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match one(&f, &scenario, &mut rng).await {
                    Ok(()) => out.latencies_us.push(t.elapsed().as_micros() as u64),
                    Err(e) => {
                        out.errors += 1;
                        if let Ok(mut slot) = first_error.lock()
                            && slot.is_none()
                        {
                            *slot = Some(e);
                        }
                    }
                }
            }
            out
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Outcome::default();
    for t in tasks {
        if let Ok(o) = t.await {
            all.latencies_us.extend(o.latencies_us);
            all.errors += o.errors;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Ok(slot) = first_error.lock()
        && let Some(e) = slot.as_ref()
    {
        eprintln!("  {scenario} c={concurrency}: first error: {e}");
    }
    all.latencies_us.sort_unstable();
    let q = |p: f64| {
        if all.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((all.latencies_us.len() as f64 * p) as usize).min(all.latencies_us.len() - 1);
        all.latencies_us[i] as f64 / 1000.0
    };
    Row {
        scenario: scenario.to_string(),
        concurrency,
        rps: all.latencies_us.len() as f64 / elapsed,
        p50: q(0.50),
        p95: q(0.95),
        p99: q(0.99),
        errors: all.errors,
        requests: all.latencies_us.len(),
    }
}

/// Sessions and signed access tokens for `n` generated users (logging in through argon2 would
/// measure the password hash, not the forum).
async fn tokens(db: &sqlx::PgPool, n: i64) -> anyhow::Result<Vec<String>> {
    let users: Vec<(Uuid,)> = sqlx::query_as("SELECT id FROM users ORDER BY username LIMIT $1")
        .bind(n)
        .fetch_all(db)
        .await?;
    let secret = std::env::var("FORUM_JWT_SECRET")
        .unwrap_or_else(|_| forum_domain::settings::DEV_JWT_SECRET.to_string());
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    let now = chrono::Utc::now().timestamp();
    let mut out = Vec::new();
    for (user,) in users {
        let sid = Uuid::now_v7();
        sqlx::query("INSERT INTO sessions (id, user_id) VALUES ($1, $2)")
            .bind(sid)
            .bind(user)
            .execute(db)
            .await?;
        let claims = json!({"sub": user, "sid": sid, "jti": Uuid::new_v4(), "iat": now,
            "exp": now + 3600, "iss": "forum"});
        out.push(jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &key,
        )?);
    }
    Ok(out)
}

/// A bare actix-web server answering `/bare` with `body` from memory, on a free port.
fn bare_server(body: Vec<u8>) -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let body = actix_web::web::Bytes::from(body);
    std::thread::spawn(move || {
        let system = actix_web::rt::System::new();
        system.block_on(async move {
            let server = actix_web::HttpServer::new(move || {
                let body = body.clone();
                actix_web::App::new().route(
                    "/bare",
                    actix_web::web::get().to(move || {
                        let body = body.clone();
                        async move {
                            actix_web::HttpResponse::Ok()
                                .content_type("application/json")
                                .body(body)
                        }
                    }),
                )
            })
            .workers(2)
            .listen(listener);
            if let Ok(server) = server {
                let _ = server.run().await;
            }
        });
    });
    Ok(format!("http://127.0.0.1:{port}"))
}

/// pgbench over the community listing's SQL (the hot page plus the caller's votes), through
/// PgBouncer: transactions per second at `concurrency`.
fn pgbench(
    database_url: &str,
    community: Uuid,
    concurrency: usize,
    secs: u64,
) -> anyhow::Result<f64> {
    let script = format!(
        "SELECT p.id, p.title, p.body, p.score, p.comment_count, p.hot, c.name, u.username
         FROM posts p JOIN communities c ON c.id = p.community_id LEFT JOIN users u ON u.id = p.author_id
         WHERE p.deleted_at IS NULL AND p.removed_at IS NULL AND c.removed_at IS NULL
           AND p.community_id = '{community}' AND p.pinned_at IS NULL
         ORDER BY p.hot DESC, p.id DESC LIMIT 26;\n"
    );
    let path = std::env::temp_dir().join(format!("forum-listing-{}.sql", std::process::id()));
    std::fs::write(&path, script)?;
    let out = std::process::Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "extended",
            "-c",
            &concurrency.to_string(),
            "-j",
            "2",
            "-T",
            &secs.to_string(),
            "-f",
            &path.to_string_lossy(),
            database_url,
        ])
        .output()
        .context("running pgbench (apt: postgresql-client)")?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|n| n.parse::<f64>().ok())
        .with_context(|| {
            format!(
                "pgbench said: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    Ok(tps)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut base = "http://127.0.0.1:8080".to_string();
    // An API with its listing caches off, for the uncached variants of the listing scenarios.
    let mut uncached_base: Option<String> = None;
    let mut database = "postgres://forum:forum@127.0.0.1:6432/forum_bench".to_string();
    let mut duration = 10u64;
    let mut levels = vec![16usize, 64, 256];
    let mut only: Option<String> = None;
    let mut out_path: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--base" => base = value,
            "--uncached-base" => uncached_base = Some(value),
            "--database" => database = value,
            "--duration" => duration = value.parse()?,
            "--concurrency" => {
                levels = value
                    .split(',')
                    .map(|n| n.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--scenario" => only = Some(value),
            "--out" => out_path = Some(value),
            other => bail!("unknown option {other}"),
        }
    }
    let db = PgPoolOptions::new()
        .max_connections(4)
        .connect(&database)
        .await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(30))
        .build()?;
    let (community_id, community): (Uuid, String) =
        sqlx::query_as("SELECT id, name FROM communities ORDER BY post_count DESC, id LIMIT 1")
            .fetch_one(&db)
            .await?;
    let (thread, thread_comments): (Uuid, i32) = sqlx::query_as(
        "SELECT id, comment_count FROM posts WHERE deleted_at IS NULL ORDER BY abs(comment_count - 1000), id LIMIT 1",
    )
    .fetch_one(&db)
    .await?;
    let hot: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT id FROM posts WHERE deleted_at IS NULL AND removed_at IS NULL ORDER BY hot DESC LIMIT 50",
    )
    .fetch_all(&db)
    .await?;
    let front: Value = client
        .get(format!("{base}/api/v1/posts?sort=hot"))
        .send()
        .await?
        .json()
        .await?;
    let front_bytes = client
        .get(format!("{base}/api/v1/posts?sort=hot"))
        .send()
        .await?
        .bytes()
        .await?
        .to_vec();
    let fixture = Fixture {
        base: base.clone(),
        client: client.clone(),
        tokens: Arc::new(tokens(&db, 500).await?),
        community,
        hot_posts: Arc::new(hot.into_iter().map(|r| r.0).collect()),
        thread,
        front_cursor: front["next_cursor"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    let bare = Fixture {
        base: bare_server(front_bytes)?,
        ..fixture.clone()
    };
    let uncached = uncached_base.map(|base| Fixture {
        base,
        ..fixture.clone()
    });
    let scenarios = [
        "front_hot_anon",
        "community_hot_user",
        "thread",
        "vote_storm",
        "create_post",
        "create_comment",
        "search",
    ];
    let window = Duration::from_secs(duration);
    let mut rows = Vec::new();
    let mut ceilings: Vec<(usize, f64, f64)> = Vec::new();
    for &c in &levels {
        let r = run(&bare, "bare", c, window).await;
        let tps = pgbench(&database, community_id, c, duration).unwrap_or_else(|e| {
            eprintln!("pgbench: {e:#}");
            0.0
        });
        eprintln!(
            "ceilings c={c}: bare actix {:.0} req/s, pgbench listing {tps:.0} tps",
            r.rps
        );
        ceilings.push((c, r.rps, tps));
        rows.push(r);
    }
    let mut scenarios: Vec<&str> = scenarios.to_vec();
    if uncached.is_some() {
        scenarios.splice(0..0, ["front_hot_uncached", "community_hot_user_uncached"]);
        // Every search on the database: the shared result pages off.
        scenarios.push("search_uncached");
    }
    let requests = AtomicU64::new(0);
    for scenario in scenarios {
        if only.as_deref().is_some_and(|o| o != scenario) {
            continue;
        }
        let target = match (&uncached, scenario.ends_with("_uncached")) {
            (Some(u), true) => u,
            _ => &fixture,
        };
        for &c in &levels {
            let r = run(target, scenario, c, window).await;
            requests.fetch_add(r.requests as u64, Ordering::Relaxed);
            eprintln!(
                "{scenario} c={c}: {:.0} req/s, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, {} errors",
                r.rps, r.p50, r.p95, r.p99, r.errors
            );
            rows.push(r);
        }
    }
    // Votes: the stored totals must equal the vote rows after the storm.
    let (drift,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM posts p
         LEFT JOIN LATERAL (SELECT coalesce(sum(value), 0) AS s, count(*) FILTER (WHERE value = 1) AS up,
                                   count(*) FILTER (WHERE value = -1) AS down
                            FROM post_votes v WHERE v.post_id = p.id) v ON true
         WHERE (p.score, p.upvotes, p.downvotes) IS DISTINCT FROM (v.s::int, v.up::int, v.down::int)
           AND p.id = ANY($1)",
    )
    .bind(fixture.hot_posts.as_slice())
    .fetch_one(&db)
    .await?;

    let mut table = String::new();
    table.push_str("| scenario | concurrency | req/s | p50 ms | p95 ms | p99 ms | errors | ceiling | % of ceiling |\n");
    table.push_str("|---|---:|---:|---:|---:|---:|---:|---|---:|\n");
    for r in &rows {
        let (ceiling_name, ceiling) = match r.scenario.as_str() {
            "bare" => ("-", 0.0),
            "community_hot_user" | "community_hot_user_uncached" | "front_hot_uncached" => (
                "pgbench listing",
                ceilings
                    .iter()
                    .find(|c| c.0 == r.concurrency)
                    .map_or(0.0, |c| c.2),
            ),
            _ => (
                "bare actix",
                ceilings
                    .iter()
                    .find(|c| c.0 == r.concurrency)
                    .map_or(0.0, |c| c.1),
            ),
        };
        let ratio = if ceiling > 0.0 {
            format!("{:.0} %", 100.0 * r.rps / ceiling)
        } else {
            "-".into()
        };
        let name = if r.scenario == "bare" {
            "ceiling: bare actix (same bytes)".to_string()
        } else {
            r.scenario.clone()
        };
        table.push_str(&format!(
            "| {name} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {ceiling_name} | {ratio} |\n",
            r.concurrency, r.rps, r.p50, r.p95, r.p99, r.errors
        ));
    }
    for (c, _, tps) in &ceilings {
        table.push_str(&format!(
            "| ceiling: pgbench listing SQL via PgBouncer | {c} | {tps:.0} | | | | | - | - |\n"
        ));
    }
    table.push_str(&format!(
        "\nVote totals after the run: {drift} of {} voted posts differ from their vote rows \
         (score, upvotes, downvotes).\nThe thread scenario reads a post with {thread_comments} comments.\n",
        fixture.hot_posts.len()
    ));
    println!("{table}");
    if let Some(path) = out_path {
        std::fs::write(path, &table)?;
    }
    Ok(())
}
