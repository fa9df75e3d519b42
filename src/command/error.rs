use serde::Serialize;

/// Why a command was refused before any Graph call, naming the canonical field (`target`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{target}: {message}")]
pub struct CommandError {
    /// `payloadTooLarge` or `invalidCommand`.
    pub code: &'static str,
    pub message: String,
    pub target: String,
}

impl CommandError {
    pub fn invalid(target: &str, message: impl Into<String>) -> Self {
        Self {
            code: "invalidCommand",
            message: message.into(),
            target: target.to_string(),
        }
    }

    pub fn too_large(limit: usize) -> Self {
        Self {
            code: "payloadTooLarge",
            message: format!("the body is larger than {} KiB", limit / 1024),
            target: "body".to_string(),
        }
    }

    pub fn is_too_large(&self) -> bool {
        self.code == "payloadTooLarge"
    }
}
