//! The probe queue: a job that only waits. Benchmarks measure the queue's own cost with it, and
//! the crash test kills a worker while one is running.

use std::time::Duration;

use forum_domain::jobs::{Envelope, ProbeJob, Topic};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use crate::queue::{Handler, JobError};

pub struct ProbeHandler {
    pub redis: ConnectionManager,
    pub prefix: String,
}

impl Handler for ProbeHandler {
    type Job = ProbeJob;
    const TOPIC: Topic = Topic::Probe;

    async fn handle(&self, envelope: &Envelope<ProbeJob>) -> Result<(), JobError> {
        if let Some(id) = envelope.job.id {
            let _: i64 = self
                .redis
                .clone()
                .incr(format!("{}probe:{id}", self.prefix), 1)
                .await
                .map_err(JobError::retry)?;
        }
        if envelope.job.sleep_ms > 0 {
            tokio::time::sleep(Duration::from_millis(envelope.job.sleep_ms)).await;
        }
        Ok(())
    }
}
