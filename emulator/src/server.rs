//! The HTTP surface. Every request goes through [`routes`]: `/msi/token` is the managed
//! identity endpoint, `/{v1.0|beta}/…` is Graph (bearer token, rate limit, faults, latency,
//! then the route), and `GET /_emulator/state` shows counts for people and scripts.
use crate::error::{Correlation, GraphError};
use crate::faults::{FaultKind, IDENTITY_PATH};
use crate::model::{FunctionApp, Tenant};
use crate::odata::Query;
use crate::route::{unknown_segment, Answer, Call, Outcome};
use crate::{arm, em, lcw, msi, rbac, Emulator, LoggedRequest};
use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

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
        IDENTITY_PATH if method == Method::GET => {
            let mut faults = Faults::of(emulator, method, path);
            let response = match faults.injected.take() {
                Some(status) => msi::refuse_with_secret(emulator, status),
                None => msi::token(emulator, &query, headers),
            };
            faults.shape(response).await
        }
        "/_emulator/state" if method == Method::GET => {
            warp::reply::json(&summary(emulator)).into_response()
        }
        _ => match path.trim_start_matches('/').split_once('/') {
            // Resource Manager goes the same way: `subscriptions` stands where Graph has its
            // version, and `route` hands it to `arm`.
            Some((version @ ("v1.0" | "beta" | RESOURCE_MANAGER), _)) => {
                let request = Incoming {
                    method,
                    path,
                    raw_query,
                    headers,
                    body,
                };
                graph(emulator, version, query, request).await
            }
            _ => StatusCode::NOT_FOUND.into_response(),
        },
    }
}

/// A Graph request as it reached the emulator.
struct Incoming<'a> {
    method: &'a Method,
    path: &'a str,
    /// The query string as sent, for links that repeat it.
    raw_query: &'a str,
    headers: &'a HeaderMap,
    body: Bytes,
}

async fn graph(
    emulator: &Emulator,
    version: &str,
    query: Query,
    request: Incoming<'_>,
) -> Response {
    let Incoming {
        method,
        path,
        raw_query,
        headers,
        body,
    } = request;
    emulator.count_graph_request();
    let client_request_id = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let correlation = Correlation::new(client_request_id.clone());
    let mut faults = Faults::default();
    let outcome = if !msi::is_authorized(emulator, headers) {
        Err(GraphError::new(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty, expired or not valid.",
        ))
    } else if let Err(seconds) = emulator.rate_limit.as_ref().map_or(Ok(()), |l| l.admit()) {
        emulator.count_throttled();
        Err(too_many_requests(seconds.to_string()))
    } else {
        faults = Faults::of(emulator, method, path);
        if let Some(error) = faults.injected.take() {
            if error.status == StatusCode::TOO_MANY_REQUESTS {
                emulator.count_throttled();
            }
            Err(error)
        } else if faults.ignore {
            Ok(Answer::NoContent)
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
                empty_first_page: faults.empty_first_page,
            };
            route(&call)
        }
    };
    let response = match outcome {
        Ok(Answer::Json(mut value)) => {
            if faults.self_link && value.get("@odata.nextLink").is_some() {
                let own = match raw_query {
                    "" => format!("{}{path}", emulator.base_url),
                    query => format!("{}{path}?{query}", emulator.base_url),
                };
                value["@odata.nextLink"] = json!(own);
            }
            if let (Some(bytes), Some(items)) = (
                faults.endless,
                value.get_mut("value").and_then(Value::as_array_mut),
            ) {
                let padding = "x".repeat(bytes as usize);
                for item in items.iter_mut().filter(|i| i.is_object()) {
                    item["padding"] = json!(padding);
                }
                let pairs = || url::form_urlencoded::parse(raw_query.as_bytes());
                let page = pairs()
                    .find(|(k, _)| k == "endless")
                    .and_then(|(_, n)| n.parse::<u64>().ok())
                    .unwrap_or(0);
                let rest: String = pairs()
                    .filter(|(k, _)| k != "endless")
                    .fold(
                        url::form_urlencoded::Serializer::new(String::new()),
                        |mut out, (k, v)| {
                            out.append_pair(&k, &v);
                            out
                        },
                    )
                    .finish();
                let sep = if rest.is_empty() { "" } else { "&" };
                value["@odata.nextLink"] = json!(format!(
                    "{}{path}?{rest}{sep}endless={}",
                    emulator.base_url,
                    page + 1
                ));
            }
            let mut r = match faults.drip {
                Some(pause) => drip_response(&value, pause),
                None => warp::reply::json(&value).into_response(),
            };
            correlation.stamp(&mut r);
            r
        }
        Ok(Answer::Created(value)) => {
            let mut r = warp::reply::with_status(warp::reply::json(&value), StatusCode::CREATED)
                .into_response();
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
        status: faults
            .huge_body
            .map_or(response.status().as_u16(), |(status, _)| status),
        client_request_id,
        request_id: correlation.request_id.clone(),
    });
    faults.shape(response).await
}

