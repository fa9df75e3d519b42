//! Resuming a Lifecycle Workflows task processing result (ResumeTask, ResumeTaskQueue,
//! `resume task`): the command (README, *Commands*), its Graph request, and how a read-back
//! is judged.
use super::outcome::{Failure, Outcome};
use super::read_back::{resume_or_explain, ReadBack};
use super::{optional_string, CommandError, ResourceId};
use crate::app::App;
use crate::graph::models::{ProcessingStatus, TaskProcessingResult};
use crate::graph::{Call, GraphPath};
use serde_json::{json, Map, Value};

const LCW_PATH_PREFIX: &str = "/identityGovernance/lifecycleWorkflows/workflows/";
const RESUME_ACTIONS: [&str; 3] = [
    "resume",
    "microsoft.graph.identityGovernance.resume",
    "identityGovernance.resume",
];

/// What the custom task extension reports: the task `completed` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationStatus {
    Completed,
    Failed,
}

impl OperationStatus {
    fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("completed") {
            Some(Self::Completed)
        } else if text.eq_ignore_ascii_case("failed") {
            Some(Self::Failed)
        } else {
            None
        }
    }

    /// Graph's camelCase spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// The `processingStatus` a result resumed with this status shows.
    fn processing_status(self) -> ProcessingStatus {
        match self {
            Self::Completed => ProcessingStatus::Completed,
            Self::Failed => ProcessingStatus::Failed,
        }
    }
}

/// Resume one Lifecycle Workflows task processing result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeTask {
    pub workflow_id: ResourceId,
    pub task_id: ResourceId,
    pub task_processing_result_id: ResourceId,
    pub operation_status: OperationStatus,
    pub source: String,
    pub kind: String,
}

/// The result a task command names: by its three ids, by the callback path that Entra's
/// callout holds, or by both when they agree.
#[derive(Debug, Default, Clone, Copy)]
pub struct TaskNames<'a> {
    pub workflow_id: Option<&'a str>,
    pub task_id: Option<&'a str>,
    pub task_processing_result_id: Option<&'a str>,
    pub callback_uri_path: Option<&'a str>,
}

impl ResumeTask {
    /// What a body sent to ResumeTask or ResumeTaskQueue asks for.
    pub fn parse(body: &Map<String, Value>, default_source: &str) -> Result<Self, CommandError> {
        let names = TaskNames {
            workflow_id: optional_string(body, "workflowId", "workflowId")?,
            task_id: optional_string(body, "taskId", "taskId")?,
            task_processing_result_id: optional_string(
                body,
                "taskProcessingResultId",
                "taskProcessingResultId",
            )?,
            callback_uri_path: optional_string(body, "callbackUriPath", "callbackUriPath")?,
        };
        let ids = names.resolve()?;
        let operation_status = parse_operation_status(body)?;
        let source = optional_string(body, "source", "source")?.unwrap_or(default_source);
        let mut command = Self::new(ids, operation_status, source);
        if let Some(kind) = optional_string(body, "type", "type")? {
            command.kind = kind.to_string();
        }
        Ok(command)
    }

    /// The resume of the result `ids` names, ending it `operation_status`.
    pub fn new(ids: TaskResultIds, operation_status: OperationStatus, source: &str) -> Self {
        Self {
            workflow_id: ids.workflow_id,
            task_id: ids.task_id,
            task_processing_result_id: ids.task_processing_result_id,
            operation_status,
            source: source.to_string(),
            kind: "lifecycleEvent".to_string(),
        }
    }
}

/// A task processing result's ids, each checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskResultIds {
    pub workflow_id: ResourceId,
    pub task_id: ResourceId,
    pub task_processing_result_id: ResourceId,
}

impl TaskNames<'_> {
    /// The ids these names give: each given one checked, and each taken from the callback
    /// path where it is not given (or compared with it where it is).
    pub fn resolve(self) -> Result<TaskResultIds, CommandError> {
        let from_path = self
            .callback_uri_path
            .map(parse_callback_uri_path)
            .transpose()?;
        let id = |field: &str, given: Option<&str>, in_path: fn(&TaskResultIds) -> &ResourceId| {
            let in_path = from_path.as_ref().map(in_path);
            let given = given
                .map(|text| ResourceId::parse_str(field, text))
                .transpose()?;
            match (given, in_path) {
                (Some(id), Some(named)) if id != *named => Err(CommandError::invalid(
                    "callbackUriPath",
                    format!("names {field} '{named}', but '{field}' is '{id}'"),
                )),
                (Some(id), _) => Ok(id),
                (None, Some(named)) => Ok(named.clone()),
                (None, None) => Err(CommandError::invalid(field, "is required")),
            }
        };
        Ok(TaskResultIds {
            workflow_id: id("workflowId", self.workflow_id, |p| &p.workflow_id)?,
            task_id: id("taskId", self.task_id, |p| &p.task_id)?,
            task_processing_result_id: id(
                "taskProcessingResultId",
                self.task_processing_result_id,
                |p| &p.task_processing_result_id,
            )?,
        })
    }
}

