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
    let age_hours = ((reference - created_at).num_seconds().max(0) as f64) / 3600.0;
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
