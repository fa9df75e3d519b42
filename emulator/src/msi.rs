//! The App Service managed identity endpoint, as `azure_identity` calls it:
//! `GET /msi/token?api-version=2019-08-01&resource=…[&client_id=…]` with `X-IDENTITY-HEADER`,
//! answering `{"access_token", "expires_on" (unix seconds as a string), "resource", "token_type"}`.
use crate::odata::Query;
use crate::Emulator;
use serde_json::json;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use warp::http::{HeaderMap, StatusCode};
use warp::reply::Response;
use warp::Reply;

pub fn token(emulator: &Emulator, query: &Query, headers: &HeaderMap) -> Response {
    emulator.count_token_request();
    let presented = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok());
    if presented != Some(emulator.settings.identity_header.as_str()) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "The X-IDENTITY-HEADER is missing or wrong.",
        );
    }
    let Some(resource) = query.get("resource").filter(|r| !r.is_empty()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The 'resource' query parameter is required.",
        );
    };
    if query.get("api-version").is_none() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The 'api-version' query parameter is required.",
        );
    }
    let lifetime = Duration::from_secs(emulator.settings.token_lifetime_seconds);
    let access_token = format!("emulator.{}", uuid::Uuid::new_v4().simple());
    emulator
        .tokens
        .lock()
        .expect("tokens lock")
        .insert(access_token.clone(), Instant::now() + lifetime);
    let expires_on = (SystemTime::now() + lifetime)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut body = json!({
        "access_token": access_token,
        "expires_on": expires_on.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    });
    if let Some(client_id) = query.get("client_id") {
        body["client_id"] = json!(client_id);
    }
    warp::reply::json(&body).into_response()
}

/// Whether the request carries a bearer token this endpoint issued and that has not expired.
pub fn is_authorized(emulator: &Emulator, headers: &HeaderMap) -> bool {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else { return false };
    let tokens = emulator.tokens.lock().expect("tokens lock");
    tokens
        .get(token)
        .is_some_and(|expiry| *expiry > Instant::now())
}

/// A refusal whose body carries a token-like secret, as some identity endpoints echo
/// credentials in their errors: callers must never repeat such a body.
pub fn refuse_with_secret(emulator: &Emulator, error: crate::error::GraphError) -> Response {
    emulator.count_token_request();
    let body = json!({
        "error": "invalid_request",
        "error_description": format!("{} access_token={SECRET_IN_ERROR}", error.message),
    });
    warp::reply::with_status(warp::reply::json(&body), error.status).into_response()
}

/// The secret a refusal from the identity endpoint carries (see [`refuse_with_secret`]).
pub const SECRET_IN_ERROR: &str = "eyJ0eXAiOiJKV1QifQ.SECRET-IN-AN-ERROR-BODY.c2lnbmF0dXJl";

fn refuse(status: StatusCode, message: &str) -> Response {
    let body = json!({ "statusCode": status.as_u16(), "message": message });
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}
