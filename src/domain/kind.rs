//! The kinds of paused work this app resumes and reports.
use serde::Serialize;

/// A Lifecycle Workflows task processing result left `inProgress` by a custom task
/// extension, or an Entitlement Management access package assignment request whose custom
/// extension callout waits for its callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Task,
    AccessRequest,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Task, Kind::AccessRequest];

    /// The name reports and settings use: `task`, `accessRequest`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::AccessRequest => "accessRequest",
        }
    }

    /// A kind by its name, ignoring case.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_by_the_names_reports_write() {
        for kind in Kind::ALL {
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind.as_str())
            );
        }
        assert_eq!(Kind::parse(" AccessRequest "), Some(Kind::AccessRequest));
        assert_eq!(Kind::parse("tasks"), None);
    }
}
