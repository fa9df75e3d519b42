//! Outcomes and failures of one invocation, and how each is answered (README, *Outcomes*): in one
//! place, so an HTTP caller and a queue see the same facts.
use crate::domain::CommandError;
use crate::graph::GraphFailure;
use serde::Serialize;
use serde_json::{json, Value};
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

/// The `error` object of a failure's answer; every message is this app's own, and of
/// Graph's answer only its code, status and request id appear.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_request_id: Option<String>,
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

    /// The error's message: always this app's own words, nothing Graph wrote.
    pub fn message(&self) -> String {
        match self {
            Failure::Invalid(e) => e.message.clone(),
            Failure::WorkflowNotAllowed { workflow_id } => {
                format!("workflow '{workflow_id}' is not in ALLOWED_WORKFLOW_IDS")
            }
            Failure::NotFound { .. } => "Graph found no such resource".into(),
            Failure::Forbidden { .. } => {
                "Graph refused this app's identity; check its Graph permissions".into()
            }
            Failure::Conflict { current_status, .. } => format!(
                "Graph refused the resume: the work is no longer waiting, its status is '{current_status}'"
            ),
            Failure::Unavailable { reason, .. } => format!(
                "Graph stayed unavailable for the whole retry budget ({reason}); try again later"
            ),
            Failure::GraphError { reason, status, .. } => match (reason, status) {
                (Some(reason), _) => format!("Graph's answer could not be used: {reason}"),
                (None, Some(status)) => format!("Graph refused the request with {status}"),
                (None, None) => "Graph refused the request".into(),
            },
        }
    }

    /// The error code Graph gave, when Graph answered with one.
    pub fn graph_code(&self) -> Option<&str> {
        match self {
            Failure::NotFound { code, .. }
            | Failure::Forbidden { code, .. }
            | Failure::GraphError { code, .. } => Some(code),
            Failure::Unavailable { code, .. } => code.as_deref(),
            Failure::Invalid(_) | Failure::WorkflowNotAllowed { .. } | Failure::Conflict { .. } => {
                None
            }
        }
    }

    /// Graph's own status where it answered with one this app passes on as "Graph
    /// refused" (a 400 or a 500), otherwise the status an HTTP caller receives.
    pub fn upstream_status(&self) -> u16 {
        match self {
            Failure::GraphError {
                status: Some(status),
                ..
            } => *status,
            other => other.http_status(),
        }
    }

    /// The `error` object of the answer.
    pub fn body(&self) -> ErrorBody {
        let mut body = ErrorBody {
            code: self.code().to_string(),
            message: self.message(),
            target: None,
            graph_code: None,
            graph_status: None,
            current_status: None,
            retry_after_seconds: None,
            graph_request_id: self.graph_request_id().map(str::to_string),
        };
        match self {
            Failure::Invalid(e) => body.target = Some(e.target.clone()),
            Failure::WorkflowNotAllowed { .. } => body.target = Some("workflowId".into()),
            Failure::NotFound { .. } => {}
            Failure::Forbidden { code, .. } => body.graph_code = Some(code.clone()),
            Failure::Conflict { current_status, .. } => {
                body.current_status = Some(current_status.clone())
            }
            Failure::Unavailable {
                retry_after, code, ..
            } => {
                body.retry_after_seconds = Some(retry_after.as_secs().max(1));
                body.graph_code = code.clone();
            }
            Failure::GraphError { status, code, .. } => {
                body.graph_code = Some(code.clone());
                body.graph_status = *status;
            }
        }
        body
    }

    /// `{"error": {"code", "message", "target"?, "graphCode"?, "graphRequestId"?, …}}`.
    pub fn to_json(&self) -> Value {
        json!({ "error": self.body() })
    }
}
