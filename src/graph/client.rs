//! The Graph HTTP client: bearer token, `client-request-id`, the retry loop, one shared
//! throttle gate, and `@odata.nextLink` paging that never leaves the configured host.
use super::error::GraphFailure;
use super::path::GraphPath;
use super::retry::{parse_retry_after, RetryPolicy};
use crate::auth::TokenSource;
use crate::config::Settings;
use azure_core::credentials::Secret;
use bytes::Bytes;
use reqwest::Method;
use serde_json::Value;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};
use url::Url;

/// The longest one attempt may take before it counts as a connection failure.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

pub struct GraphClient {
    http: reqwest::Client,
    root: Url,
    tokens: TokenSource,
    policy: RetryPolicy,
    /// When Graph says 429, every request from this process waits out the `Retry-After`,
    /// not only the one that was throttled: the limit is per app, not per request.
    paused_until: Mutex<Option<Instant>>,
}

/// One invocation's dealings with Graph: its correlation id (the same on every retry),
/// the deadline of its retry budget, and how many requests it made.
#[derive(Debug)]
pub struct Call {
    pub client_request_id: String,
    deadline: Instant,
    requests: AtomicU32,
}

impl Call {
    pub fn new(client_request_id: String, budget: Duration) -> Self {
        Self {
            client_request_id,
            deadline: Instant::now() + budget,
            requests: AtomicU32::new(0),
        }
    }

    /// Requests sent to Graph so far (retries included).
    pub fn graph_requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
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
    pub fn json(&self) -> Result<Value, GraphFailure> {
        serde_json::from_slice(&self.body).map_err(|e| GraphFailure::Unexpected {
            reason: format!("the answer is not JSON ({e})"),
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
    Retry {
        reason: String,
        retry_after: Option<Duration>,
        code: Option<String>,
        request_id: Option<String>,
    },
}

impl GraphClient {
    pub fn new(settings: &Settings, tokens: TokenSource) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("resume-handler/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(5))
            // A redirect could carry the token to another host: Graph does not redirect these calls.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            http,
            root: settings.graph_versioned_root(),
            tokens,
            policy: RetryPolicy::new(settings.retry_budget),
            paused_until: Mutex::new(None),
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

    pub async fn get(&self, call: &Call, url: Url) -> Result<GraphResponse, GraphFailure> {
        self.send(call, Method::GET, url, None).await
    }

    /// Every item of a collection, following `@odata.nextLink` to the end.
    pub async fn list(&self, call: &Call, first: Url) -> Result<Vec<Value>, GraphFailure> {
        let mut items = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let response = self.get(call, url).await?;
            let mut page = response.json()?;
            if let Some(Value::Array(values)) = page.get_mut("value").map(Value::take) {
                items.extend(values);
            }
            if let Some(link) = page.get("@odata.nextLink").and_then(Value::as_str) {
                next = Some(self.same_host(link, &response.request_id)?);
            }
        }
        Ok(items)
    }

    /// A next link is followed only to the configured Graph host: the token goes nowhere else.
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
        let mut retries = 0u32;
        let mut renewed = false;
        let mut token = None;
        loop {
            self.wait_for_gate().await;
            let attempt = match token.take() {
                Some(token) => self.attempt(call, &method, &url, body, token).await,
                None => match self.tokens.token().await {
                    Ok(token) => self.attempt(call, &method, &url, body, token).await,
                    Err(e) => Attempt::Retry {
                        reason: e.to_string(),
                        retry_after: None,
                        code: None,
                        request_id: None,
                    },
                },
            };
            match attempt {
                Attempt::Done(result) => return result,
                Attempt::Unauthorized { failure, .. } if renewed => return Err(failure),
                Attempt::Unauthorized { rejected, failure } => {
                    renewed = true;
                    match self.tokens.renew(&rejected).await {
                        Ok(fresh) => token = Some(fresh),
                        Err(e) => {
                            tracing::warn!(error = %e, "token renewal after a 401 failed");
                            return Err(failure);
                        }
                    }
                }
                Attempt::Retry {
                    reason,
                    retry_after,
                    code,
                    request_id,
                } => {
                    retries += 1;
                    let delay = self
                        .policy
                        .delay(retries, retry_after, rand::random::<f64>());
                    if Instant::now() + delay > call.deadline {
                        return Err(GraphFailure::Unavailable {
                            reason,
                            retry_after: delay.max(Duration::from_secs(1)),
                            code,
                            request_id,
                        });
                    }
                    tracing::debug!(%reason, retry = retries, delay_ms = delay.as_millis() as u64, "retrying Graph");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        call: &Call,
        method: &Method,
        url: &Url,
        body: Option<&Value>,
        token: Secret,
    ) -> Attempt {
        call.requests.fetch_add(1, Ordering::Relaxed);
        let remaining = call.deadline.saturating_duration_since(Instant::now());
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token.secret())
            .header("client-request-id", &call.client_request_id)
            .timeout(ATTEMPT_TIMEOUT.min(remaining.max(Duration::from_secs(2))));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return connection_failure(&e),
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header("request-id");
        let retry_after =
            header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now()));
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(e) => return connection_failure(&e),
        };
        if (200..300).contains(&status) {
            return Attempt::Done(Ok(GraphResponse {
                status,
                request_id,
                body,
            }));
        }
        let (code, message) = error_code_and_message(&body);
        if status == 401 {
            return Attempt::Unauthorized {
                rejected: token,
                failure: GraphFailure::Status {
                    status,
                    code,
                    message,
                    request_id,
                },
            };
        }
        if RetryPolicy::is_transient(status) {
            if status == 429 {
                self.pause(retry_after.unwrap_or(Duration::from_secs(1)));
            }
            return Attempt::Retry {
                reason: format!("Graph answered {status} {code}"),
                retry_after,
                code: Some(code),
                request_id,
            };
        }
        Attempt::Done(Err(GraphFailure::Status {
            status,
            code,
            message,
            request_id,
        }))
    }

    fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut paused = self.paused_until.lock().expect("gate lock");
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    async fn wait_for_gate(&self) {
        let until = *self.paused_until.lock().expect("gate lock");
        if let Some(until) = until {
            tokio::time::sleep_until(until.into()).await;
        }
    }
}

fn connection_failure(error: &reqwest::Error) -> Attempt {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    Attempt::Retry {
        reason: format!("Graph {kind}"),
        retry_after: None,
        code: None,
        request_id: None,
    }
}

/// Graph's `{"error": {"code", "message"}}`, or a stand-in when the body is not that.
fn error_code_and_message(body: &[u8]) -> (String, String) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let field = |name: &str| {
        error
            .and_then(|e| e.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    (
        field("code").unwrap_or_else(|| "UnknownError".into()),
        field("message").unwrap_or_default(),
    )
}
