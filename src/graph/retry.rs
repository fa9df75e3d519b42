//! The retry policy, pure: which answers to retry, how many times, and how long to wait.
//! The loop that applies it is in [`super::client`].
//!
//! Decisions, and why:
//! - **Transient answers** are 408, 429, 500, 502, 503 and 504, and connection failures and
//!   timeouts: the set Azure's SDK core retries by default, and the statuses Microsoft's
//!   Graph fault simulator produces as Graph's transient errors. Microsoft's Graph SDKs
//!   retry only 429, 503 and 504; the wider set is safe here because every retry is
//!   bounded by the attempt cap below, and a retried resume is made safe by the read-back.
//! - **At most [`MAX_ATTEMPTS`] requests** per Graph call (the first and three retries, the
//!   Graph SDKs' default), however much budget is left: a failing Graph is never hammered.
//! - **Every wait has a floor**: exponential backoff from [`BASE_DELAY`] with jitter. A
//!   `Retry-After` longer than the backoff is honored; a `Retry-After` of `0`, or an HTTP
//!   date in the past, still waits the backoff.
//! - **Every wait has a ceiling** ([`MAX_WAIT`]), `Retry-After` included, and no wait runs
//!   past the deadline of the call that waits: the client gives up instead.
use std::time::{Duration, SystemTime};

/// Requests per Graph call at most: the first and three retries.
pub const MAX_ATTEMPTS: u32 = 4;

/// The first backoff step; it doubles with each retry.
pub const BASE_DELAY: Duration = Duration::from_secs(1);

/// The longest single wait, whatever `Retry-After` asks; also the longest the process-wide
/// throttle gate stays closed.
pub const MAX_WAIT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First backoff step; doubles each retry.
    pub base: Duration,
    /// Longest single wait ([`MAX_WAIT`]).
    pub max_wait: Duration,
    /// Requests per call at most ([`MAX_ATTEMPTS`]).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: BASE_DELAY,
            max_wait: MAX_WAIT,
            max_attempts: MAX_ATTEMPTS,
        }
    }
}

impl RetryPolicy {
    /// Graph's transient answers (see the module's decisions).
    pub fn is_transient(status: u16) -> bool {
        matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
    }

    /// Whether a call that has sent `attempts` requests may send another.
    pub fn may_retry(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }

    /// The wait before retry number `retry` (1 for the first retry): the exponential
    /// backoff step with jitter (`jitter` in `[0, 1)`, between half and all of the step, so
    /// clients that failed together do not retry together), or `Retry-After` when it asks
    /// for longer; never more than `max_wait`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let step = self
            .base
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.max_wait);
        let backoff = step.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0);
        backoff
            .max(retry_after.unwrap_or(Duration::ZERO))
            .min(self.max_wait)
    }
}

/// `Retry-After` as seconds or as an HTTP date; a date in the past is zero. Any number of
/// seconds parses (the caller clamps it), and nothing here can overflow.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    #[test]
    fn retry_after_parses_as_seconds_or_a_date_and_never_overflows() {
        assert_eq!(parse_retry_after("7", now()), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now() + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now()),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now() - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
        for huge in ["100000000000", "18446744073709551615", &"9".repeat(400)] {
            let parsed = parse_retry_after(huge, now()).unwrap();
            assert!(parsed >= Duration::from_secs(100_000_000_000), "{huge}");
        }
    }

    #[test]
    fn a_retry_after_of_zero_or_in_the_past_still_waits_the_backoff() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::ZERO), 1.0),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(2, Some(Duration::ZERO), 0.0),
            Duration::from_secs(1)
        );
        assert!(p.delay(1, Some(Duration::ZERO), 0.0) >= p.base / 2);
    }

    #[test]
    fn a_longer_retry_after_is_honored_up_to_the_ceiling() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(40)), 0.3),
            Duration::from_secs(40)
        );
        assert_eq!(p.delay(1, Some(Duration::MAX), 0.3), MAX_WAIT);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(100_000_000_000)), 0.3),
            MAX_WAIT
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, None, 1.0), Duration::from_secs(1));
        assert_eq!(p.delay(1, None, 0.0), Duration::from_millis(500));
        assert_eq!(p.delay(3, None, 1.0), Duration::from_secs(4));
        assert_eq!(p.delay(30, None, 1.0), MAX_WAIT);
    }

    #[test]
    fn attempts_are_capped_at_four_requests_per_call() {
        let p = RetryPolicy::default();
        assert!(p.may_retry(1) && p.may_retry(3));
        assert!(!p.may_retry(4));
    }

    #[test]
    fn transient_statuses_are_the_documented_set() {
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(RetryPolicy::is_transient(status), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 501, 505] {
            assert!(!RetryPolicy::is_transient(status), "{status}");
        }
    }
}
