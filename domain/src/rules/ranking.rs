//! Ranking functions. `hot` and `controversy` are mirrored by the SQL functions `hot_rank` and
//! `controversy_rank` that fill the stored, indexed columns; a test keeps them in step.

use chrono::{DateTime, Utc};

/// Reddit's epoch for hot ranks (2005-12-08T07:46:43Z).
pub const HOT_EPOCH: i64 = 1_134_028_003;

/// `sign(s)·log10(max(|s|,1)) + (created − epoch)/45000`: independent of "now", so storable.
pub fn hot(score: i64, created_at: DateTime<Utc>) -> f64 {
    let order = (score.unsigned_abs().max(1) as f64).log10();
    let sign = score.signum() as f64;
    let seconds = (created_at.timestamp_micros() as f64 / 1e6) - HOT_EPOCH as f64;
    sign * order + seconds / 45_000.0
}

/// `(ups + downs)^(min/max)`, 0 when either side has no votes.
pub fn controversy(ups: i64, downs: i64) -> f64 {
    if ups <= 0 || downs <= 0 {
        return 0.0;
    }
    let (lo, hi) = if ups < downs {
        (ups, downs)
    } else {
        (downs, ups)
    };
    ((ups + downs) as f64).powf(lo as f64 / hi as f64)
}

/// Rising: score velocity, `score / (age_hours + 2)^1.5`, for posts inside the rising window.
/// Evaluated against a fixed reference time carried in the cursor, so pages agree.
pub fn rising(score: i64, created_at: DateTime<Utc>, reference: DateTime<Utc>) -> f64 {
    // Microseconds, as the SQL computes it (`extract(epoch ...)`), so both order alike.
    let micros = (reference - created_at)
        .num_microseconds()
        .unwrap_or(i64::MAX)
        .max(0);
    let age_hours = micros as f64 / 3.6e9;
    score as f64 / (age_hours + 2.0).powf(1.5)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn hot_matches_reddit() {
        let t = Utc.timestamp_opt(HOT_EPOCH + 45_000, 0).unwrap();
        assert!((hot(0, t) - 1.0).abs() < 1e-9);
        assert!((hot(1, t) - 1.0).abs() < 1e-9, "log10(1) = 0");
        assert!((hot(100, t) - 3.0).abs() < 1e-9);
        assert!((hot(-100, t) + 1.0).abs() < 1e-9);
        // 12.5 hours of age is worth a factor of 10 in score.
        let later = t + chrono::Duration::seconds(45_000);
        assert!((hot(10, t) - hot(1, later)).abs() < 1e-9);
    }

    #[test]
    fn controversy_prefers_balanced_and_large() {
        assert_eq!(controversy(10, 0), 0.0);
        assert_eq!(controversy(0, 10), 0.0);
        assert!((controversy(5, 5) - 10.0).abs() < 1e-9);
        assert!(controversy(50, 50) > controversy(50, 10));
        assert!((controversy(10, 5) - 15f64.sqrt()).abs() < 1e-9);
        assert_eq!(controversy(10, 5), controversy(5, 10));
    }

    #[test]
    fn rising_decays_with_age() {
        let now = Utc::now();
        assert!(rising(10, now, now) > rising(10, now - chrono::Duration::hours(5), now));
        assert!(rising(20, now, now) > rising(10, now, now));
        assert!((rising(8, now, now) - 8.0 / 2f64.powf(1.5)).abs() < 1e-9);
    }
}

/// Reddit's z for the `best` comment sort (an 80% confidence interval).
pub const WILSON_Z: f64 = 1.281551565545;

/// Lower bound of the Wilson score interval of the upvote fraction: "best" ranks a comment by
/// how good it is at least, given how few votes it may have. Mirrored by SQL `wilson_rank`.
pub fn wilson(ups: i64, downs: i64) -> f64 {
    let n = (ups + downs) as f64;
    if n <= 0.0 {
        return 0.0;
    }
    let z2 = WILSON_Z * WILSON_Z;
    let p = ups as f64 / n;
    (p + z2 / (2.0 * n) - WILSON_Z * ((p * (1.0 - p) + z2 / (4.0 * n)) / n).sqrt()) / (1.0 + z2 / n)
}

#[cfg(test)]
mod wilson_tests {
    use super::*;

    #[test]
    fn wilson_lower_bound() {
        assert_eq!(wilson(0, 0), 0.0);
        // Values from the SQL function (migration 3) agree to 1e-9.
        assert!(
            (wilson(10, 2) - 0.6578125361049526).abs() < 1e-9,
            "{}",
            wilson(10, 2)
        );
        assert!((wilson(1, 0) - 0.37844750322529563).abs() < 1e-9);
        assert!((wilson(100, 100) - 0.4548752105582454).abs() < 1e-9);
        // More evidence for the same ratio ranks higher; a perfect 1/0 ranks below 100/10.
        assert!(wilson(100, 10) > wilson(10, 1));
        assert!(wilson(100, 10) > wilson(1, 0));
        assert!(wilson(5, 0) < 1.0);
    }
}

/// What moving a vote from `from` to `to` does to the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoteChange {
    pub score: i32,
    pub upvotes: i32,
    pub downvotes: i32,
}

impl VoteChange {
    pub fn between(from: i16, to: i16) -> Self {
        let up = |v: i16| i32::from(v == 1);
        let down = |v: i16| i32::from(v == -1);
        Self {
            score: i32::from(to) - i32::from(from),
            upvotes: up(to) - up(from),
            downvotes: down(to) - down(from),
        }
    }

    pub fn is_none(&self) -> bool {
        self.score == 0 && self.upvotes == 0 && self.downvotes == 0
    }
}

#[cfg(test)]
mod vote_tests {
    use super::*;

    #[test]
    fn every_transition() {
        let table = [
            (0, 1, (1, 1, 0)),
            (0, -1, (-1, 0, 1)),
            (1, -1, (-2, -1, 1)),
            (-1, 1, (2, 1, -1)),
            (1, 0, (-1, -1, 0)),
            (-1, 0, (1, 0, -1)),
            (1, 1, (0, 0, 0)),
            (0, 0, (0, 0, 0)),
            (-1, -1, (0, 0, 0)),
        ];
        for (from, to, (score, upvotes, downvotes)) in table {
            let c = VoteChange::between(from, to);
            assert_eq!(
                c,
                VoteChange {
                    score,
                    upvotes,
                    downvotes
                },
                "{from} -> {to}"
            );
            assert_eq!(c.is_none(), from == to);
        }
    }
}