/// What the faults that fire on one request do to it.
#[derive(Default)]
struct Faults {
    /// The first status fault's answer (later ones are counted, not used).
    injected: Option<GraphError>,
    /// Answer 204 and do nothing.
    ignore: bool,
    delay: Duration,
    hang: bool,
    drop_connection: bool,
    empty_first_page: bool,
    self_link: bool,
    /// Link on forever to new URLs, padding each listed item with this many bytes.
    endless: Option<u64>,
    /// A successful JSON answer's body is sent one byte at a time, this far apart.
    drip: Option<Duration>,
    huge_body: Option<(u16, u64)>,
}

impl Faults {
    fn of(emulator: &Emulator, method: &Method, path: &str) -> Self {
        let mut faults = Faults {
            delay: Duration::from_millis(emulator.settings.latency_ms),
            ..Faults::default()
        };
        for fault in emulator.faults.read().expect("faults lock").iter() {
            if !fault.fires(method.as_str(), path) {
                continue;
            }
            match fault.kind {
                FaultKind::Status(status) if faults.injected.is_none() => {
                    faults.injected = Some(injected_status(status, fault.retry_after_header()));
                }
                FaultKind::Status(_) => {}
                FaultKind::Drop => faults.drop_connection = true,
                FaultKind::Latency => faults.delay += fault.latency,
                FaultKind::Hang => faults.hang = true,
                FaultKind::Drip => faults.drip = Some(fault.latency),
                FaultKind::HugeBody => faults.huge_body = Some((fault.status, fault.bytes)),
                FaultKind::EmptyPage => faults.empty_first_page = true,
                FaultKind::SelfLink => faults.self_link = true,
                FaultKind::Endless => faults.endless = Some(fault.bytes),
                FaultKind::Ignore => faults.ignore = true,
            }
        }
        faults
    }

    /// Waits, hangs, or reshapes the answer as the faults say.
    async fn shape(self, response: Response) -> Response {
        if self.hang {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if self.drop_connection {
            return broken_response();
        }
        match self.huge_body {
            Some((status, bytes)) => huge_response(status, bytes),
            None => response,
        }
    }
}

/// The first path segment of every Resource Manager request this emulator serves.
const RESOURCE_MANAGER: &str = "subscriptions";

fn route(call: &Call) -> Outcome {
    if call.version == RESOURCE_MANAGER {
        return arm::route(call);
    }
    let segments: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        [GRAPH_SERVICE_PRINCIPAL] if call.method == Method::GET => Ok(Answer::Json(json!({
            "id": GRAPH_SERVICE_PRINCIPAL_ID,
            "appId": "00000003-0000-0000-c000-000000000000",
            "displayName": "Microsoft Graph",
            "appRoles": GRAPH_APP_ROLES.iter().map(|(id, value)| json!({
                "id": id, "value": value, "allowedMemberTypes": ["Application"], "isEnabled": true,
            })).collect::<Vec<_>>(),
        }))),
        ["servicePrincipals", id] if call.method == Method::GET => service_principal(call, id),
        ["servicePrincipals", id, "appRoleAssignments"] if call.method == Method::GET => {
            app_role_assignments(call, id)
        }
        ["identityGovernance", "lifecycleWorkflows", rest @ ..] => lcw::route(call, rest),
        ["identityGovernance", "entitlementManagement", rest @ ..] => em::route(call, rest),
        ["roleManagement", "entitlementManagement", rest @ ..] => rbac::route(call, rest),
        [first, ..] => Err(unknown_segment(first)),
        [] => Err(unknown_segment("")),
    }
}

fn too_many_requests(retry_after: String) -> GraphError {
    GraphError::new(
        429,
        "TooManyRequests",
        "Too many requests; retry after the interval in Retry-After.",
    )
    .with_retry_after(retry_after)
}

