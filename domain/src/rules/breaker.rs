//! A circuit breaker for calls to an external provider. Pure: every method takes the current
//! time, so tests drive it without sleeping, and callers wrap it in a `Mutex`.
//!
//! - Closed: outcomes are kept for a rolling `window`. A failure that leaves at least
//!   `min_calls` calls in the window with `failures / calls >= failure_ratio` opens it.
//!   Only failures trip it: a success never opens a breaker.
//! - Open: every call is refused until `open_for` has elapsed; the next `try_acquire` after
//!   that turns it half-open.
//! - Half-open: up to `half_open_probes` calls run at once. The FIRST probe success closes it
//!   with an empty window (one answer shows the provider is back, and on a quiet site waiting
//!   for N probes would keep traffic off a healthy provider for long); any probe failure
//!   reopens it for another `open_for`.
//! - Cooldown (a 429's `Retry-After`) refuses calls until its end in any state without opening
//!   the breaker.
//!
//! Permits carry the generation of the state that issued them: the outcome of a call that
//! started before a transition (say a slow call issued while closed that ends after the
//! breaker opened) is ignored, so it can neither close nor reopen the new state.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Length of the rolling window of outcomes considered while closed.
    pub window: Duration,
    /// Fewer calls than this in the window never open the breaker.
    pub min_calls: u32,
    /// Failure share (0..=1) of the calls in the window that opens the breaker.
    pub failure_ratio: f64,
    /// How long an open breaker refuses calls before it lets probes through.
    pub open_for: Duration,
    /// Probes allowed at once while half-open.
    pub half_open_probes: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            min_calls: 10,
            failure_ratio: 0.5,
            open_for: Duration::from_secs(60),
            half_open_probes: 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: u32 },
}

impl BreakerState {
    /// 0 closed, 1 half-open, 2 open (the metrics gauge's values).
    pub fn code(&self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen { .. } => 1,
            Self::Open { .. } => 2,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen { .. } => "half-open",
            Self::Open { .. } => "open",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

/// Why a call was not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The breaker is open until then.
    Open { until: Instant },
    /// Half-open and every probe slot is taken.
    ProbesBusy,
    /// The provider asked us to wait (Retry-After) until then.
    Cooldown { until: Instant },
}

/// Leave to make one call; hand it back to `record` (or `release` if the call never finished).
#[derive(Debug)]
#[must_use = "a permit must be handed back with record() or release()"]
pub struct Permit {
    generation: u64,
    probe: bool,
}

impl Permit {
    /// Whether this call is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }
}

#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    state: BreakerState,
    /// Bumped on every state change; see the module docs.
    generation: u64,
    /// Outcomes while closed, oldest first: (when, failed).
    window: VecDeque<(Instant, bool)>,
    failures_in_window: u32,
    cooldown_until: Option<Instant>,
}

