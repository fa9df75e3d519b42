//! The HTTP surface. Every request goes through [`routes`]: `/msi/token` is the managed
//! identity endpoint, `/{v1.0|beta}/…` is Graph (bearer token, rate limit, faults, latency,
//! then the route), and `GET /_emulator/state` shows counts for people and scripts.
use crate::error::{Correlation, GraphError};
use crate::faults::FaultKind;
use crate::odata::{Paging, Query};
use crate::{em, lcw, msi, Emulator, LoggedRequest};
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

/// What a Graph route answers when it succeeds.
pub enum Answer {
    Json(Value),
    NoContent,
}

pub type Outcome = Result<Answer, GraphError>;

/// One Graph request, decoded.
pub struct Call<'a> {
    pub emulator: &'a Emulator,
    pub version: &'a str,
    pub method: &'a Method,
    /// Path segments after the version, percent-decoded.
    pub segments: Vec<String>,
    pub path: &'a str,
    pub query: Query,
    pub body: Bytes,
    pub empty_first_page: bool,
}

impl Call<'_> {
    pub fn paging(&self, context: &str) -> Paging {
        Paging {
            collection_url: format!("{}{}", self.emulator.base_url, self.path),
            context: format!(
                "{}/{}/$metadata#{context}",
                self.emulator.base_url, self.version
            ),
            page_size: self.emulator.settings.page_size,
            empty_first_page: self.empty_first_page,
        }
    }

    pub fn is_beta(&self) -> bool {
        self.version == "beta"
    }

    /// The request body as a JSON object, or Graph's 400.
    pub fn json_body(&self) -> Result<serde_json::Map<String, Value>, GraphError> {
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(GraphError::bad_request(
                "The request body must be a JSON object.",
            )),
        }
    }
}

/// `Resource not found for the segment '…'`: how Graph answers a path it does not route.
pub fn unknown_segment(segment: &str) -> GraphError {
    GraphError::bad_request(format!("Resource not found for the segment '{segment}'."))
}

pub fn routes(
    emulator: Arc<Emulator>,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    let raw_query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::method()
        .and(warp::path::full())
        .and(raw_query)
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .then(move |method: Method, path: warp::path::FullPath, query: String, headers: HeaderMap, body: Bytes| {
            let emulator = emulator.clone();
            async move { dispatch(&emulator, &method, path.as_str(), &query, &headers, body).await }
        })
        .recover(|_| async { Ok::<_, Infallible>(StatusCode::BAD_REQUEST.into_response()) })
        .unify()
}

async fn dispatch(
    emulator: &Emulator,
    method: &Method,
    path: &str,
    raw_query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let query = Query::parse(raw_query);
    match path {
        "/msi/token" if method == Method::GET => msi::token(emulator, &query, headers),
        "/_emulator/state" if method == Method::GET => {
            warp::reply::json(&summary(emulator)).into_response()
        }
        _ => match path.trim_start_matches('/').split_once('/') {
            Some((version @ ("v1.0" | "beta"), _)) => {
                graph(
                    emulator, version, method, path, raw_query, query, headers, body,
                )
                .await
            }
            _ => StatusCode::NOT_FOUND.into_response(),
        },
    }
}

