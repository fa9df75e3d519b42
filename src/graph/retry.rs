//! The retry policy, pure: which answers to retry and how long to wait. The loop that
//! applies it is in [`super::client`].
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// First backoff delay; doubles each attempt.
    pub base: Duration,
    /// Longest backoff delay (a `Retry-After` may ask for longer and is honored).
    pub max_delay: Duration,
    /// Total time one invocation may spend retrying (`GRAPH_RETRY_BUDGET`).
    pub budget: Duration,
}

impl RetryPolicy {
    pub fn new(budget: Duration) -> Self {
        Self {
            base: Duration::from_millis(400),
            max_delay: Duration::from_secs(10),
            budget,
        }
    }

    /// Throttled (429), unavailable (503) or gateway timeout (504): Graph's transient answers.
    pub fn is_transient(status: u16) -> bool {
        matches!(status, 429 | 503 | 504)
    }

    /// The wait before retry number `attempt` (1 for the first retry). `Retry-After` wins;
    /// otherwise exponential backoff with jitter (`jitter` in `[0, 1)`) between half and
    /// all of the step, so clients that failed together do not retry together.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let step = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        step.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }
}

/// `Retry-After` as seconds or as an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honored_in_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        let policy = RetryPolicy::new(Duration::from_secs(60));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3)), 0.9),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = RetryPolicy::new(Duration::from_secs(60));
        assert_eq!(p.delay(1, None, 1.0), Duration::from_millis(400));
        assert_eq!(p.delay(1, None, 0.0), Duration::from_millis(200));
        assert_eq!(p.delay(3, None, 1.0), Duration::from_millis(1600));
        assert_eq!(p.delay(30, None, 1.0), Duration::from_secs(10));
        assert!(
            RetryPolicy::is_transient(429)
                && RetryPolicy::is_transient(503)
                && RetryPolicy::is_transient(504)
        );
        assert!(!RetryPolicy::is_transient(500) && !RetryPolicy::is_transient(400));
    }
}
