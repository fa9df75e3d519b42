/// Why a command was refused before any Graph call, naming the canonical field (`target`).
///
/// The field's name is kept apart from what is wrong with it, so that each front end names
/// the field in its own words: a body's `'workflowId' contains '/'…` is the command line's
/// `--workflow-id contains '/'…`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{target}: {}", self.message())]
pub struct CommandError {
    /// `payloadTooLarge` or `invalidCommand`.
    pub code: &'static str,
    /// The field refused, as a body names it (`workflowId`); `body` for the body as a whole.
    pub target: String,
    /// What is wrong: said after the field's name ("is required"), or a whole sentence.
    complaint: String,
    /// Whether `complaint` follows the field's name.
    follows_name: bool,
}

impl CommandError {
    /// `target` refused: `complaint` is said after its name ("is required").
    pub fn invalid(target: &str, complaint: impl Into<String>) -> Self {
        Self {
            code: "invalidCommand",
            target: target.to_string(),
            complaint: complaint.into(),
            follows_name: true,
        }
    }

    /// `target` refused with a whole sentence, which names what it needs to itself.
    pub fn refused(target: &str, sentence: impl Into<String>) -> Self {
        Self {
            follows_name: false,
            ..Self::invalid(target, sentence)
        }
    }

    pub fn too_large(limit: usize) -> Self {
        Self {
            code: "payloadTooLarge",
            ..Self::refused(
                "body",
                format!("the body is larger than {} KiB", limit / 1024),
            )
        }
    }

    pub fn is_too_large(&self) -> bool {
        self.code == "payloadTooLarge"
    }

    /// The refusal, naming the field as a body does: `'workflowId' contains '/'…`.
    pub fn message(&self) -> String {
        self.naming(&format!("'{}'", self.target))
    }

    /// The refusal, naming the field `name` (a command line's `--workflow-id`).
    pub fn naming(&self, name: &str) -> String {
        match self.follows_name {
            true => format!("{name} {}", self.complaint),
            false => self.complaint.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_front_end_names_the_field_its_own_way() {
        let error = CommandError::invalid("workflowId", "is required");
        assert_eq!(error.message(), "'workflowId' is required");
        assert_eq!(error.naming("--workflow-id"), "--workflow-id is required");
        assert_eq!(error.to_string(), "workflowId: 'workflowId' is required");
        let whole = CommandError::too_large(256 * 1024);
        assert_eq!(whole.message(), "the body is larger than 256 KiB");
        assert_eq!(whole.naming("--body"), "the body is larger than 256 KiB");
        assert!(whole.is_too_large() && !error.is_too_large());
    }
}