#[allow(clippy::too_many_arguments)]
async fn graph(
    emulator: &Emulator,
    version: &str,
    method: &Method,
    path: &str,
    raw_query: &str,
    query: Query,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    emulator.count_graph_request();
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let correlation = Correlation::new(client_request_id.clone());
    let mut delay = Duration::from_millis(emulator.settings.latency_ms);
    let mut drop_connection = false;
    let mut empty_first_page = false;

    let outcome = if !msi::is_authorized(emulator, headers) {
        Err(GraphError::new(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty, expired or not valid.",
        ))
    } else if let Err(seconds) = emulator.rate_limit.as_ref().map_or(Ok(()), |l| l.admit()) {
        emulator.count_throttled();
        Err(too_many_requests(seconds))
    } else {
        let mut injected = None;
        for fault in emulator.faults.read().expect("faults lock").iter() {
            if !fault.fires(method.as_str(), path) {
                continue;
            }
            match fault.kind {
                FaultKind::Status(status) if injected.is_none() => {
                    injected = Some(injected_status(status, fault.retry_after));
                }
                FaultKind::Status(_) => {}
                FaultKind::Drop => drop_connection = true,
                FaultKind::Latency => delay += fault.latency,
                FaultKind::EmptyPage => empty_first_page = true,
            }
        }
        if let Some(error) = injected {
            if error.status == StatusCode::TOO_MANY_REQUESTS {
                emulator.count_throttled();
            }
            Err(error)
        } else {
            let segments = path
                .trim_start_matches('/')
                .split('/')
                .skip(1)
                .map(|s| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                })
                .collect();
            let call = Call {
                emulator,
                version,
                method,
                segments,
                path,
                query,
                body,
                empty_first_page,
            };
            route(&call)
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut response = match outcome {
        Ok(Answer::Json(value)) => {
            let mut r = warp::reply::json(&value).into_response();
            correlation.stamp(&mut r);
            r
        }
        Ok(Answer::NoContent) => {
            let mut r = StatusCode::NO_CONTENT.into_response();
            correlation.stamp(&mut r);
            r
        }
        Err(error) => error.into_response(&correlation),
    };
    emulator.record(LoggedRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: raw_query.to_string(),
        status: response.status().as_u16(),
        client_request_id,
        request_id: correlation.request_id.clone(),
    });
    if drop_connection {
        response = broken_response();
    }
    response
}

fn route(call: &Call) -> Outcome {
    let segments: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        ["identityGovernance", "lifecycleWorkflows", rest @ ..] => lcw::route(call, rest),
        ["identityGovernance", "entitlementManagement", rest @ ..] => em::route(call, rest),
        [first, ..] => Err(unknown_segment(first)),
        [] => Err(unknown_segment("")),
    }
}

fn too_many_requests(seconds: u64) -> GraphError {
    GraphError::new(
        429,
        "TooManyRequests",
        "Too many requests; retry after the interval in Retry-After.",
    )
    .with_retry_after(seconds)
}

fn injected_status(status: u16, retry_after: u64) -> GraphError {
    match status {
        429 => too_many_requests(retry_after),
        503 => GraphError::new(
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable.",
        )
        .with_retry_after(retry_after),
        504 => GraphError::new(504, "GatewayTimeout", "The gateway timed out."),
        400 => GraphError::bad_request("Injected fault: bad request."),
        401 => GraphError::new(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
        403 => GraphError::new(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ),
        404 => GraphError::new(404, "ResourceNotFound", "Injected fault: not found."),
        other if other < 500 => GraphError::new(other, "BadRequest", "Injected fault."),
        other => GraphError::new(
            other,
            "InternalServerError",
            "An internal server error occurred.",
        ),
    }
}

/// An answer broken off mid-body: the head and a few bytes go out, then the connection
/// closes, so the client sees a failed exchange, as when a response is lost in transit.
fn broken_response() -> Response {
    let chunks = vec![
        Ok(Bytes::from_static(b"{\"error\"")),
        Err(std::io::Error::other(
            "connection dropped by fault injection",
        )),
    ];
    let mut response = warp::reply::stream(futures_util::stream::iter(chunks)).into_response();
    *response.status_mut() = StatusCode::BAD_GATEWAY;
    response
}

fn summary(emulator: &Emulator) -> Value {
    let tenant = emulator.read();
    let mut results: BTreeMap<&str, usize> = BTreeMap::new();
    for result in tenant
        .workflows
        .iter()
        .flat_map(|w| &w.user_processing_results)
        .flat_map(|u| &u.task_processing_results)
    {
        *results
            .entry(result.processing_status.as_str())
            .or_default() += 1;
    }
    let mut requests: BTreeMap<&str, usize> = BTreeMap::new();
    for request in &tenant.assignment_requests {
        *requests.entry(request.status.as_str()).or_default() += 1;
    }
    json!({
        "stats": emulator.stats(),
        "workflows": tenant.workflows.len(),
        "taskProcessingResults": results,
        "assignmentRequests": requests,
    })
}