impl CircuitBreaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: BreakerState::Closed,
            generation: 0,
            window: VecDeque::new(),
            failures_in_window: 0,
            cooldown_until: None,
        }
    }

    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    /// The stored state. An open breaker whose `open_for` has elapsed still reads open until the
    /// next `try_acquire` turns it half-open.
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// 0 closed, 1 half-open, 2 open.
    pub fn state_code(&self) -> u8 {
        self.state.code()
    }

    /// The end of the current cooldown, if one is running at `now`.
    pub fn cooldown(&self, now: Instant) -> Option<Instant> {
        self.cooldown_until.filter(|until| *until > now)
    }

    /// Refuses calls until `until` (extends, never shortens, a running cooldown).
    pub fn cooldown_until(&mut self, until: Instant) {
        self.cooldown_until = Some(self.cooldown_until.map_or(until, |u| u.max(until)));
    }

    pub fn try_acquire(&mut self, now: Instant) -> Result<Permit, Refused> {
        if let Some(until) = self.cooldown(now) {
            return Err(Refused::Cooldown { until });
        }
        match self.state {
            BreakerState::Closed => Ok(Permit {
                generation: self.generation,
                probe: false,
            }),
            BreakerState::Open { until } if now < until => Err(Refused::Open { until }),
            BreakerState::Open { .. } => {
                self.transition(BreakerState::HalfOpen { in_flight: 1 });
                Ok(self.probe_permit())
            }
            BreakerState::HalfOpen { in_flight } if in_flight < self.config.half_open_probes => {
                self.state = BreakerState::HalfOpen {
                    in_flight: in_flight.saturating_add(1),
                };
                Ok(self.probe_permit())
            }
            BreakerState::HalfOpen { .. } => Err(Refused::ProbesBusy),
        }
    }

    /// Records how the call made under `permit` went.
    pub fn record(&mut self, now: Instant, permit: Permit, outcome: Outcome) {
        if permit.generation != self.generation {
            return;
        }
        match self.state {
            BreakerState::Closed => self.record_closed(now, outcome),
            BreakerState::HalfOpen { .. } => match outcome {
                Outcome::Success => self.transition(BreakerState::Closed),
                Outcome::Failure => self.open(now),
            },
            // Permits of this generation are never issued while open.
            BreakerState::Open { .. } => {}
        }
    }

    /// Hands back a permit whose call ended without an outcome (cancelled, or failed in a way
    /// that says nothing about the provider's health): frees its probe slot.
    pub fn release(&mut self, permit: Permit) {
        if permit.generation != self.generation {
            return;
        }
        if let BreakerState::HalfOpen { in_flight } = self.state {
            self.state = BreakerState::HalfOpen {
                in_flight: in_flight.saturating_sub(1),
            };
        }
    }

    /// Calls and failures in the window at `now` (closed state only; 0 otherwise).
    pub fn window_counts(&mut self, now: Instant) -> (u32, u32) {
        self.prune(now);
        (self.calls_in_window(), self.failures_in_window)
    }

    fn probe_permit(&self) -> Permit {
        Permit {
            generation: self.generation,
            probe: true,
        }
    }

    fn record_closed(&mut self, now: Instant, outcome: Outcome) {
        self.prune(now);
        let failed = outcome == Outcome::Failure;
        self.window.push_back((now, failed));
        if !failed {
            return;
        }
        self.failures_in_window = self.failures_in_window.saturating_add(1);
        let calls = self.calls_in_window();
        if calls >= self.config.min_calls.max(1)
            && f64::from(self.failures_in_window) / f64::from(calls) >= self.config.failure_ratio
        {
            self.open(now);
        }
    }

    fn calls_in_window(&self) -> u32 {
        u32::try_from(self.window.len()).unwrap_or(u32::MAX)
    }

    fn prune(&mut self, now: Instant) {
        while let Some(&(at, failed)) = self.window.front() {
            if now.saturating_duration_since(at) < self.config.window {
                break;
            }
            self.window.pop_front();
            if failed {
                self.failures_in_window = self.failures_in_window.saturating_sub(1);
            }
        }
    }

    fn open(&mut self, now: Instant) {
        self.transition(BreakerState::Open {
            until: now + self.config.open_for,
        });
    }

    fn transition(&mut self, to: BreakerState) {
        self.state = to;
        self.generation = self.generation.wrapping_add(1);
        // Every state starts with a fresh window: old outcomes described the previous episode.
        self.window.clear();
        self.failures_in_window = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn config() -> BreakerConfig {
        BreakerConfig {
            window: Duration::from_secs(60),
            min_calls: 10,
            failure_ratio: 0.5,
            open_for: Duration::from_secs(30),
            half_open_probes: 3,
        }
    }

    fn call(b: &mut CircuitBreaker, now: Instant, outcome: Outcome) {
        let permit = b.try_acquire(now).unwrap();
        b.record(now, permit, outcome);
    }

    /// A breaker opened at `t0`.
    fn opened(t0: Instant) -> CircuitBreaker {
        let mut b = CircuitBreaker::new(config());
        for _ in 0..10 {
            call(&mut b, t0, Outcome::Failure);
        }
        assert_eq!(b.state_code(), 2);
        b
    }

    #[test]
    fn defaults_match_the_documented_values() {
        let c = BreakerConfig::default();
        assert_eq!(c.window, Duration::from_secs(60));
        assert_eq!(c.min_calls, 10);
        assert_eq!(c.failure_ratio, 0.5);
        assert_eq!(c.open_for, Duration::from_secs(60));
        assert_eq!(c.half_open_probes, 3);
        assert_eq!(CircuitBreaker::new(c).state_code(), 0);
    }

    #[test]
    fn opens_exactly_at_the_threshold() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(config());
        for i in 0..5 {
            call(&mut b, t0 + i * MS, Outcome::Success);
        }
        for i in 5..9 {
            call(&mut b, t0 + i * MS, Outcome::Failure);
            assert_eq!(b.state(), BreakerState::Closed, "{i} calls");
        }
        // 10th call, 5th failure: 5/10 = 0.5.
        call(&mut b, t0 + 9 * MS, Outcome::Failure);
        assert_eq!(
            b.state(),
            BreakerState::Open {
                until: t0 + 9 * MS + Duration::from_secs(30)
            }
        );
    }

    #[test]
    fn below_the_ratio_stays_closed() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(config());
        for _ in 0..6 {
            call(&mut b, t0, Outcome::Success);
        }
        for _ in 0..5 {
            call(&mut b, t0, Outcome::Failure);
        }
        // 5/11 < 0.5
        assert_eq!(b.state_code(), 0);
        call(&mut b, t0, Outcome::Failure); // 6/12
        assert_eq!(b.state_code(), 2);
    }

    #[test]
    fn a_success_never_opens_it() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(config());
        for _ in 0..5 {
            call(&mut b, t0, Outcome::Failure);
        }
        for _ in 0..4 {
            call(&mut b, t0, Outcome::Success);
        }
        // 10 calls, 5 failures, but the 10th call succeeded.
        call(&mut b, t0, Outcome::Success);
        assert_eq!(b.state_code(), 0);
    }

    #[test]
    fn never_opens_before_min_calls() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(config());
        for _ in 0..9 {
            call(&mut b, t0, Outcome::Failure);
        }
        assert_eq!(b.state_code(), 0, "9 failures out of 9 is below min_calls");
        call(&mut b, t0, Outcome::Failure);
        assert_eq!(b.state_code(), 2);
    }

    #[test]
    fn the_window_forgets_old_failures() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(config());
        for _ in 0..9 {
            call(&mut b, t0, Outcome::Failure);
        }
        assert_eq!(b.window_counts(t0), (9, 9));
        // Exactly one window later the old failures are gone.
        let later = t0 + Duration::from_secs(60);
        assert_eq!(b.window_counts(later), (0, 0));
        call(&mut b, later, Outcome::Failure);
        assert_eq!(b.state_code(), 0);
        assert_eq!(b.window_counts(later), (1, 1));
    }

    #[test]
    fn the_window_slides() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(config());
        // 5 failures at t0, 5 at t0+40s: at t0+61s only the second five count.
        for _ in 0..5 {
            call(&mut b, t0, Outcome::Failure);
        }
        for _ in 0..4 {
            call(&mut b, t0 + Duration::from_secs(40), Outcome::Failure);
        }
        call(&mut b, t0 + Duration::from_secs(61), Outcome::Failure);
        assert_eq!(b.state_code(), 0);
        assert_eq!(b.window_counts(t0 + Duration::from_secs(61)), (5, 5));
    }

    #[test]
    fn open_refuses_until_open_for_elapsed() {
        let t0 = Instant::now();
        let mut b = opened(t0);
        let until = t0 + Duration::from_secs(30);
        assert_eq!(b.try_acquire(t0).unwrap_err(), Refused::Open { until });
        assert_eq!(
            b.try_acquire(until - MS).unwrap_err(),
            Refused::Open { until }
        );
        let permit = b.try_acquire(until).unwrap();
        assert!(permit.is_probe());
        assert_eq!(b.state(), BreakerState::HalfOpen { in_flight: 1 });
        assert_eq!(b.state_code(), 1);
        b.release(permit);
    }

    #[test]
    fn half_open_allows_n_concurrent_probes() {
        let t0 = Instant::now();
        let mut b = opened(t0);
        let t = t0 + Duration::from_secs(31);
        let p1 = b.try_acquire(t).unwrap();
        let p2 = b.try_acquire(t).unwrap();
        let p3 = b.try_acquire(t).unwrap();
        assert!(p1.is_probe() && p2.is_probe() && p3.is_probe());
        assert_eq!(b.try_acquire(t).unwrap_err(), Refused::ProbesBusy);
        // A released slot can be taken again.
        b.release(p3);
        let p4 = b.try_acquire(t).unwrap();
        assert_eq!(b.state(), BreakerState::HalfOpen { in_flight: 3 });
        for p in [p1, p2, p4] {
            b.release(p);
        }
        assert_eq!(b.state(), BreakerState::HalfOpen { in_flight: 0 });
    }

    #[test]
    fn the_first_probe_success_closes_with_a_fresh_window() {
        let t0 = Instant::now();
        let mut b = opened(t0);
        let t = t0 + Duration::from_secs(31);
        let p1 = b.try_acquire(t).unwrap();
        let p2 = b.try_acquire(t).unwrap();
        b.record(t, p1, Outcome::Success);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.window_counts(t), (0, 0));
        // The other probe's late failure belongs to the half-open episode: ignored.
        b.record(t, p2, Outcome::Failure);
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(b.window_counts(t), (0, 0));
        // Fresh window: it takes min_calls again to reopen.
        for _ in 0..9 {
            call(&mut b, t, Outcome::Failure);
        }
        assert_eq!(b.state_code(), 0);
        call(&mut b, t, Outcome::Failure);
        assert_eq!(b.state_code(), 2);
    }

    #[test]
    fn a_probe_failure_reopens() {
        let t0 = Instant::now();
        let mut b = opened(t0);
        let t = t0 + Duration::from_secs(31);
        let p1 = b.try_acquire(t).unwrap();
        let p2 = b.try_acquire(t).unwrap();
        b.record(t, p1, Outcome::Failure);
        let until = t + Duration::from_secs(30);
        assert_eq!(b.state(), BreakerState::Open { until });
        // A stale probe's success does not close the reopened breaker.
        b.record(t, p2, Outcome::Success);
        assert_eq!(b.state(), BreakerState::Open { until });
        assert_eq!(b.try_acquire(t + MS).unwrap_err(), Refused::Open { until });
    }

    #[test]
    fn a_slow_call_from_before_opening_is_ignored() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(config());
        let slow = b.try_acquire(t0).unwrap();
        for _ in 0..10 {
            call(&mut b, t0, Outcome::Failure);
        }
        assert_eq!(b.state_code(), 2);
        let t = t0 + Duration::from_secs(31);
        let probe = b.try_acquire(t).unwrap();
        b.record(t, slow, Outcome::Success);
        assert_eq!(b.state_code(), 1, "a pre-open success is no probe");
        b.record(t, probe, Outcome::Success);
        assert_eq!(b.state_code(), 0);
    }

    #[test]
    fn cooldown_refuses_without_opening() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(config());
        let until = t0 + Duration::from_secs(20);
        b.cooldown_until(until);
        assert_eq!(b.try_acquire(t0).unwrap_err(), Refused::Cooldown { until });
        assert_eq!(
            b.try_acquire(until - MS).unwrap_err(),
            Refused::Cooldown { until }
        );
        assert_eq!(b.state_code(), 0);
        assert_eq!(b.cooldown(t0), Some(until));
        // A shorter cooldown does not cut a running one short.
        b.cooldown_until(t0 + Duration::from_secs(5));
        assert_eq!(b.cooldown(t0), Some(until));
        let permit = b.try_acquire(until).unwrap();
        assert!(!permit.is_probe());
        assert_eq!(b.cooldown(until), None);
        b.record(until, permit, Outcome::Success);
    }

    #[test]
    fn cooldown_also_holds_back_probes() {
        let t0 = Instant::now();
        let mut b = opened(t0);
        let until = t0 + Duration::from_secs(45);
        b.cooldown_until(until);
        let t = t0 + Duration::from_secs(31);
        assert_eq!(b.try_acquire(t).unwrap_err(), Refused::Cooldown { until });
        assert_eq!(b.state_code(), 2);
        assert!(b.try_acquire(until).unwrap().is_probe());
    }

    #[test]
    fn one_probe_slot_at_minimum_config() {
        let t0 = Instant::now();
        let mut b = CircuitBreaker::new(BreakerConfig {
            min_calls: 1,
            failure_ratio: 1.0,
            half_open_probes: 1,
            ..config()
        });
        call(&mut b, t0, Outcome::Success);
        call(&mut b, t0, Outcome::Failure);
        assert_eq!(b.state_code(), 0, "1/2 < 1.0");
        let mut b = CircuitBreaker::new(BreakerConfig {
            min_calls: 1,
            failure_ratio: 1.0,
            half_open_probes: 1,
            ..config()
        });
        call(&mut b, t0, Outcome::Failure);
        assert_eq!(b.state_code(), 2);
        let t = t0 + Duration::from_secs(30);
        let p = b.try_acquire(t).unwrap();
        assert_eq!(b.try_acquire(t).unwrap_err(), Refused::ProbesBusy);
        b.record(t, p, Outcome::Success);
        assert_eq!(b.state_code(), 0);
    }
}
