//! Fault injection and the request-rate limit.
//!
//! A fault is written `KIND[:key=value,…]`, on the command line (`--fault`), in a seed's
//! `settings.faults`, or from Rust through [`Fault::parse`] and `Emulator::add_fault`:
//!
//! | KIND | effect |
//! |---|---|
//! | a status, `400`–`599` | answer with it and Graph's error body (`429` and `503` carry `Retry-After`) |
//! | `drop` | carry the request out, then break the connection before a complete answer: a lost response |
//! | `latency` | wait `ms` milliseconds before answering |
//! | `empty-page` | a collection's first page is empty and links to the real first page |
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `match` | only requests whose path contains this text | every Graph request |
//! | `method` | only this method (`GET`, `POST`) | any |
//! | `after` | let this many matching requests through first | 0 |
//! | `times` | then act on this many, and no more | unlimited |
//! | `retry-after` | seconds in `Retry-After` | 1 |
//! | `ms` | milliseconds, for `latency` | 0 |
//!
//! Example: `503:match=/workflows/wf-1/,times=3` fails the first three requests about one workflow.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    Status(u16),
    Drop,
    Latency,
    EmptyPage,
}

#[derive(Debug)]
pub struct Fault {
    pub kind: FaultKind,
    pub path_contains: Option<String>,
    pub method: Option<String>,
    pub after: u64,
    pub times: Option<u64>,
    pub retry_after: u64,
    pub latency: Duration,
    seen: AtomicU64,
}

impl Fault {
    pub fn parse(spec: &str) -> Result<Self, String> {
        let (kind, options) = spec.split_once(':').unwrap_or((spec, ""));
        let kind = match kind.trim() {
            status if status.parse::<u16>().is_ok_and(|s| (400..600).contains(&s)) => {
                FaultKind::Status(status.parse().expect("checked above"))
            }
            "drop" => FaultKind::Drop,
            "latency" => FaultKind::Latency,
            "empty-page" => FaultKind::EmptyPage,
            other => {
                return Err(format!(
                    "unknown fault kind '{other}' (expected a status from 400 to 599, drop, latency, empty-page)"
                ))
            }
        };
        let mut fault = Fault {
            kind,
            path_contains: None,
            method: None,
            after: 0,
            times: None,
            retry_after: 1,
            latency: Duration::ZERO,
            seen: AtomicU64::new(0),
        };
        for option in options.split(',').filter(|o| !o.trim().is_empty()) {
            let (key, value) = option
                .split_once('=')
                .ok_or_else(|| format!("fault option '{option}' is not key=value"))?;
            let number = || {
                value.trim().parse::<u64>().map_err(|_| {
                    format!("fault option '{key}' needs a whole number, not '{value}'")
                })
            };
            match key.trim() {
                "match" => fault.path_contains = Some(value.to_string()),
                "method" => fault.method = Some(value.trim().to_ascii_uppercase()),
                "after" => fault.after = number()?,
                "times" => fault.times = Some(number()?),
                "retry-after" => fault.retry_after = number()?,
                "ms" => fault.latency = Duration::from_millis(number()?),
                other => return Err(format!("unknown fault option '{other}'")),
            }
        }
        Ok(fault)
    }

    /// Counts this request against the fault and tells whether the fault acts on it.
    pub fn fires(&self, method: &str, path: &str) -> bool {
        if self.method.as_deref().is_some_and(|m| m != method) {
            return false;
        }
        if self
            .path_contains
            .as_deref()
            .is_some_and(|needle| !path.contains(needle))
        {
            return false;
        }
        let n = self.seen.fetch_add(1, Ordering::Relaxed);
        n >= self.after && self.times.is_none_or(|times| n < self.after + times)
    }
}

/// A token bucket: `per_second` requests a second with a burst of one second's worth.
#[derive(Debug)]
pub struct RateLimit {
    per_second: f64,
    bucket: Mutex<(f64, Instant)>,
}

impl RateLimit {
    pub fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second.max(1));
        Self {
            per_second,
            bucket: Mutex::new((per_second, Instant::now())),
        }
    }

    /// `Ok` to go ahead, or `Err(seconds)` to wait, as `Retry-After` says it.
    pub fn admit(&self) -> Result<(), u64> {
        let mut bucket = self.bucket.lock().expect("rate limit lock");
        let now = Instant::now();
        let (tokens, last) = *bucket;
        let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.per_second)
            .min(self.per_second);
        if tokens >= 1.0 {
            *bucket = (tokens - 1.0, now);
            Ok(())
        } else {
            *bucket = (tokens, now);
            let wait = (1.0 - tokens) / self.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_acts_after_and_for_as_many_times_as_it_says() {
        let fault = Fault::parse("503:match=/resume,after=1,times=2,retry-after=3").unwrap();
        assert_eq!(fault.kind, FaultKind::Status(503));
        assert_eq!(fault.retry_after, 3);
        assert!(!fault.fires("POST", "/v1.0/other"));
        let fired: Vec<bool> = (0..4).map(|_| fault.fires("POST", "/x/resume")).collect();
        assert_eq!(fired, [false, true, true, false]);
    }

    #[test]
    fn a_bad_fault_spec_is_refused_with_the_reason() {
        assert!(Fault::parse("302")
            .unwrap_err()
            .contains("unknown fault kind"));
        assert!(Fault::parse("429:times=x").unwrap_err().contains("times"));
        assert!(Fault::parse("429:colour=red")
            .unwrap_err()
            .contains("colour"));
    }

    #[test]
    fn the_rate_limit_admits_a_second_of_burst_then_asks_to_wait() {
        let limit = RateLimit::new(5);
        let admitted = (0..10).filter(|_| limit.admit().is_ok()).count();
        assert_eq!(admitted, 5);
        assert_eq!(limit.admit(), Err(1));
    }
}
