use std::time::Duration;

/// How a Graph call failed, after the retry loop had its say.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphFailure {
    /// Graph answered with an error status that retrying does not fix.
    #[error("Graph answered {status} {code}")]
    Status {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// Throttling, outage or no token, until the retry budget ran out.
    #[error("Graph unavailable: {reason}")]
    Unavailable {
        reason: String,
        retry_after: Duration,
        code: Option<String>,
        request_id: Option<String>,
    },
    /// Graph answered something this app cannot use (a next link to another host, bad JSON).
    #[error("unexpected answer from Graph: {reason}")]
    Unexpected {
        reason: String,
        request_id: Option<String>,
    },
}

impl GraphFailure {
    pub fn request_id(&self) -> Option<&str> {
        match self {
            GraphFailure::Status { request_id, .. }
            | GraphFailure::Unavailable { request_id, .. }
            | GraphFailure::Unexpected { request_id, .. } => request_id.as_deref(),
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            GraphFailure::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}