/// `operationStatus` at the top, or `data.operationStatus` as in Graph's own body; both
/// are allowed only when they agree.
fn parse_operation_status(body: &Map<String, Value>) -> Result<OperationStatus, CommandError> {
    const FIELD: &str = "operationStatus";
    let nested = match body.get("data") {
        None | Some(Value::Null) => None,
        Some(Value::Object(data)) => optional_string(data, FIELD, FIELD)?,
        Some(_) => return Err(CommandError::invalid("data", "must be an object")),
    };
    let top = optional_string(body, FIELD, FIELD)?;
    let text = match (top, nested) {
        (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => {
            return Err(CommandError::invalid(
                FIELD,
                "and 'data.operationStatus' differ",
            ))
        }
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => {
            return Err(CommandError::invalid(
                FIELD,
                "is required: completed or failed",
            ))
        }
    };
    OperationStatus::parse(text).ok_or_else(|| {
        CommandError::invalid(FIELD, format!("is '{text}'; expected completed or failed"))
    })
}

/// `/identityGovernance/lifecycleWorkflows/workflows/{w}/tasks/{t}/taskProcessingResults/{r}/{action}`.
fn parse_callback_uri_path(path: &str) -> Result<TaskResultIds, CommandError> {
    const FIELD: &str = "callbackUriPath";
    let shape = || {
        CommandError::invalid(
            FIELD,
            "must be /identityGovernance/lifecycleWorkflows/workflows/{workflowId}/tasks/{taskId}/taskProcessingResults/{taskProcessingResultId}/resume",
        )
    };
    let rest = path.strip_prefix(LCW_PATH_PREFIX).ok_or_else(shape)?;
    let segments: Vec<&str> = rest.split('/').collect();
    let [w, "tasks", t, "taskProcessingResults", r, action] = segments.as_slice() else {
        return Err(shape());
    };
    if !RESUME_ACTIONS.contains(action) {
        return Err(shape());
    }
    let id = |text: &str| ResourceId::parse_str(FIELD, text);
    Ok(TaskResultIds {
        workflow_id: id(w)?,
        task_id: id(t)?,
        task_processing_result_id: id(r)?,
    })
}

impl ResumeTask {
    /// The ids and the status, as the summary line names them.
    pub(super) fn fields(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("workflowId", self.workflow_id.as_str()),
            ("taskId", self.task_id.as_str()),
            (
                "taskProcessingResultId",
                self.task_processing_result_id.as_str(),
            ),
            ("operationStatus", self.operation_status.as_str()),
        ]
    }

    /// Resumes the result, unless `ALLOWED_WORKFLOW_IDS` leaves its workflow out.
    pub(super) async fn run(&self, app: &App, call: &Call) -> Result<Outcome, Failure> {
        if let Some(allowed) = &app.settings.resume.allowed_workflow_ids {
            // Workflow ids are GUIDs: one written in capitals in the setting is the same id.
            let listed =
                |id: &ResourceId| id.as_str().eq_ignore_ascii_case(self.workflow_id.as_str());
            if !allowed.iter().any(listed) {
                return Err(Failure::WorkflowNotAllowed {
                    workflow_id: self.workflow_id.to_string(),
                });
            }
        }
        let result = GraphPath::new()
            .words("identityGovernance/lifecycleWorkflows/workflows")
            .id(&self.workflow_id)
            .words("tasks")
            .id(&self.task_id)
            .words("taskProcessingResults")
            .id(&self.task_processing_result_id);
        let body = json!({
            "source": self.source,
            "type": self.kind,
            "data": { "operationStatus": self.operation_status.as_str() },
        });
        let graph = app.graph().await?;
        let asked = self.operation_status;
        resume_or_explain(graph, call, &result, &body, |read| judge(read, asked)).await
    }
}