fn injected_status(status: u16, retry_after: String) -> GraphError {
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

/// `bytes` bytes of answer with `status`, made as they are sent: a JSON object whose one
/// string never ends, so only a client that stops reading is safe from it.
fn huge_response(status: u16, bytes: u64) -> Response {
    const CHUNK: usize = 64 * 1024;
    let head = Bytes::from_static(b"{\"value\":[],\"padding\":\"");
    let chunks = futures_util::stream::unfold((bytes, true), move |(left, first)| {
        let head = head.clone();
        async move {
            if left == 0 {
                return None;
            }
            let chunk = if first {
                head.slice(..head.len().min(left as usize))
            } else {
                Bytes::from(vec![b'x'; CHUNK.min(left as usize)])
            };
            let left = left - chunk.len() as u64;
            Some((Ok::<_, std::io::Error>(chunk), (left, false)))
        }
    });
    let mut response = warp::reply::stream(chunks).into_response();
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        "content-type",
        warp::http::HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON answer whose body is sent one byte every `pause`: a slow drip.
fn drip_response(value: &Value, pause: Duration) -> Response {
    let body = Bytes::from(serde_json::to_vec(value).expect("JSON serializes"));
    let chunks = futures_util::stream::unfold(0usize, move |at| {
        let body = body.clone();
        async move {
            if at == body.len() {
                return None;
            }
            tokio::time::sleep(pause).await;
            Some((Ok::<_, std::io::Error>(body.slice(at..at + 1)), at + 1))
        }
    });
    let mut response = warp::reply::stream(chunks).into_response();
    response.headers_mut().insert(
        "content-type",
        warp::http::HeaderValue::from_static("application/json"),
    );
    response
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

/// A service principal, for its `appId`: the function apps' identities of the deployment.
fn service_principal(call: &Call, id: &str) -> Outcome {
    let tenant = call.emulator.read();
    let app = identity(&tenant, id)?;
    Ok(Answer::Json(json!({
        "@odata.context": format!("{}/{}/$metadata#servicePrincipals/$entity", call.emulator.base_url, call.version),
        "id": app.principal_id,
        "appId": app.client_id,
        "displayName": app.name,
    })))
}

/// Microsoft Graph's own service principal, addressed by its appId as Graph allows.
const GRAPH_SERVICE_PRINCIPAL: &str =
    "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')";
const GRAPH_SERVICE_PRINCIPAL_ID: &str = "4f3c1b2a-0d9e-4c8b-a7f6-5e4d3c2b1a09";

/// The application permissions of Microsoft Graph that `doctor` asks about, with ids of the
/// emulator's own (`doctor` looks them up by value, as the template does).
const GRAPH_APP_ROLES: [(&str, &str); 5] = [
    (
        "5c505cf0-8424-4b8e-aa14-ee06e3bb23e3",
        "LifecycleWorkflows.ReadWrite.All",
    ),
    (
        "7c67316a-232a-4b84-be22-cea2c0906404",
        "LifecycleWorkflows.Read.All",
    ),
    (
        "9acd699f-1e81-4958-b001-93b1d2506e19",
        "EntitlementManagement.ReadWrite.All",
    ),
    (
        "c74fd47d-ed3c-45c3-9a9e-b8676de685d2",
        "EntitlementManagement.Read.All",
    ),
    (
        "b5f8e0a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
        "LifecycleWorkflows-Reports.Read.All",
    ),
];

/// The app role assignments of a function app's identity: the Graph permissions it holds.
fn app_role_assignments(call: &Call, id: &str) -> Outcome {
    let tenant = call.emulator.read();
    let app = identity(&tenant, id)?;
    let assignments: Vec<Value> = app
        .graph_app_roles
        .iter()
        .filter_map(|value| GRAPH_APP_ROLES.iter().find(|(_, v)| v == value))
        .map(|(role, _)| {
            json!({
                "id": format!("assignment-{role}"),
                "appRoleId": role,
                "principalId": app.principal_id,
                "principalType": "ServicePrincipal",
                "resourceId": GRAPH_SERVICE_PRINCIPAL_ID,
                "resourceDisplayName": "Microsoft Graph",
            })
        })
        .collect();
    Ok(Answer::Json(json!({ "value": assignments })))
}

/// The function app whose identity has object id `id`.
fn identity<'a>(tenant: &'a Tenant, id: &str) -> Result<&'a FunctionApp, GraphError> {
    tenant
        .azure
        .function_apps
        .iter()
        .find(|f| f.principal_id == id)
        .ok_or_else(|| GraphError::not_found("servicePrincipal", id))
}
