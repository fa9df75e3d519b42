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
    /// Every kind. A new kind does not compile until it is listed here too: the match
    /// below has no wildcard, and it stands beside the list.
    pub const ALL: [Kind; 2] = [Kind::Task, Kind::AccessRequest];

    const fn _in_all(self) {
        match self {
            Kind::Task | Kind::AccessRequest => {}
        }
    }

    /// The name reports and settings use: `task`, `accessRequest`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::AccessRequest => "accessRequest",
        }
    }

    /// The name a command line uses: `task`, `access-request`.
    pub fn flag_name(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::AccessRequest => "access-request",
        }
    }

    /// A kind by either of its names (`accessRequest` or `access-request`), ignoring case:
    /// settings and flags take both spellings, and output writes [`Kind::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::ALL.into_iter().find(|k| {
            k.as_str().eq_ignore_ascii_case(text) || k.flag_name().eq_ignore_ascii_case(text)
        })
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
        assert_eq!(Kind::parse("access-request"), Some(Kind::AccessRequest));
        assert_eq!(Kind::parse("Access-Request"), Some(Kind::AccessRequest));
        assert_eq!(Kind::parse("tasks"), None);
    }
}
