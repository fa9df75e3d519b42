//! The Graph HTTP client: bearer token, `client-request-id`, the retry loop, one shared
//! throttle gate, and `@odata.nextLink` paging that never leaves the configured host.
//!
//! Everything it does is bounded: requests per call ([`RetryPolicy`]), each wait, each
//! attempt's time, the call's deadline (token acquisition included), the bytes read of
//! any answer, and the pages of any listing.
use super::error::{plausible_id, GraphFailure};
use super::models::Page;
use super::path::GraphPath;
use super::retry::{parse_retry_after, RetryPolicy};
use crate::auth::TokenSource;
use crate::config::Settings;
use azure_core::credentials::Secret;
use bytes::{Bytes, BytesMut};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};
use tokio::time::timeout_at;
use url::Url;

/// The longest one attempt may take, answer body included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

/// An attempt is never given less than this, even close to its deadline.
const MIN_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);

/// The largest successful answer read: a page of 100 results with `$select` is a few
/// tens of KiB.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// Of an error answer only the code is used: at most this much is read.
pub const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Pages followed in one listing at most: 100,000 results at Graph's page size of 100.
pub const MAX_PAGES: usize = 1_000;

/// The most a listing's pages may weigh together. A page is held only while it is read, but
/// what it lists is kept: a Graph that links on to new pages of large items forever would
/// otherwise grow the process by what the page cap allows (100,000 items of any size).
/// 16 MiB is some 11,000 access package requests with their expansions, or 50,000 task
/// results, in one listing.
pub const MAX_LISTING_BYTES: usize = 16 * 1024 * 1024;

pub struct GraphClient {
    http: reqwest::Client,
    root: Url,
    tokens: TokenSource,
    policy: RetryPolicy,
    /// When Graph says 429, every request from this process waits out the `Retry-After`
    /// (at most [`super::retry::MAX_WAIT`]), not only the one that was throttled: the
    /// limit is per app, not per request.
    gate: Mutex<Option<Instant>>,
}

/// One invocation's dealings with Graph: its correlation id (the same on every retry), its
/// deadline, and how many requests it made.
#[derive(Debug)]
pub struct Call {
    pub client_request_id: String,
    /// No request is sent, and no wait runs, past this.
    deadline: Instant,
    /// Each request's own retry budget, where one call makes many independent requests
    /// (the in-progress sweep); `None`: the requests share the call's budget (a resume).
    per_request: Option<Duration>,
    requests: AtomicU32,
    /// Answers that were 429.
    throttled: AtomicU32,
    /// Time spent in attempts (sending, waiting for and reading answers), in microseconds.
    graph_micros: AtomicU64,
    /// The status of the last answer; 0 before any.
    last_status: AtomicU32,
}

/// What a call's requests came to, for its log line (README, *Logging*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallStats {
    pub requests: u32,
    pub throttled: u32,
    pub graph_time: Duration,
    pub last_status: Option<u16>,
}

impl Call {
    /// A call whose requests share one retry budget.
    pub fn new(client_request_id: String, budget: Duration) -> Self {
        Self {
            client_request_id,
            deadline: Instant::now() + budget,
            per_request: None,
            requests: AtomicU32::new(0),
            throttled: AtomicU32::new(0),
            graph_micros: AtomicU64::new(0),
            last_status: AtomicU32::new(0),
        }
    }

    /// A call whose requests each have `per_request` to retry, all within `overall`.
    pub fn with_request_budget(
        client_request_id: String,
        per_request: Duration,
        overall: Duration,
    ) -> Self {
        Self {
            per_request: Some(per_request),
            ..Self::new(client_request_id, overall)
        }
    }

    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Requests sent to Graph so far (retries included).
    pub fn graph_requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> CallStats {
        CallStats {
            requests: self.graph_requests(),
            throttled: self.throttled.load(Ordering::Relaxed),
            graph_time: Duration::from_micros(self.graph_micros.load(Ordering::Relaxed)),
            last_status: u16::try_from(self.last_status.load(Ordering::Relaxed))
                .ok()
                .filter(|s| *s != 0),
        }
    }

    fn request_deadline(&self) -> Instant {
        match self.per_request {
            Some(budget) => self.deadline.min(Instant::now() + budget),
            None => self.deadline,
        }
    }
}

/// A successful Graph answer.
#[derive(Debug, Clone)]
pub struct GraphResponse {
    pub status: u16,
    pub request_id: Option<String>,
    pub body: Bytes,
}

impl GraphResponse {
    /// The answer as one of [`super::models`] (or any JSON type).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GraphFailure> {
        serde_json::from_slice(&self.body).map_err(|_| GraphFailure::Unexpected {
            reason: "the answer is not JSON of the expected shape".into(),
            request_id: self.request_id.clone(),
        })
    }
}

/// What one attempt came to.
enum Attempt {
    Done(Result<GraphResponse, GraphFailure>),
    /// Graph refused the token: renew it once, or give up with the failure.
    Unauthorized {
        rejected: Secret,
        failure: GraphFailure,
    },
    /// A transient failure: retried while the policy and the deadline allow, else final.
    Retry {
        failure: GraphFailure,
        retry_after: Option<Duration>,
    },
}

