use crate::command::ResourceId;

/// A Graph path below `{root}/{version}`, made only of fixed words and [`ResourceId`]s,
/// each id percent-encoded as one segment: no input can add a segment or a query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GraphPath(String);

impl GraphPath {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends fixed words, written as `"a/b/c"` in code.
    pub fn words(mut self, words: &'static str) -> Self {
        self.0.push('/');
        self.0.push_str(words.trim_matches('/'));
        self
    }

    pub fn id(mut self, id: &ResourceId) -> Self {
        self.0.push('/');
        self.0.push_str(&id.segment());
        self
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_inside_their_segment() {
        let id = ResourceId::parse_str("id", "abc_123.x-y").unwrap();
        let path = GraphPath::new()
            .words("identityGovernance/lifecycleWorkflows/workflows")
            .id(&id)
            .words("tasks");
        assert_eq!(
            path.as_str(),
            "/identityGovernance/lifecycleWorkflows/workflows/abc_123.x-y/tasks"
        );
    }
}
