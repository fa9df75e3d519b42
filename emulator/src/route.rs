//! What a Graph route is given and what it answers: the decoded request ([`Call`]) and the
//! [`Outcome`]. The HTTP surface ([`crate::server`]) makes the one and sends the other; the
//! services' routes ([`crate::lcw`], [`crate::em`]) see only these.
use crate::error::GraphError;
use crate::odata::{Paging, Query};
use crate::Emulator;
use bytes::Bytes;
use serde_json::Value;
use warp::http::Method;

/// What a Graph route answers when it succeeds.
pub enum Answer {
    Json(Value),
    /// 201, with what was created.
    Created(Value),
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
