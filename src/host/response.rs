//! The invocation response: always `{"Outputs", "Logs", "ReturnValue"}`, never empty (an
//! empty body or `null` would leave the host waiting until functionTimeout).
//!
//! Bodies are held as serialized JSON ([`RawValue`]): a report of thousands of items is
//! written once, not built again as a tree of values (several times its size) first.
use serde::Serialize;
use serde_json::value::{to_raw_value, RawValue};
use serde_json::{json, Map, Value};
use warp::http::StatusCode;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvocationResponse {
    #[serde(skip)]
    pub status: StatusCode,
    pub outputs: Outputs,
    pub logs: Vec<String>,
    pub return_value: Box<RawValue>,
    /// On a failed invocation, the error JSON's `error` object (for people reading the host's trace).
    #[serde(rename = "error", skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// `Outputs`: the HTTP response binding `res`, when the trigger is HTTP; `{}` otherwise.
#[derive(Debug, Default, Serialize)]
pub struct Outputs {
    #[serde(skip_serializing_if = "Option::is_none")]
    res: Option<HttpOutputWire>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct HttpOutputWire {
    status_code: u16,
    headers: Map<String, Value>,
    body: Box<RawValue>,
}

/// JSON that is already serialized: `null`.
fn null() -> Box<RawValue> {
    RawValue::from_string("null".into()).expect("null is JSON")
}

/// The length of `value`'s JSON text, counted as it is written to nowhere (never built).
pub fn json_len(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).map_or(usize::MAX, |()| count.0)
}

/// `value` serialized once, for a body or a return value.
pub fn raw(value: &impl Serialize) -> Box<RawValue> {
    to_raw_value(value).expect("a report or an outcome serializes")
}

impl InvocationResponse {
    /// A successful invocation with nothing to say yet.
    pub fn ok() -> Self {
        Self {
            status: StatusCode::OK,
            outputs: Outputs::default(),
            logs: Vec::new(),
            return_value: null(),
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
        self.outputs.res = Some(output.into_wire());
        self
    }

    pub fn with_return_value(mut self, value: Box<RawValue>) -> Self {
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
#[derive(Debug)]
pub struct HttpOutput {
    pub status: u16,
    pub body: Box<RawValue>,
    pub retry_after_seconds: Option<u64>,
}

impl HttpOutput {
    pub fn json(status: u16, body: Box<RawValue>) -> Self {
        Self {
            status,
            body,
            retry_after_seconds: None,
        }
    }

    fn into_wire(self) -> HttpOutputWire {
        let mut headers = Map::new();
        headers.insert("Content-Type".into(), json!("application/json"));
        if let Some(seconds) = self.retry_after_seconds {
            headers.insert("Retry-After".into(), json!(seconds.to_string()));
        }
        HttpOutputWire {
            status_code: self.status,
            headers,
            body: self.body,
        }
    }
}
