//! Rate limits, two layers.
//!
//! 1. General budgets in this process (governor): per user when a valid token is sent, else per
//!    client IP. Cheap, no network.
//! 2. Quotas shared by every API process, kept in Redis with GCRA in one Lua round trip: login,
//!    registration, posts, comments, reports, summaries, uploads. If Redis is unreachable the same
//!    quota is enforced by governor in this process: never unlimited, never a 5xx.
//!
//! Limited answers are 429 problem+json with `Retry-After` and the IETF `RateLimit-Policy` /
//! `RateLimit` headers; allowed quota routes carry the headers too.

use forum_domain::error::ErrorCode;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpMessage, HttpRequest};
use forum_domain::rules::net::{self, Cidr};
use forum_domain::settings::Settings;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::error::ApiError;
use crate::metrics::Metrics;

pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    Login,
    Register,
    RegisterHourly,
    Posts,
    Comments,
    Reports,
    Summaries,
    Uploads,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Login => "login",
            Bucket::Register => "register",
            Bucket::RegisterHourly => "register_hourly",
            Bucket::Posts => "posts",
            Bucket::Comments => "comments",
            Bucket::Reports => "reports",
            Bucket::Summaries => "summaries",
            Bucket::Uploads => "uploads",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Spec {
    limit: u32,
    window: Duration,
}

/// What a quota check says, for the response headers.
#[derive(Debug, Clone)]
pub struct Verdict {
    bucket: Bucket,
    spec: Spec,
    allowed: bool,
    remaining: u64,
    retry_after_ms: u64,
    reset_ms: u64,
}

impl Verdict {
    pub(crate) fn headers(&self) -> Vec<(HeaderName, String)> {
        let name = self.bucket.name();
        let mut h = vec![
            (
                RATELIMIT_POLICY,
                format!(
                    "\"{name}\";q={};w={}",
                    self.spec.limit,
                    self.spec.window.as_secs()
                ),
            ),
            (
                RATELIMIT,
                format!(
                    "\"{name}\";r={};t={}",
                    self.remaining,
                    self.reset_ms.div_ceil(1000)
                ),
            ),
        ];
        if !self.allowed {
            h.push((
                header::RETRY_AFTER,
                self.retry_after_ms.div_ceil(1000).max(1).to_string(),
            ));
        }
        h
    }
}