impl GraphClient {
    pub fn new(settings: &Settings, tokens: TokenSource) -> Result<Self, reqwest::Error> {
        Self::for_root(settings, settings.graph.versioned_root(), tokens)
    }

    /// The same client for another of Microsoft's APIs at `root` (Resource Manager, for
    /// `doctor`): the same bounds, retries and throttle, tokens only to `root`'s host.
    pub fn for_root(
        settings: &Settings,
        root: Url,
        tokens: TokenSource,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: crate::outbound::client(settings, None).build()?,
            root,
            tokens,
            policy: RetryPolicy::default(),
            gate: Mutex::new(None),
        })
    }

    pub fn url(&self, path: &GraphPath) -> Url {
        let text = format!(
            "{}{}",
            self.root.as_str().trim_end_matches('/'),
            path.as_str()
        );
        Url::parse(&text).expect("a Graph path of words and encoded ids is a valid URL")
    }

    pub async fn post(
        &self,
        call: &Call,
        path: &GraphPath,
        body: &Value,
    ) -> Result<GraphResponse, GraphFailure> {
        self.send(call, Method::POST, self.url(path), Some(body))
            .await
    }

    /// A PATCH; Graph's updates are idempotent, so it is retried as a GET is.
    pub async fn patch(
        &self,
        call: &Call,
        path: &GraphPath,
        body: &Value,
    ) -> Result<GraphResponse, GraphFailure> {
        self.send(call, Method::PATCH, self.url(path), Some(body))
            .await
    }

    /// A POST without a body that only reads, as Resource Manager's `…/list` actions do.
    pub async fn post_to_read(&self, call: &Call, url: Url) -> Result<GraphResponse, GraphFailure> {
        self.send(call, Method::POST, url, None).await
    }

    pub async fn get(&self, call: &Call, url: Url) -> Result<GraphResponse, GraphFailure> {
        self.send(call, Method::GET, url, None).await
    }

    /// Every item of a collection, following `@odata.nextLink` to the end: at most
    /// [`MAX_PAGES`] pages and [`MAX_LISTING_BYTES`], never the same page twice, never to
    /// another host.
    pub async fn list<T: DeserializeOwned>(
        &self,
        call: &Call,
        first: Url,
    ) -> Result<Vec<T>, GraphFailure> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut weight = 0;
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let unexpected = |reason: &str| GraphFailure::Unexpected {
                reason: reason.into(),
                request_id: None,
            };
            if seen.len() == MAX_PAGES {
                return Err(unexpected(
                    "the listing has more pages than the limit (1,000)",
                ));
            }
            if !seen.insert(url.to_string()) {
                return Err(unexpected("a next link leads back to an earlier page"));
            }
            let response = self.get(call, url).await?;
            weight += response.body.len();
            if weight > MAX_LISTING_BYTES {
                return Err(unexpected(
                    "the listing is larger than the limit (16 MiB of pages)",
                ));
            }
            let page: Page<T> = response.json()?;
            items.extend(page.value);
            if let Some(link) = page.next_link.into_option() {
                next = Some(self.same_host(&link, &response.request_id)?);
            }
        }
        Ok(items)
    }

    /// A next link is followed only to the configured Graph host: the token goes nowhere
    /// else. The refusal names the other origin as the URL parser wrote it (scheme, host,
    /// port: nothing else of the answer).
    fn same_host(&self, link: &str, request_id: &Option<String>) -> Result<Url, GraphFailure> {
        let unexpected = |reason: String| GraphFailure::Unexpected {
            reason,
            request_id: request_id.clone(),
        };
        let url = Url::parse(link)
            .map_err(|_| unexpected("a next link is not an absolute URL".into()))?;
        if url.origin() != self.root.origin() {
            return Err(unexpected(format!(
                "a next link points at {}, not the configured Graph host",
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    async fn send(
        &self,
        call: &Call,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<GraphResponse, GraphFailure> {
        let deadline = call.request_deadline();
        let mut attempts = 0u32;
        let mut renewed = false;
        let mut renewed_token = None;
        loop {
            self.wait_for_gate(deadline).await?;
            attempts += 1;
            let token = match renewed_token.take() {
                Some(token) => Ok(token),
                None => self.token_until(deadline).await,
            };
            let attempt = match token {
                Ok(token) => {
                    let sent = Instant::now();
                    let attempt = self
                        .attempt(call, &method, &url, body, token, deadline)
                        .await;
                    let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    call.graph_micros.fetch_add(micros, Ordering::Relaxed);
                    attempt
                }
                Err(failure @ GraphFailure::SignIn { .. }) => Attempt::Done(Err(failure)),
                Err(failure) => Attempt::Retry {
                    failure,
                    retry_after: None,
                },
            };
            match attempt {
                Attempt::Done(result) => return result,
                Attempt::Unauthorized { failure, .. } if renewed => return Err(failure),
                Attempt::Unauthorized { rejected, failure } => {
                    renewed = true;
                    match timeout_at(deadline.into(), self.tokens.renew(&rejected)).await {
                        Ok(Ok(fresh)) => renewed_token = Some(fresh),
                        Ok(Err(e)) => {
                            tracing::warn!("token renewal after a 401 failed: {e}");
                            return Err(failure);
                        }
                        Err(_) => return Err(failure),
                    }
                }
                Attempt::Retry {
                    failure,
                    retry_after,
                } => {
                    let delay = self
                        .policy
                        .delay(attempts, retry_after, rand::random::<f64>());
                    if !self.policy.may_retry(attempts) || Instant::now() + delay > deadline {
                        return Err(failure.with_retry_after(delay));
                    }
                    tracing::debug!(
                        retry = attempts,
                        delay_ms = delay.as_millis() as u64,
                        "retrying Graph: {failure}"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// A token, waited for no longer than `deadline`: a hung or slow token endpoint holds
    /// this call to its own budget, whatever other calls are waiting for.
    async fn token_until(&self, deadline: Instant) -> Result<Secret, GraphFailure> {
        match timeout_at(deadline.into(), self.tokens.token()).await {
            Ok(Ok(token)) => Ok(token),
            Ok(Err(e)) => Err(GraphFailure::from_auth(e)),
            Err(_) => Err(GraphFailure::unavailable(
                "the token endpoint did not answer within the retry budget",
            )),
        }
    }

    async fn attempt(
        &self,
        call: &Call,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        token: Secret,
        deadline: Instant,
    ) -> Attempt {
        call.requests.fetch_add(1, Ordering::Relaxed);
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token.secret())
            .header("client-request-id", &call.client_request_id)
            .timeout(remaining.clamp(MIN_ATTEMPT_TIMEOUT, ATTEMPT_TIMEOUT));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return connection_failure(&e),
        };
        let status = response.status().as_u16();
        call.last_status.store(status.into(), Ordering::Relaxed);
        if status == 429 {
            call.throttled.fetch_add(1, Ordering::Relaxed);
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header("request-id").and_then(|id| plausible_id(&id));
        let retry_after =
            header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now()));
        let success = (200..300).contains(&status);
        let body = match read_capped(
            response,
            if success {
                MAX_ANSWER_BYTES
            } else {
                MAX_ERROR_BYTES
            },
        )
        .await
        {
            Ok(body) => body,
            Err(Capped::TooLarge { body }) if !success => body,
            Err(Capped::TooLarge { .. }) => {
                return Attempt::Done(Err(GraphFailure::Unexpected {
                    reason: format!(
                        "the answer is larger than {} MiB",
                        MAX_ANSWER_BYTES / (1024 * 1024)
                    ),
                    request_id,
                }))
            }
            Err(Capped::Broken(e)) => return connection_failure(&e),
        };
        if success {
            return Attempt::Done(Ok(GraphResponse {
                status,
                request_id,
                body,
            }));
        }
        let failure = GraphFailure::from_answer(status, &body, request_id);
        if status == 401 {
            return Attempt::Unauthorized {
                rejected: token,
                failure,
            };
        }
        if RetryPolicy::is_transient(status) {
            if status == 429 {
                self.close_gate(retry_after.unwrap_or(self.policy.base));
            }
            return Attempt::Retry {
                failure,
                retry_after,
            };
        }
        Attempt::Done(Err(failure))
    }

    fn close_gate(&self, wait: Duration) {
        let until = Instant::now() + wait.min(self.policy.max_wait);
        let mut gate = self.gate.lock().expect("gate lock");
        if gate.is_none_or(|current| current < until) {
            *gate = Some(until);
        }
    }

    /// Waits while the throttle gate is closed; a gate closed past `deadline` is not
    /// waited for: the request gives up at once.
    async fn wait_for_gate(&self, deadline: Instant) -> Result<(), GraphFailure> {
        let until = *self.gate.lock().expect("gate lock");
        match until {
            Some(until) if until > deadline => Err(GraphFailure::unavailable(
                "Graph is throttling this app beyond the retry budget",
            )
            .with_retry_after(until.saturating_duration_since(Instant::now()))),
            Some(until) => {
                tokio::time::sleep_until(until.into()).await;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

enum Capped {
    /// More than the limit: what was read up to it.
    TooLarge { body: Bytes },
    /// The connection broke or timed out while the body was read.
    Broken(reqwest::Error),
}

/// Reads an answer's body, stopping at `limit` bytes.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Bytes, Capped> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Capped::TooLarge { body: Bytes::new() });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(Capped::Broken)? {
        if body.len() + chunk.len() > limit {
            body.extend_from_slice(&chunk[..limit - body.len()]);
            return Err(Capped::TooLarge {
                body: body.freeze(),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn connection_failure(error: &reqwest::Error) -> Attempt {
    let reason = if error.is_timeout() {
        "Graph did not answer in time"
    } else if error.is_connect() {
        "could not connect to Graph"
    } else {
        "the connection to Graph failed"
    };
    Attempt::Retry {
        failure: GraphFailure::unavailable(reason),
        retry_after: None,
    }
}
