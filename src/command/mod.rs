//! The core: a resume [`Command`], whatever front end it came from, and what became of it.
//!
//! A command is parsed and validated before any Graph call ("parse, don't validate"): once a
//! [`ResumeTask`] or [`ResumeAccessRequest`] exists, every id in it is safe to put in a
//! Graph path and every enum is canonical. Each kind's module owns the rest of its life: its
//! Graph request, how a read-back after a refusal is judged ([`read_back`]), and the fields
//! its summary line names. Its [`Outcome`] is answered by the front end (`functions` for the
//! Functions host, `cli` for a terminal), and a [`Failure`] through the one `Problem` that
//! [`Failure::problem`] makes of it.
//!
//! A new kind of resume is a module here and a variant of [`Command`] (and of [`Kind`]);
//! the compiler then points at every place that must handle it.
mod access_request;
mod error;
mod id;
mod kind;
mod outcome;
mod read_back;
mod task;

pub use access_request::{requested_id, resumable_stage, Callback, ResumeAccessRequest};
pub use error::CommandError;
#[cfg(test)]
pub use id::id;
pub use id::ResourceId;
pub use kind::Kind;
pub use outcome::{Failure, Outcome, Problem, Retry, SIGN_IN_FAILED};
pub use task::{OperationStatus, ResumeTask, TaskNames, TaskResultIds};

use crate::app::App;
use crate::graph::Call;
use serde_json::{Map, Value};

/// One resume, of either kind, or Entra's connection test (acknowledged without a Graph call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Task(ResumeTask),
    AccessRequest(ResumeAccessRequest),
    ConnectionTest,
}

impl Command {
    /// The command a body of `kind` carries (a queue message, an HTTP body); a field the
    /// body lacks takes its default, `default_source` for `source`.
    pub fn parse(
        kind: Kind,
        body: &Map<String, Value>,
        default_source: &str,
    ) -> Result<Self, CommandError> {
        match kind {
            Kind::Task => ResumeTask::parse(body, default_source).map(Command::Task),
            Kind::AccessRequest => ResumeAccessRequest::parse(body, default_source),
        }
    }

    /// The ids and enums the summary line names (README, *Logging*): never free text.
    pub fn fields(&self) -> Vec<(&'static str, &str)> {
        match self {
            Command::Task(command) => command.fields(),
            Command::AccessRequest(command) => command.fields(),
            Command::ConnectionTest => Vec::new(),
        }
    }

    /// Resumes the work through Graph under `call`'s budget; a refusal is explained by a read
    /// of the work, so a duplicate is told from a conflict.
    pub async fn run(&self, app: &App, call: &Call) -> Result<Outcome, Failure> {
        match self {
            Command::Task(command) => command.run(app, call).await,
            Command::AccessRequest(command) => command.run(app, call).await,
            Command::ConnectionTest => Ok(Outcome::ConnectionTest),
        }
    }
}

/// An optional string field: absent or null is `None`, anything but a string is refused.
fn optional_string<'a>(
    body: &'a Map<String, Value>,
    field: &str,
    target: &str,
) -> Result<Option<&'a str>, CommandError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(CommandError::invalid(target, "must be a string")),
    }
}

/// Two spellings of one field (a canonical one and an alias) must agree when both are given.
fn one_of<'a>(
    body: &'a Map<String, Value>,
    canonical: &str,
    alias: &str,
) -> Result<Option<&'a str>, CommandError> {
    let a = optional_string(body, canonical, canonical)?;
    let b = optional_string(body, alias, canonical)?;
    match (a, b) {
        (Some(a), Some(b)) if a != b => Err(CommandError::invalid(
            canonical,
            format!("and '{alias}' are both given and differ"),
        )),
        (a, b) => Ok(a.or(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TASK_TARGETS: [&str; 8] = [
        "workflowId",
        "taskId",
        "taskProcessingResultId",
        "callbackUriPath",
        "operationStatus",
        "source",
        "type",
        "data",
    ];
    const ACCESS_TARGETS: [&str; 7] = [
        "assignmentRequestId",
        "callbackUriPath",
        "stage",
        "customExtensionStageInstanceId",
        "customExtensionStageInstanceDetail",
        "state",
        "source",
    ];

    fn field_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[A-Za-z0-9._/ %?#-]{0,40}".prop_map(Value::from),
            prop_oneof![
                Just("completed"),
                Just("FAILED"),
                Just("assignmentRequestApproved"),
                Just("CustomExtensionConnectionTest")
            ]
            .prop_map(Value::from),
        ]
    }

    fn body(fields: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
        proptest::collection::vec((proptest::sample::select(fields), field_value()), 0..8)
            .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    proptest! {
        #[test]
        fn any_task_body_parses_or_names_a_task_field(body in body(&["workflowId", "taskId", "taskProcessingResultId", "callbackUriPath", "operationStatus", "source", "type", "extra"])) {
            match ResumeTask::parse(&body, "default") {
                Ok(command) => {
                    for id in [&command.workflow_id, &command.task_id, &command.task_processing_result_id] {
                        prop_assert_eq!(id.segment(), id.as_str().to_string());
                    }
                }
                Err(e) => prop_assert!(TASK_TARGETS.contains(&e.target.as_str()), "{:?}", e),
            }
        }

        #[test]
        fn any_access_body_parses_or_names_a_canonical_field(body in body(&["assignmentRequestId", "AccessPackageAssignmentRequestId", "stage", "Stage", "customExtensionStageInstanceId", "CustomExtensionStageInstanceId", "callbackUriPath", "CallbackUriPath", "state", "State", "source"])) {
            match Command::parse(Kind::AccessRequest, &body, "default") {
                Ok(Command::AccessRequest(command)) => prop_assert_eq!(command.assignment_request_id.segment(), command.assignment_request_id.as_str().to_string()),
                Ok(Command::ConnectionTest) => {}
                Ok(Command::Task(command)) => prop_assert!(false, "an access request body made {:?}", command),
                Err(e) => prop_assert!(ACCESS_TARGETS.contains(&e.target.as_str()), "{:?}", e),
            }
        }
    }
}