/// One GCRA step: a burst of `limit` per `window`, refilled evenly. Redis' clock is used so all
/// API processes agree. Returns {allowed, remaining, retry_after_ms, reset_ms}.
const GCRA: &str = r"
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = math.floor(window / limit)
local tolerance = window - interval
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then
  return {0, 0, tat - now - tolerance, tat - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return {1, math.floor((tolerance - (new_tat - now) + interval) / interval), 0, new_tat - now}
";

pub struct Limits {
    pub(crate) enabled: bool,
    trusted: Vec<Cidr>,
    pub(crate) per_ip: DefaultKeyedRateLimiter<IpAddr>,
    pub(crate) per_user: DefaultKeyedRateLimiter<uuid::Uuid>,
    specs: HashMap<Bucket, Spec>,
    /// The same quotas in this process, for when Redis is unreachable.
    fallback: HashMap<Bucket, DefaultKeyedRateLimiter<String>>,
    script: redis::Script,
    redis: redis::aio::ConnectionManager,
    prefix: String,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

fn quota(spec: Spec) -> Quota {
    let burst = NonZeroU32::new(spec.limit.max(1)).unwrap_or(NonZeroU32::MIN);
    let period = spec.window / spec.limit.max(1);
    Quota::with_period(period.max(Duration::from_micros(1)))
        .map_or_else(|| per_minute(spec.limit), |q| q.allow_burst(burst))
}

impl Limits {
    pub fn new(settings: &Settings, redis: redis::aio::ConnectionManager) -> Self {
        let minute = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        let day = Duration::from_secs(86_400);
        let specs: HashMap<Bucket, Spec> = [
            (Bucket::Login, settings.rate_limits.login_per_minute, minute),
            (
                Bucket::Register,
                settings.rate_limits.register_per_minute,
                minute,
            ),
            (
                Bucket::RegisterHourly,
                settings.rate_limits.register_per_hour,
                hour,
            ),
            (Bucket::Posts, settings.rate_limits.posts_per_hour, hour),
            (
                Bucket::Comments,
                settings.rate_limits.comments_per_hour,
                hour,
            ),
            (Bucket::Reports, settings.rate_limits.reports_per_day, day),
            (
                Bucket::Summaries,
                settings.rate_limits.summaries_per_day,
                day,
            ),
            (Bucket::Uploads, settings.rate_limits.uploads_per_hour, hour),
        ]
        .into_iter()
        .map(|(b, limit, window)| {
            (
                b,
                Spec {
                    limit: limit.max(1),
                    window,
                },
            )
        })
        .collect();
        let fallback = specs
            .iter()
            .map(|(b, s)| (*b, DefaultKeyedRateLimiter::keyed(quota(*s))))
            .collect();
        Self {
            enabled: settings.rate_limits.enabled,
            trusted: net::parse_cidrs(&settings.http.trusted_proxies),
            per_ip: DefaultKeyedRateLimiter::keyed(per_minute(settings.rate_limits.ip_per_minute)),
            per_user: DefaultKeyedRateLimiter::keyed(per_minute(
                settings.rate_limits.user_per_minute,
            )),
            specs,
            fallback,
            script: redis::Script::new(GCRA),
            redis,
            prefix: settings.redis.prefix.clone(),
        }
    }

    /// The client's address, honouring forwarding headers from trusted proxies only.
    pub fn client_ip(&self, req: &HttpRequest) -> IpAddr {
        let peer = req
            .peer_addr()
            .map_or(IpAddr::from([127, 0, 0, 1]), |a| a.ip());
        let header = |h: &str| req.headers().get(h).and_then(|v| v.to_str().ok());
        net::client_ip(
            peer,
            header("x-forwarded-for"),
            header("forwarded"),
            &self.trusted,
        )
    }

    /// Spends one unit of `bucket` for `subject` (a user id or an IP). 429 when exhausted.
    pub async fn check(
        &self,
        metrics: &Metrics,
        req: &HttpRequest,
        bucket: Bucket,
        subject: &str,
    ) -> Result<(), ApiError> {
        if !self.enabled {
            return Ok(());
        }
        let Some(spec) = self.specs.get(&bucket).copied() else {
            return Ok(());
        };
        let key = format!("{}rl:{}:{subject}", self.prefix, bucket.name());
        let mut conn = self.redis.clone();
        let window_ms = u64::try_from(spec.window.as_millis()).unwrap_or(u64::MAX);
        let verdict = match self
            .script
            .key(&key)
            .arg(spec.limit)
            .arg(window_ms)
            .invoke_async::<Vec<i64>>(&mut conn)
            .await
        {
            Ok(v) if v.len() == 4 => Verdict {
                bucket,
                spec,
                allowed: v[0] == 1,
                remaining: u64::try_from(v[1]).unwrap_or(0),
                retry_after_ms: u64::try_from(v[2]).unwrap_or(0),
                reset_ms: u64::try_from(v[3]).unwrap_or(0),
            },
            other => {
                if let Err(e) = other {
                    tracing::warn!(error = %e, bucket = bucket.name(), "quota store unavailable; enforcing in-process");
                }
                metrics.redis_error("quota");
                self.fallback_verdict(bucket, spec, &key)
            }
        };
        metrics.rate_limited(bucket.name(), verdict.allowed);
        if verdict.allowed {
            req.extensions_mut().insert(verdict);
            Ok(())
        } else {
            let mut err = ApiError::new(
                ErrorCode::RateLimited,
                format!("Too many {} requests; try again later.", bucket.name()),
            );
            for (name, value) in verdict.headers() {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    err = err.with_header(name, v);
                }
            }
            Err(err)
        }
    }

    fn fallback_verdict(&self, bucket: Bucket, spec: Spec, key: &str) -> Verdict {
        let Some(limiter) = self.fallback.get(&bucket) else {
            return Verdict {
                bucket,
                spec,
                allowed: true,
                remaining: 0,
                retry_after_ms: 0,
                reset_ms: 0,
            };
        };
        match limiter.check_key(&key.to_string()) {
            Ok(_) => Verdict {
                bucket,
                spec,
                allowed: true,
                remaining: 0,
                retry_after_ms: 0,
                reset_ms: 0,
            },
            Err(not_until) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                Verdict {
                    bucket,
                    spec,
                    allowed: false,
                    remaining: 0,
                    retry_after_ms: ms,
                    reset_ms: ms,
                }
            }
        }
    }

    /// Forgets idle keys so the in-process limiters stay small.
    pub fn housekeeping(&self) {
        self.per_ip.retain_recent();
        self.per_user.retain_recent();
        for l in self.fallback.values() {
            l.retain_recent();
        }
    }
}

/// Runs `housekeeping` every minute.
pub fn spawn_housekeeping(state: Arc<Limits>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            state.housekeeping();
        }
    });
}
