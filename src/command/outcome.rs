//! Outcomes and failures of one invocation, and how each is answered (README, *Outcomes*): in one
//! place, so an HTTP caller and a queue see the same facts.
use crate::command::CommandError;
use crate::graph::{GraphFailure, RetryPolicy};
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

/// A failure as every front end answers it, made from the [`Failure`] in one match
/// ([`Failure::problem`]): the `error` object of the answer (its serialized fields; every
/// message is this app's own, and of Graph's answer only its code, status and request id
/// appear), the status an HTTP caller receives, whether a queue delivery holds its message,
/// and whether the caller made a mistake (a terminal's exit code 2).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(skip)]
    pub status: u16,
    #[serde(skip)]
    pub retry: Retry,
    /// The command, or the settings, cannot work as given: nothing was sent to Graph, and
    /// trying again unchanged does not help (the CLI's exit code 2).
    #[serde(skip)]
    pub invalid: bool,
    /// Also the outcome the summary line names.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_code: Option<String>,
    /// Graph's own status where it refused with one this app passes on as "Graph refused"
    /// (a 400 or a 500, answered 502).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_request_id: Option<String>,
}

/// Whether the same command may get further later, and so how long a queue delivery holds
/// its message before failing (README, *Outages* and *Outcomes*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A verdict: the same command fails the same way.
    Never,
    /// Graph's passing trouble (throttling, an outage, a server error): held for the
    /// delivery's whole budget.
    Later,
    /// A refusal of this app's identity, which a permission granted minutes ago that has not
    /// yet reached Graph would explain: held for half the budget.
    AfterPropagation,
}

impl Problem {
    /// Graph's status where it gave one, otherwise the status an HTTP caller receives.
    pub fn upstream_status(&self) -> u16 {
        self.graph_status.unwrap_or(self.status)
    }

    /// `{"error": {"code", "message", "target"?, "graphCode"?, "graphRequestId"?, …}}`.
    pub fn to_json(&self) -> Value {
        json!({ "error": self })
    }
}

/// The code of a failure to sign in to Graph ([`Failure::SignIn`]).
pub const SIGN_IN_FAILED: &str = "signInFailed";

/// Why a command did not resume anything; its `Display` is the message of the answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    #[error("{}", .0.message())]
    Invalid(CommandError),
    #[error("workflow '{workflow_id}' is not in ALLOWED_WORKFLOW_IDS")]
    WorkflowNotAllowed { workflow_id: String },
    #[error("Graph found no such resource")]
    NotFound {
        code: String,
        request_id: Option<String>,
    },
    #[error("Graph refused this app's identity; check its Graph permissions")]
    Forbidden {
        code: String,
        request_id: Option<String>,
    },
    #[error(
        "Graph refused the resume: the work is no longer waiting, its status is '{current_status}'"
    )]
    Conflict {
        current_status: String,
        request_id: Option<String>,
    },
    #[error("Graph stayed unavailable for the whole retry budget ({reason}); try again later")]
    Unavailable {
        reason: String,
        retry_after: Duration,
        code: Option<String>,
        request_id: Option<String>,
    },
    /// The configured credential cannot sign in: a setting, or a sign-in, to fix.
    #[error("cannot sign in to Graph: {reason}")]
    SignIn { reason: String },
    /// Graph refused, or answered something unusable (`status` is `None` then, and
    /// `reason` says what, in this app's words).
    #[error("{}", graph_error_message(.status, .reason))]
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
            GraphFailure::SignIn { reason } => Failure::SignIn { reason },
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
    /// How every front end answers this failure: the one place it is decided.
    pub fn problem(&self) -> Problem {
        let answered = |status: u16, code: &str| Problem {
            status,
            retry: Retry::Never,
            invalid: false,
            code: code.to_string(),
            message: self.to_string(),
            target: None,
            graph_code: None,
            graph_status: None,
            current_status: None,
            retry_after_seconds: None,
            graph_request_id: None,
        };
        match self {
            Failure::Invalid(error) => Problem {
                invalid: true,
                target: Some(error.target.clone()),
                ..answered(if error.is_too_large() { 413 } else { 400 }, error.code)
            },
            Failure::WorkflowNotAllowed { .. } => Problem {
                target: Some("workflowId".into()),
                ..answered(403, "workflowNotAllowed")
            },
            // Graph's own code (ResourceNotFound, …) is the answer's.
            Failure::NotFound { code, request_id } => Problem {
                graph_request_id: request_id.clone(),
                ..answered(404, code)
            },
            Failure::Forbidden { code, request_id } => Problem {
                retry: Retry::AfterPropagation,
                graph_code: Some(code.clone()),
                graph_request_id: request_id.clone(),
                ..answered(403, "forbidden")
            },
            Failure::Conflict {
                current_status,
                request_id,
            } => Problem {
                current_status: Some(current_status.clone()),
                graph_request_id: request_id.clone(),
                ..answered(409, "conflict")
            },
            Failure::Unavailable {
                retry_after,
                code,
                request_id,
                ..
            } => Problem {
                retry: Retry::Later,
                retry_after_seconds: Some(retry_after.as_secs().max(1)),
                graph_code: code.clone(),
                graph_request_id: request_id.clone(),
                ..answered(503, "graphUnavailable")
            },
            // A setting, or a sign-in, to fix; a queue message is held and comes back, so
            // that a fixed setting resumes it.
            Failure::SignIn { .. } => Problem {
                retry: Retry::Later,
                invalid: true,
                ..answered(500, SIGN_IN_FAILED)
            },
            Failure::GraphError {
                status,
                code,
                request_id,
                ..
            } => Problem {
                retry: if status.is_some_and(RetryPolicy::is_transient) {
                    Retry::Later
                } else {
                    Retry::Never
                },
                graph_code: Some(code.clone()),
                graph_status: *status,
                graph_request_id: request_id.clone(),
                ..answered(502, "graphError")
            },
        }
    }
}

fn graph_error_message(status: &Option<u16>, reason: &Option<String>) -> String {
    match (reason, status) {
        (Some(reason), _) => format!("Graph's answer could not be used: {reason}"),
        (None, Some(status)) => format!("Graph refused the request with {status}"),
        (None, None) => "Graph refused the request".into(),
    }
}
