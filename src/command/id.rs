use super::CommandError;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

const MAX_LEN: usize = 256;

/// Everything but `[A-Za-z0-9._-]` is encoded, so a segment can never become a separator,
/// a dot-segment or a query.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_');

/// An opaque Graph id: 1–256 characters of `[A-Za-z0-9._-]`, and not `.` or `..`.
///
/// Graph ids are not always GUIDs (`{guid}_{ticks}` and longer composites exist), so the
/// rule is a safe alphabet rather than a format.
///
/// Cheap to clone: a report shares one workflow's id among all its waiting results.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(Arc<str>);

impl ResourceId {
    pub fn parse(field: &str, value: Option<&Value>) -> Result<Self, CommandError> {
        match value {
            None | Some(Value::Null) => Err(CommandError::invalid(field, "is required")),
            Some(Value::String(s)) => Self::parse_str(field, s),
            Some(_) => Err(CommandError::invalid(field, "must be a string")),
        }
    }

    pub fn parse_str(field: &str, text: &str) -> Result<Self, CommandError> {
        let foreign = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')));
        let problem = if text.is_empty() {
            Some("is empty".to_string())
        } else if text.len() > MAX_LEN {
            Some(format!("is longer than {MAX_LEN} characters"))
        } else if text == "." || text == ".." {
            Some("cannot be '.' or '..'".to_string())
        } else {
            foreign.map(|c| {
                format!("contains {c:?}; ids are made of letters, digits, '.', '_' and '-'")
            })
        };
        match problem {
            Some(problem) => Err(CommandError::invalid(field, problem)),
            None => Ok(Self(Arc::from(text))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as one percent-encoded URL path segment.
    pub fn segment(&self) -> String {
        utf8_percent_encode(&self.0, SEGMENT).to_string()
    }
}

/// An id for a test's fixture; a bad one panics, naming it.
#[cfg(test)]
pub fn id(text: &str) -> ResourceId {
    ResourceId::parse_str("id", text).unwrap_or_else(|e| panic!("{e}"))
}

impl Serialize for ResourceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn composite_graph_ids_are_accepted() {
        for id in [
            "14879e66-9ea9-48d0-804d-8fea672d0341",
            "dad77a47-6eda-4de7-bc37-fe8eb5aaf17d_638321",
            "a.b_c-D9",
        ] {
            assert_eq!(ResourceId::parse_str("taskId", id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn path_injection_attempts_are_refused_naming_the_field() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "a%2Fb",
            "a?b",
            "a#b",
            "a b",
            "é",
            "a\\b",
            &"x".repeat(257),
        ] {
            let err = ResourceId::parse_str("workflowId", bad).unwrap_err();
            assert_eq!(err.target, "workflowId", "{bad:?}");
            let message = err.message();
            assert!(message.starts_with("'workflowId'"), "{message}");
        }
    }

    proptest! {
        #[test]
        fn an_accepted_id_is_its_own_path_segment(text in "\\PC{0,300}") {
            if let Ok(id) = ResourceId::parse_str("id", &text) {
                prop_assert_eq!(id.segment(), text.clone());
                prop_assert!(!text.contains('/') && text != "." && text != "..");
                prop_assert!(!text.is_empty() && text.len() <= 256);
            }
        }

        #[test]
        fn ids_from_the_safe_alphabet_are_accepted(text in "[A-Za-z0-9._-]{1,256}") {
            prop_assume!(text != "." && text != "..");
            prop_assert!(ResourceId::parse_str("id", &text).is_ok());
        }
    }
}
