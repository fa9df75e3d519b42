//! Outcomes and failures of one invocation, and how each is answered (README, *Outcomes*): in one
//! place, so an HTTP caller and a queue see the same facts.
use crate::domain::CommandError;
use crate::graph::GraphFailure;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// A resume that left the work resumed, or nothing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Graph accepted the resume (204).
    Resumed { graph_request_id: Option<String> },
    /// Graph refused, and a read showed the work already resumed as asked: a duplicate.
    AlreadyResumed { graph_request_id: Option<String> },
    /// Entra's connection test, acknowledged without a Graph call.
    ConnectionTest,
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Resumed { .. } => "resumed",
            Outcome::AlreadyResumed { .. } => "alreadyResumed",
            Outcome::ConnectionTest => "connectionTest",
        }
    }

    pub fn graph_request_id(&self) -> Option<&str> {
        match self {
            Outcome::Resumed { graph_request_id }
            | Outcome::AlreadyResumed { graph_request_id } => graph_request_id.as_deref(),
            Outcome::ConnectionTest => None,
        }
    }

    pub fn to_json(&self) -> Value {
        let mut body = json!({ "outcome": self.name() });
        if let Some(id) = self.graph_request_id() {
            body["graphRequestId"] = json!(id);
        }
        body
    }
}

/// Why an invocation did not resume anything.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    Invalid(CommandError),
    WorkflowNotAllowed {
        workflow_id: String,
    },
    NotFound {
        code: String,
        request_id: Option<String>,
    },
    Forbidden {
        code: String,
        request_id: Option<String>,
    },
    Conflict {
        current_status: String,
        request_id: Option<String>,
    },
    Unavailable {
        reason: String,
        retry_after: Duration,
        code: Option<String>,
        request_id: Option<String>,
    },
    /// Graph refused, or answered something unusable (`status` is `None` then, and
    /// `reason` says what, in this app's words).
    GraphError {
        status: Option<u16>,
        code: String,
        reason: Option<String>,
        request_id: Option<String>,
    },
}

impl From<CommandError> for Failure {
    fn from(error: CommandError) -> Self {
        Failure::Invalid(error)
    }
}

impl From<GraphFailure> for Failure {
    fn from(failure: GraphFailure) -> Self {
        match failure {
            GraphFailure::Status {
                status: 404,
                code,
                request_id,
            } => Failure::NotFound { code, request_id },
            GraphFailure::Status {
                status: 401 | 403,
                code,
                request_id,
            } => Failure::Forbidden { code, request_id },
            GraphFailure::Status {
                status,
                code,
                request_id,
            } => Failure::GraphError {
                status: Some(status),
                code,
                reason: None,
                request_id,
            },
            GraphFailure::Unavailable {
                reason,
                retry_after,
                code,
                request_id,
            } => Failure::Unavailable {
                reason,
                retry_after,
                code,
                request_id,
            },
            GraphFailure::Unexpected { reason, request_id } => Failure::GraphError {
                status: None,
                code: "unexpectedAnswer".into(),
                reason: Some(reason),
                request_id,
            },
        }
    }
}

impl Failure {
    /// The status an HTTP caller receives.
    pub fn http_status(&self) -> u16 {
        match self {
            Failure::Invalid(e) if e.is_too_large() => 413,
            Failure::Invalid(_) => 400,
            Failure::WorkflowNotAllowed { .. } | Failure::Forbidden { .. } => 403,
            Failure::NotFound { .. } => 404,
            Failure::Conflict { .. } => 409,
            Failure::Unavailable { .. } => 503,
            Failure::GraphError { .. } => 502,
        }
    }

    /// The code in the error JSON, also the outcome named in the log line.
    pub fn code(&self) -> &str {
        match self {
            Failure::Invalid(e) => e.code,
            Failure::WorkflowNotAllowed { .. } => "workflowNotAllowed",
            Failure::NotFound { code, .. } => code,
            Failure::Forbidden { .. } => "forbidden",
            Failure::Conflict { .. } => "conflict",
            Failure::Unavailable { .. } => "graphUnavailable",
            Failure::GraphError { .. } => "graphError",
        }
    }

    pub fn graph_request_id(&self) -> Option<&str> {
        match self {
            Failure::NotFound { request_id, .. }
            | Failure::Forbidden { request_id, .. }
            | Failure::Conflict { request_id, .. }
            | Failure::Unavailable { request_id, .. }
            | Failure::GraphError { request_id, .. } => request_id.as_deref(),
            Failure::Invalid(_) | Failure::WorkflowNotAllowed { .. } => None,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Failure::Unavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// Whether the failure is Graph's passing trouble (throttling, an outage, a server
    /// error), which the same command may get past later, rather than a verdict.
    pub fn is_transient(&self) -> bool {
        match self {
            Failure::Unavailable { .. } => true,
            Failure::GraphError {
                status: Some(status),
                ..
            } => crate::graph::RetryPolicy::is_transient(*status),
            _ => false,
        }
    }

    /// `{"error": {"code", "message", "target"?, "graphCode"?, "graphRequestId"?, …}}`.
    /// Every message is this app's own: nothing Graph wrote but its code.
    pub fn to_json(&self) -> Value {
        let mut error = Map::new();
        let mut put = |key: &str, value: Value| {
            error.insert(key.to_string(), value);
        };
        put("code", json!(self.code()));
        match self {
            Failure::Invalid(e) => {
                put("message", json!(e.message));
                put("target", json!(e.target));
            }
            Failure::WorkflowNotAllowed { workflow_id } => {
                put(
                    "message",
                    json!(format!(
                        "workflow '{workflow_id}' is not in ALLOWED_WORKFLOW_IDS"
                    )),
                );
                put("target", json!("workflowId"));
            }
            Failure::NotFound { .. } => put("message", json!("Graph found no such resource")),
            Failure::Forbidden { code, .. } => {
                put(
                    "message",
                    json!("Graph refused this app's identity; check its Graph permissions"),
                );
                put("graphCode", json!(code));
            }
            Failure::Conflict { current_status, .. } => {
                put("message", json!(format!("Graph refused the resume: the work is no longer waiting, its status is '{current_status}'")));
                put("currentStatus", json!(current_status));
            }
            Failure::Unavailable {
                reason,
                retry_after,
                code,
                ..
            } => {
                put("message", json!(format!("Graph stayed unavailable for the whole retry budget ({reason}); try again later")));
                put("retryAfterSeconds", json!(retry_after.as_secs().max(1)));
                if let Some(code) = code {
                    put("graphCode", json!(code));
                }
            }
            Failure::GraphError {
                status,
                code,
                reason,
                ..
            } => {
                let message = match (reason, status) {
                    (Some(reason), _) => format!("Graph's answer could not be used: {reason}"),
                    (None, Some(status)) => format!("Graph refused the request with {status}"),
                    (None, None) => "Graph refused the request".into(),
                };
                put("message", json!(message));
                put("graphCode", json!(code));
                if let Some(status) = status {
                    put("graphStatus", json!(status));
                }
            }
        }
        if let Some(id) = self.graph_request_id() {
            put("graphRequestId", json!(id));
        }
        json!({ "error": error })
    }
}
