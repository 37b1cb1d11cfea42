//! No-op jobs per second through apalis-redis with one worker process (this one).
//!
//! `cargo run --release -p forum-benches --bin job-throughput -- [jobs] [concurrency]`
//! (defaults 50000 and 16). Needs Redis (FORUM_REDIS_URL) and the database settings of
//! `forum-jobs` (the relay runs too but has nothing to do). Jobs are pushed in batches of 1000,
//! keeping the waiting backlog under the relay's cap, while the probe worker drains them.

use std::time::{Duration, Instant};

use apalis::prelude::TaskSink;
use forum_domain::adapters::queues;
use forum_domain::jobs::{Envelope, ProbeJob, Topic};
use forum_domain::settings::Config;
use forum_jobs::relay::BACKLOG_CAP;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let total: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(50_000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(16);

    let mut config = Config::load()?;
    let prefix = format!("bench:{}:", uuid::Uuid::now_v7().simple());
    config.settings.redis.prefix = prefix.clone();
    config.settings.jobs.probe_concurrency = concurrency;
    config.settings.jobs.metrics_addr = String::new();
    config.settings.log_level = "warn".into();

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let workers = tokio::spawn(forum_jobs::run(config.clone(), async move {
        let _ = stopped.await;
    }));
    let mut storage =
        forum_jobs::queue::storage::<Envelope<ProbeJob>>(&config, Topic::Probe).await?;
    let client = redis::Client::open(config.settings.redis.url.as_str())?;
    let mut redis = redis::aio::ConnectionManager::new(client).await?;

    let started = Instant::now();
    let mut pushed = 0;
    while pushed < total {
        let s = queues::stats(&mut redis, &prefix, Topic::Probe, 0).await?;
        if s.ready + s.scheduled > BACKLOG_CAP {
            tokio::time::sleep(Duration::from_millis(2)).await;
            continue;
        }
        let n = (total - pushed).min(1000);
        let batch: Vec<_> = (0..n)
            .map(|_| {
                Envelope::new(
                    uuid::Uuid::now_v7(),
                    ProbeJob {
                        id: None,
                        sleep_ms: 0,
                    },
                )
            })
            .collect();
        storage
            .push_bulk(batch)
            .await
            .map_err(|e| anyhow::anyhow!("push: {e}"))?;
        pushed += n;
    }
    let pushed_in = started.elapsed();
    loop {
        let s = queues::stats(&mut redis, &prefix, Topic::Probe, 0).await?;
        if s.ready + s.scheduled + s.running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    println!(
        "{total} no-op jobs, concurrency {concurrency}: pushed in {:.2} s, all done in {:.2} s = {:.0} jobs/s",
        pushed_in.as_secs_f64(),
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64()
    );
    let _ = stop.send(());
    let _ = workers.await;
    // The run's keys.
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut redis)
        .await?;
    for chunk in keys.chunks(500) {
        let _: () = redis::cmd("DEL").arg(chunk).query_async(&mut redis).await?;
    }
    Ok(())
}