/// A task processing result already `completed`/`failed` as asked is a duplicate; still
/// `inProgress`, Graph's refusal stands; anything else finished it otherwise.
fn judge(result: TaskProcessingResult, asked: OperationStatus) -> ReadBack {
    match result.processing_status.into_option() {
        Some(status) if status == asked.processing_status() => ReadBack::AlreadyResumed,
        Some(ProcessingStatus::InProgress) => ReadBack::StillWaiting,
        other => ReadBack::Finished(other.map(|s| s.as_str().to_string()).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<ResumeTask, CommandError> {
        ResumeTask::parse(value.as_object().unwrap(), "resume-handler")
    }

    const PATH: &str =
        "/identityGovernance/lifecycleWorkflows/workflows/w1/tasks/t1/taskProcessingResults/r1";

    #[test]
    fn the_three_ids_and_a_status_make_a_command_with_defaults() {
        let c = parse(json!({"workflowId": "w1", "taskId": "t1", "taskProcessingResultId": "r1", "operationStatus": "Completed"})).unwrap();
        assert_eq!(
            (
                c.workflow_id.as_str(),
                c.task_id.as_str(),
                c.task_processing_result_id.as_str()
            ),
            ("w1", "t1", "r1")
        );
        assert_eq!(c.operation_status, OperationStatus::Completed);
        assert_eq!(
            (c.source.as_str(), c.kind.as_str()),
            ("resume-handler", "lifecycleEvent")
        );
    }

    #[test]
    fn a_callback_uri_path_in_every_spelling_stands_for_the_ids() {
        for action in RESUME_ACTIONS {
            let c = parse(json!({"callbackUriPath": format!("{PATH}/{action}"), "data": {"operationStatus": "FAILED"}})).unwrap();
            assert_eq!(c.task_processing_result_id.as_str(), "r1");
            assert_eq!(c.operation_status, OperationStatus::Failed);
        }
    }

    #[test]
    fn other_callback_paths_are_refused() {
        for path in [
            "/identityGovernance/lifecycleWorkflows/workflows/w1/userProcessingResults/u1/taskProcessingResults/r1/resume",
            &format!("{PATH}/cancel"),
            &format!("/v1.0{PATH}/resume"),
            &format!("{PATH}/resume/extra"),
            "/identityGovernance/lifecycleWorkflows/workflows/../tasks/t1/taskProcessingResults/r1/resume",
        ] {
            let err = parse(json!({"callbackUriPath": path, "operationStatus": "completed"})).unwrap_err();
            assert_eq!(err.target, "callbackUriPath", "{path}");
        }
    }

    #[test]
    fn ids_and_a_path_must_agree() {
        let ok = parse(
            json!({"callbackUriPath": format!("{PATH}/resume"), "taskId": "t1", "operationStatus": "completed"}),
        );
        assert!(ok.is_ok());
        let err = parse(json!({"callbackUriPath": format!("{PATH}/resume"), "taskId": "t2", "operationStatus": "completed"})).unwrap_err();
        assert_eq!(err.target, "callbackUriPath");
    }

    #[test]
    fn operation_status_rules_name_the_field() {
        let ids = json!({"workflowId": "w1", "taskId": "t1", "taskProcessingResultId": "r1"});
        let with = |extra: Value| {
            let mut v = ids.clone();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse(v)
        };
        assert_eq!(with(json!({})).unwrap_err().target, "operationStatus");
        assert_eq!(
            with(json!({"operationStatus": "done"})).unwrap_err().target,
            "operationStatus"
        );
        assert_eq!(
            with(json!({"data": {"operationStatus": "maybe"}}))
                .unwrap_err()
                .target,
            "operationStatus"
        );
        assert_eq!(
            with(json!({"operationStatus": "completed", "data": {"operationStatus": "failed"}}))
                .unwrap_err()
                .target,
            "operationStatus"
        );
        assert!(with(
            json!({"operationStatus": "completed", "data": {"operationStatus": "Completed"}})
        )
        .is_ok());
        assert_eq!(
            with(json!({"operationStatus": 1})).unwrap_err().target,
            "operationStatus"
        );
        assert_eq!(
            with(json!({"operationStatus": "completed", "source": 5}))
                .unwrap_err()
                .target,
            "source"
        );
    }

    #[test]
    fn a_missing_or_bad_id_is_named() {
        let err = parse(json!({"workflowId": "w1", "taskProcessingResultId": "r1", "operationStatus": "completed"})).unwrap_err();
        assert_eq!(err.target, "taskId");
        let err = parse(json!({"workflowId": "w1", "taskId": "t/1", "taskProcessingResultId": "r1", "operationStatus": "completed"})).unwrap_err();
        assert_eq!(err.target, "taskId");
    }
}
