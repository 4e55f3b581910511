//! When to refresh a token and how long to wait after a failure: pure functions, so the schedule
//! is unit-tested without clocks or sleeps (the linkerd `refresh_in` pattern, STYLE.md §3).

use std::time::Duration;

/// The earliest a refresh is scheduled after a token was obtained (also the delay used when the
/// expiry is unknown or already past).
pub const MIN_REFRESH: Duration = Duration::from_secs(5);
/// The latest a refresh is scheduled, however long the token lives.
pub const MAX_REFRESH: Duration = Duration::from_secs(3600);
/// The jitter applied to the refresh point: ±5 % of the scheduled delay.
pub const REFRESH_JITTER: f64 = 0.05;
/// The first delay after a failed fetch.
pub const BACKOFF_INITIAL: Duration = Duration::from_millis(100);
/// The longest delay between two failed fetches.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// How long from `now_secs` until a token should be refreshed.
///
/// Takes the token's `obtained_at_secs` and `expires_at_secs` (seconds since the Unix epoch),
/// the current time `now_secs`, the configured `ratio` of the lifetime after which to refresh
/// (0.8 by default) and `jitter`, a random sample in `[-1.0, 1.0]` that moves the refresh point
/// by up to ±5 %. The refresh point is `obtained_at + lifetime × ratio × (1 + 0.05 × jitter)`.
///
/// Returns a delay clamped to `[MIN_REFRESH, MAX_REFRESH]`; [`MIN_REFRESH`] when the expiry is
/// unknown or already past. Out-of-range `ratio` or `jitter` values are clamped, never a panic.
pub fn refresh_in(
    obtained_at_secs: u64,
    expires_at_secs: Option<u64>,
    now_secs: u64,
    ratio: f64,
    jitter: f64,
) -> Duration {
    let Some(expires_at) = expires_at_secs else {
        return MIN_REFRESH;
    };
    if expires_at <= now_secs || expires_at <= obtained_at_secs {
        return MIN_REFRESH;
    }
    let lifetime = (expires_at - obtained_at_secs) as f64;
    let ratio = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.8
    };
    let jitter = if jitter.is_finite() {
        jitter.clamp(-1.0, 1.0)
    } else {
        0.0
    };
    let at = obtained_at_secs as f64 + lifetime * ratio * (1.0 + REFRESH_JITTER * jitter);
    let delay = at - now_secs as f64;
    if delay <= MIN_REFRESH.as_secs_f64() {
        return MIN_REFRESH;
    }
    if delay >= MAX_REFRESH.as_secs_f64() {
        return MAX_REFRESH;
    }
    Duration::from_secs_f64(delay)
}

/// Exponential backoff after failed fetches: 100 ms doubling to 30 s, with "equal jitter" (each
/// delay is drawn from `[d/2, d]` for the current step `d`).
#[derive(Debug, Clone)]
pub struct Backoff {
    step: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            step: BACKOFF_INITIAL,
        }
    }
}

impl Backoff {
    /// The delay before the next attempt, given `random_unit`, a random sample in `[0.0, 1.0]`;
    /// then doubles the step (up to [`BACKOFF_MAX`]).
    pub fn next_delay(&mut self, random_unit: f64) -> Duration {
        let unit = if random_unit.is_finite() {
            random_unit.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let step = self.step;
        self.step = (self.step * 2).min(BACKOFF_MAX);
        step / 2 + step.mul_f64(unit / 2.0)
    }

    /// Starts over at [`BACKOFF_INITIAL`] (after a success).
    pub fn reset(&mut self) {
        self.step = BACKOFF_INITIAL;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_at_eighty_percent_of_the_lifetime_without_jitter() {
        // 300 s token obtained at t=1000, now=1000: refresh after 240 s.
        assert_eq!(
            refresh_in(1000, Some(1300), 1000, 0.8, 0.0),
            Duration::from_secs(240)
        );
    }

    #[test]
    fn counts_time_already_elapsed_since_the_token_was_obtained() {
        assert_eq!(
            refresh_in(1000, Some(1300), 1100, 0.8, 0.0),
            Duration::from_secs(140)
        );
    }

    #[test]
    fn jitter_moves_the_refresh_point_by_at_most_five_percent() {
        // 1000 s lifetime × 0.8 = 800 s; ±5 % → [760, 840].
        assert_eq!(
            refresh_in(0, Some(1000), 0, 0.8, 1.0),
            Duration::from_secs(840)
        );
        assert_eq!(
            refresh_in(0, Some(1000), 0, 0.8, -1.0),
            Duration::from_secs(760)
        );
        // Out-of-range jitter is clamped.
        assert_eq!(
            refresh_in(0, Some(1000), 0, 0.8, 7.0),
            Duration::from_secs(840)
        );
    }

    #[test]
    fn unknown_or_past_expiry_refreshes_after_the_minimum() {
        assert_eq!(refresh_in(1000, None, 1000, 0.8, 0.0), MIN_REFRESH);
        assert_eq!(refresh_in(1000, Some(1000), 1000, 0.8, 0.0), MIN_REFRESH);
        assert_eq!(refresh_in(1000, Some(1300), 2000, 0.8, 0.0), MIN_REFRESH);
    }

    #[test]
    fn short_lifetimes_are_clamped_to_the_minimum() {
        assert_eq!(refresh_in(1000, Some(1004), 1000, 0.8, 0.0), MIN_REFRESH);
    }

    #[test]
    fn long_lifetimes_are_clamped_to_one_hour() {
        assert_eq!(refresh_in(0, Some(86_400), 0, 0.8, 0.0), MAX_REFRESH);
    }

    #[test]
    fn non_finite_ratio_falls_back_to_the_default() {
        assert_eq!(
            refresh_in(0, Some(100), 0, f64::NAN, 0.0),
            Duration::from_secs(80)
        );
    }

    #[test]
    fn backoff_doubles_from_100_ms_to_30_s_and_resets() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay(1.0), Duration::from_millis(100));
        assert_eq!(b.next_delay(1.0), Duration::from_millis(200));
        assert_eq!(b.next_delay(0.0), Duration::from_millis(200));
        for _ in 0..20 {
            b.next_delay(1.0);
        }
        assert_eq!(b.next_delay(1.0), BACKOFF_MAX);
        assert_eq!(b.next_delay(0.0), BACKOFF_MAX / 2);
        b.reset();
        assert_eq!(b.next_delay(1.0), Duration::from_millis(100));
    }
}
