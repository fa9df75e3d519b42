//! Graph's error body: `{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}`,
//! with `request-id` and `client-request-id` response headers.
use serde_json::json;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;
use warp::Reply;

/// A Graph error answer before the correlation headers are attached.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// The `Retry-After` header, as written.
    pub retry_after: Option<String>,
}

impl GraphError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: code.to_string(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            404,
            "ResourceNotFound",
            format!("{what} '{id}' was not found."),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// `Retry-After` in seconds, or any text (an HTTP date, a number too large for any clock).
    pub fn with_retry_after(mut self, value: impl ToString) -> Self {
        self.retry_after = Some(value.to_string());
        self
    }

    pub fn into_response(self, correlation: &Correlation) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": crate::clock::now_rfc3339(),
                    "request-id": correlation.request_id,
                    "client-request-id": correlation.client_request_id,
                }
            }
        });
        let mut response =
            warp::reply::with_status(warp::reply::json(&body), self.status).into_response();
        if let Some(value) = self
            .retry_after
            .and_then(|v| HeaderValue::from_str(&v).ok())
        {
            response.headers_mut().insert("retry-after", value);
        }
        correlation.stamp(&mut response);
        response
    }
}

/// The ids Graph puts on every answer: its own `request-id`, and the caller's `client-request-id` echoed.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub request_id: String,
    pub client_request_id: String,
}

impl Correlation {
    pub fn new(client_request_id: Option<String>) -> Self {
        let request_id = uuid::Uuid::new_v4().to_string();
        let client_request_id = client_request_id.unwrap_or_else(|| request_id.clone());
        Self {
            request_id,
            client_request_id,
        }
    }

    pub fn stamp(&self, response: &mut Response) {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&self.request_id) {
            headers.insert("request-id", value);
        }
        if let Ok(value) = HeaderValue::from_str(&self.client_request_id) {
            headers.insert("client-request-id", value);
        }
        headers.insert(
            "date",
            HeaderValue::from_str(&httpdate::fmt_http_date(std::time::SystemTime::now()))
                .expect("http date is ASCII"),
        );
    }
}
