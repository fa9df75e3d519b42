//! The invocation response: always `{"Outputs", "Logs", "ReturnValue"}`, never empty (an
//! empty body or `null` would leave the host waiting until functionTimeout).
use serde::Serialize;
use serde_json::{json, Map, Value};
use warp::http::StatusCode;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvocationResponse {
    #[serde(skip)]
    pub status: StatusCode,
    pub outputs: Map<String, Value>,
    pub logs: Vec<String>,
    pub return_value: Value,
    /// On a failed invocation, the error JSON's `error` object (for people reading the host's trace).
    #[serde(rename = "error", skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

impl InvocationResponse {
    /// A successful invocation with nothing to say yet.
    pub fn ok() -> Self {
        Self {
            status: StatusCode::OK,
            outputs: Map::new(),
            logs: Vec::new(),
            return_value: Value::Null,
            error: None,
        }
    }

    /// A failed invocation: a non-2xx status, so the host fails it (and Service Bus redelivers).
    pub fn failed(status: StatusCode, error: Value) -> Self {
        Self {
            status,
            error: Some(error),
            ..Self::ok()
        }
    }

    pub fn with_http(mut self, output: HttpOutput) -> Self {
        self.outputs.insert("res".into(), output.into_value());
        self
    }

    pub fn with_return_value(mut self, value: Value) -> Self {
        self.return_value = value;
        self
    }

    pub fn with_log(mut self, line: String) -> Self {
        self.logs.push(line);
        self
    }
}

impl warp::Reply for InvocationResponse {
    fn into_response(self) -> warp::reply::Response {
        let status = self.status;
        warp::reply::with_status(warp::reply::json(&self), status).into_response()
    }
}

/// `Outputs.res`: what the HTTP caller receives. The body is sent as an object: the host
/// would base64-decode a string body that happened to look like base64.
#[derive(Debug, Clone)]
pub struct HttpOutput {
    pub status: u16,
    pub body: Value,
    pub retry_after_seconds: Option<u64>,
}

impl HttpOutput {
    pub fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body,
            retry_after_seconds: None,
        }
    }

    fn into_value(self) -> Value {
        let mut headers = json!({ "Content-Type": "application/json" });
        if let Some(seconds) = self.retry_after_seconds {
            headers["Retry-After"] = json!(seconds.to_string());
        }
        json!({ "statusCode": self.status, "headers": headers, "body": self.body })
    }
}
