//! Vote storm against a running API: many users voting on a few posts at once, then a check
//! that every post's score is exactly what the votes add up to.
//!
//! ```sh
//! FORUM_RATE_LIMITS_ENABLED=false ./scripts/run.sh        # in one terminal
//! cargo run --release -p forum-benches --bin vote-storm -- http://127.0.0.1:8080 64 10
//! ```
//! Arguments: base URL, concurrency, seconds (defaults shown above). Each worker owns its own
//! users, so the final value of every (user, post) pair is known and the totals can be checked.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::Rng;
use serde_json::{Value, json};

const USERS_PER_WORKER: usize = 4;
const POSTS: usize = 10;

async fn post_json(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut req = client.post(url).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await?;
    let status = res.status();
    let json: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("POST {url}: {status} {json}");
    }
    Ok(json)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let workers: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(64);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(workers * 2)
        .build()?;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();

    // Users (registration hashes passwords: a few at a time).
    let total = workers * USERS_PER_WORKER;
    eprintln!("registering {total} users...");
    let mut tokens = Vec::with_capacity(total);
    for chunk in (0..total).collect::<Vec<_>>().chunks(16) {
        let batch = futures_util::future::join_all(chunk.iter().map(|i| {
            let body = json!({"username": format!("v{run}_{i}"), "email": format!("v{run}_{i}@example.com"), "password": "storm-password"});
            let client = client.clone();
            let url = format!("{base}/api/v1/auth/register");
            async move { post_json(&client, &url, None, &body).await }
        }))
        .await;
        for r in batch {
            tokens.push(r.context("register (is FORUM_RATE_LIMITS_ENABLED=false set on the server?)")?["access_token"].as_str().unwrap_or_default().to_string());
        }
    }
    let community = format!("storm_{run}");
    post_json(
        &client,
        &format!("{base}/api/v1/communities"),
        Some(&tokens[0]),
        &json!({"name": community, "title": "Vote storm"}),
    )
    .await?;
    let mut posts = Vec::new();
    for i in 0..POSTS {
        let p = post_json(
            &client,
            &format!("{base}/api/v1/communities/{community}/posts"),
            Some(&tokens[0]),
            &json!({"title": format!("post {i}")}),
        )
        .await?;
        posts.push(p["id"].as_str().unwrap_or_default().to_string());
    }

    eprintln!("storming: {workers} workers for {seconds} s");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let client = client.clone();
            let mine: Vec<String> =
                tokens[w * USERS_PER_WORKER..(w + 1) * USERS_PER_WORKER].to_vec();
            let posts = posts.clone();
            let base = base.clone();
            tokio::spawn(async move {
                let mut last = vec![[0i64; POSTS]; USERS_PER_WORKER];
                let (mut ok, mut errors) = (0u64, 0u64);
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let (u, p, v) = {
                        let mut rng = rand::rng();
                        (
                            rng.random_range(0..USERS_PER_WORKER),
                            rng.random_range(0..POSTS),
                            rng.random_range(-1..=1i64),
                        )
                    };
                    let t = Instant::now();
                    let res = client
                        .put(format!("{base}/api/v1/posts/{}/vote", posts[p]))
                        .bearer_auth(&mine[u])
                        .json(&json!({"value": v}))
                        .send()
                        .await;
                    latencies.push(t.elapsed());
                    match res {
                        Ok(r) if r.status().is_success() => {
                            ok += 1;
                            last[u][p] = v;
                        }
                        _ => errors += 1,
                    }
                }
                (ok, errors, latencies, last)
            })
        })
        .collect();
    let mut expected = [0i64; POSTS];
    let (mut ok, mut errors) = (0u64, 0u64);
    let mut latencies = Vec::new();
    for h in handles {
        let (o, e, l, last) = h.await?;
        ok += o;
        errors += e;
        latencies.extend(l);
        for row in last {
            for (p, v) in row.iter().enumerate() {
                expected[p] += v;
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };

    let mut exact = true;
    for (i, id) in posts.iter().enumerate() {
        let post: Value = client
            .get(format!("{base}/api/v1/posts/{id}"))
            .send()
            .await?
            .json()
            .await?;
        if post["score"].as_i64() != Some(expected[i]) {
            exact = false;
            eprintln!(
                "post {i}: score {} but votes add up to {}",
                post["score"], expected[i]
            );
        }
    }
    println!(
        "vote_storm: {ok} votes in {elapsed:.1} s = {:.0} votes/s, {errors} errors, p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, totals {}",
        ok as f64 / elapsed,
        pct(0.50),
        pct(0.95),
        pct(0.99),
        if exact { "exact" } else { "WRONG" }
    );
    if !exact || errors > 0 {
        bail!("vote storm found errors or inexact totals");
    }
    Ok(())
}
