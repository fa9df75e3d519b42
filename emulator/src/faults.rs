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
//! | `hang` | accept the request and never answer (for an hour) |
//! | `drip` | send the answer's body one byte every `ms` milliseconds |
//! | `huge-body` | answer `status` (default 200) with a body of `bytes` bytes, streamed, never held in memory |
//! | `empty-page` | a collection's first page is empty and links to the real first page |
//! | `self-link` | a collection page's `@odata.nextLink` points back at that same page |
//! | `ignore` | answer `204 No Content` and do nothing: a write that Graph accepts and drops |
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `match` | only requests whose path contains this text | every Graph request |
//! | `method` | only this method (`GET`, `POST`, `PATCH`) | any |
//! | `after` | let this many matching requests through first | 0 |
//! | `times` | then act on this many, and no more | unlimited |
//! | `retry-after` | `Retry-After`: whole seconds (any number of digits), or `past` for an HTTP date a minute ago | 1 |
//! | `ms` | milliseconds, for `latency` and `drip` | 0 |
//! | `bytes`, `status` | for `huge-body` | 0, 200 |
//!
//! A fault acts on Graph requests. One whose `match` names the managed identity endpoint
//! (`match=/msi/token`) acts on token requests instead: a status there answers with an
//! error body that carries a token-like secret, to show that callers never repeat it.
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
    Hang,
    Drip,
    HugeBody,
    EmptyPage,
    SelfLink,
    /// A listing links on forever, each next link a new URL, each item padded with `bytes`.
    Endless,
    Ignore,
}

/// The path of the managed identity endpoint; faults that match it act there.
pub const IDENTITY_PATH: &str = "/msi/token";

#[derive(Debug)]
pub struct Fault {
    pub kind: FaultKind,
    pub path_contains: Option<String>,
    pub method: Option<String>,
    pub after: u64,
    pub times: Option<u64>,
    /// `Retry-After` as written, or `past`.
    pub retry_after: String,
    pub latency: Duration,
    pub bytes: u64,
    pub status: u16,
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
            "hang" => FaultKind::Hang,
            "drip" => FaultKind::Drip,
            "huge-body" => FaultKind::HugeBody,
            "empty-page" => FaultKind::EmptyPage,
            "self-link" => FaultKind::SelfLink,
            "endless" => FaultKind::Endless,
            "ignore" => FaultKind::Ignore,
            other => {
                return Err(format!(
                    "unknown fault kind '{other}' (expected a status from 400 to 599, drop, latency, hang, drip, huge-body, empty-page, self-link, ignore)"
                ))
            }
        };
        let mut fault = Fault {
            kind,
            path_contains: None,
            method: None,
            after: 0,
            times: None,
            retry_after: "1".into(),
            latency: Duration::ZERO,
            bytes: 0,
            status: 200,
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
                "retry-after" => {
                    let value = value.trim();
                    let seconds = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                    if !seconds && value != "past" {
                        return Err(format!("fault option 'retry-after' takes whole seconds or 'past', not '{value}'"));
                    }
                    fault.retry_after = value.to_string();
                }
                "ms" => fault.latency = Duration::from_millis(number()?),
                "bytes" => fault.bytes = number()?,
                "status" => {
                    fault.status = u16::try_from(number()?)
                        .ok()
                        .filter(|s| (200..600).contains(s))
                        .ok_or_else(|| {
                            format!("fault option 'status' takes 200 to 599, not '{value}'")
                        })?
                }
                other => return Err(format!("unknown fault option '{other}'")),
            }
        }
        Ok(fault)
    }

    /// The `Retry-After` header text to send now.
    pub fn retry_after_header(&self) -> String {
        if self.retry_after == "past" {
            httpdate::fmt_http_date(std::time::SystemTime::now() - Duration::from_secs(60))
        } else {
            self.retry_after.clone()
        }
    }

    /// Whether the fault is for the managed identity endpoint rather than Graph.
    pub fn is_for_identity(&self) -> bool {
        self.path_contains
            .as_deref()
            .is_some_and(|needle| IDENTITY_PATH.contains(needle) && needle.len() > 1)
    }

    /// Counts this request against the fault and tells whether the fault acts on it.
    pub fn fires(&self, method: &str, path: &str) -> bool {
        if self.is_for_identity() != (path == IDENTITY_PATH) {
            return false;
        }
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
        assert_eq!(fault.retry_after, "3");
        assert!(!fault.fires("POST", "/v1.0/other"));
        let fired: Vec<bool> = (0..4).map(|_| fault.fires("POST", "/x/resume")).collect();
        assert_eq!(fired, [false, true, true, false]);
    }

    #[test]
    fn an_identity_fault_acts_on_token_requests_only() {
        let fault = Fault::parse("503:match=/msi/token").unwrap();
        assert!(!fault.fires("GET", "/v1.0/identityGovernance"));
        assert!(fault.fires("GET", "/msi/token"));
        let graph = Fault::parse("503").unwrap();
        assert!(!graph.fires("GET", "/msi/token"));
        assert!(graph.fires("GET", "/v1.0/x"));
    }

    #[test]
    fn retry_after_takes_any_number_of_seconds_or_a_past_date() {
        let huge = Fault::parse("429:retry-after=18446744073709551615999").unwrap();
        assert_eq!(huge.retry_after_header(), "18446744073709551615999");
        let past = Fault::parse("503:retry-after=past").unwrap();
        let at = httpdate::parse_http_date(&past.retry_after_header()).unwrap();
        assert!(at < std::time::SystemTime::now());
        assert!(Fault::parse("503:retry-after=soon").is_err());
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
