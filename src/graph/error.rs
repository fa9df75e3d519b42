//! How a Graph call failed, in terms this app controls. Nothing Graph (or the token
//! endpoint) wrote travels further than this type except a status, an error code and a
//! request id, each checked to look like one: an answer's free text could hold anything,
//! a token included, and it never reaches a caller or a log line.
use super::retry::MAX_WAIT;
use crate::auth::AuthError;
use serde_json::Value;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphFailure {
    /// Graph answered with an error status that retrying does not fix.
    #[error("Graph answered {status} {code}")]
    Status {
        status: u16,
        code: String,
        request_id: Option<String>,
    },
    /// Throttling, outage or no token, until the retries or the budget ran out.
    #[error("Graph unavailable: {reason}")]
    Unavailable {
        /// This app's own words, never an upstream body.
        reason: String,
        /// What to tell a caller: within 1 s and [`MAX_WAIT`].
        retry_after: Duration,
        code: Option<String>,
        request_id: Option<String>,
    },
    /// The configured credential cannot sign in (the Azure CLI is missing or not signed in,
    /// a credential that cannot be set up): not retried, as only the settings or a sign-in fix it.
    #[error("cannot sign in to Graph: {reason}")]
    SignIn {
        /// This app's own words.
        reason: String,
    },
    /// Graph answered something this app cannot use (a next link to another host, bad
    /// JSON, an answer over the size limit).
    #[error("unexpected answer from Graph: {reason}")]
    Unexpected {
        reason: String,
        request_id: Option<String>,
    },
}

impl GraphFailure {
    /// A token that could not be had: a credential that cannot sign in at all is `SignIn`,
    /// anything else an outage of the token endpoint.
    pub fn from_auth(error: AuthError) -> Self {
        match error.cannot_sign_in {
            true => GraphFailure::SignIn {
                reason: error.what().to_string(),
            },
            false => GraphFailure::unavailable(error.to_string()),
        }
    }

    pub fn unavailable(reason: impl Into<String>) -> Self {
        GraphFailure::Unavailable {
            reason: reason.into(),
            retry_after: Duration::from_secs(1),
            code: None,
            request_id: None,
        }
    }

    /// The failure an error answer stands for: throttled or unavailable (408, 429, 503,
    /// 504) once retrying is over, otherwise the status with Graph's code.
    pub fn from_answer(status: u16, body: &[u8], request_id: Option<String>) -> Self {
        let code = error_code(body);
        if matches!(status, 408 | 429 | 503 | 504) {
            return GraphFailure::Unavailable {
                reason: format!("Graph answered {status} {code}"),
                retry_after: Duration::from_secs(1),
                code: Some(code),
                request_id,
            };
        }
        GraphFailure::Status {
            status,
            code,
            request_id,
        }
    }

    /// Sets what an unavailable failure tells its caller to wait, clamped to 1 s..=[`MAX_WAIT`].
    pub fn with_retry_after(self, wait: Duration) -> Self {
        match self {
            GraphFailure::Unavailable {
                reason,
                code,
                request_id,
                ..
            } => GraphFailure::Unavailable {
                reason,
                retry_after: wait.clamp(Duration::from_secs(1), MAX_WAIT),
                code,
                request_id,
            },
            other => other,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            GraphFailure::Status { request_id, .. }
            | GraphFailure::Unavailable { request_id, .. }
            | GraphFailure::Unexpected { request_id, .. } => request_id.as_deref(),
            GraphFailure::SignIn { .. } => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            GraphFailure::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The longest code or id kept from an answer.
const MAX_CODE_CHARS: usize = 100;

/// `error.code` of Graph's `{"error": {"code", …}}`, when it looks like a code;
/// otherwise `UnknownError`.
fn error_code(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    parsed
        .as_ref()
        .and_then(|v| v.get("error")?.get("code")?.as_str())
        .map(sanitized_code)
        .unwrap_or_else(|| "UnknownError".into())
}

/// `text` when it is a plausible code or id: letters, digits, `.`, `_`, `-`, `:`, at most
/// 100 characters.
pub fn plausible_id(text: &str) -> Option<String> {
    let plausible = !text.is_empty()
        && text.len() <= MAX_CODE_CHARS
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    plausible.then(|| text.to_string())
}

/// A plausible code as it is, anything else as `UnknownError`.
fn sanitized_code(text: &str) -> String {
    plausible_id(text).unwrap_or_else(|| "UnknownError".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plausible_code_is_kept_from_an_error_answer() {
        let answer = |code: &str| {
            serde_json::json!({"error": {"code": code, "message": "secret-token-abc"}}).to_string()
        };
        assert_eq!(
            error_code(answer("Authorization_RequestDenied").as_bytes()),
            "Authorization_RequestDenied"
        );
        for hostile in [
            "",
            "line\nbreak",
            "a b",
            &"x".repeat(101),
            "eyJ0.eyJ1/sig+=",
        ] {
            assert_eq!(error_code(answer(hostile).as_bytes()), "UnknownError");
        }
        assert_eq!(error_code(b"<html>gateway</html>"), "UnknownError");
    }

    #[test]
    fn throttling_and_outages_are_unavailable_other_statuses_keep_their_status() {
        for status in [408, 429, 503, 504] {
            assert!(matches!(
                GraphFailure::from_answer(status, b"", None),
                GraphFailure::Unavailable { .. }
            ));
        }
        for status in [400, 409, 500, 502] {
            assert_eq!(
                GraphFailure::from_answer(status, b"", None).status(),
                Some(status)
            );
        }
    }

    #[test]
    fn the_retry_after_told_to_callers_is_clamped() {
        let told = |wait| match GraphFailure::unavailable("x").with_retry_after(wait) {
            GraphFailure::Unavailable { retry_after, .. } => retry_after,
            _ => unreachable!(),
        };
        assert_eq!(told(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(told(Duration::MAX), MAX_WAIT);
    }
}
