//! ResumeTask and ResumeTaskQueue: resume one Lifecycle Workflows task processing result.
use super::outcome::{Failure, Outcome};
use super::resume::{resume_or_explain, ReadBack};
use crate::app::App;
use crate::domain::{OperationStatus, ResumeTask};
use crate::graph::models::TaskProcessingResult;
use crate::graph::{Call, GraphPath};
use serde_json::json;

pub async fn resume(app: &App, command: &ResumeTask, call: &Call) -> Result<Outcome, Failure> {
    if let Some(allowed) = &app.settings.allowed_workflow_ids {
        // Workflow ids are GUIDs: one written in capitals in the setting is the same id.
        let listed = |id: &crate::domain::ResourceId| {
            id.as_str()
                .eq_ignore_ascii_case(command.workflow_id.as_str())
        };
        if !allowed.iter().any(listed) {
            return Err(Failure::WorkflowNotAllowed {
                workflow_id: command.workflow_id.to_string(),
            });
        }
    }
    let result = GraphPath::new()
        .words("identityGovernance/lifecycleWorkflows/workflows")
        .id(&command.workflow_id)
        .words("tasks")
        .id(&command.task_id)
        .words("taskProcessingResults")
        .id(&command.task_processing_result_id);
    let body = json!({
        "source": command.source,
        "type": command.kind,
        "data": { "operationStatus": command.operation_status.as_str() },
    });
    let graph = app.graph().await?;
    let asked = command.operation_status;
    resume_or_explain(graph, call, &result, &body, |read| judge(read, asked)).await
}

/// A task processing result already `completed`/`failed` as asked is a duplicate; still
/// `inProgress`, Graph's refusal stands; anything else finished it otherwise.
fn judge(result: TaskProcessingResult, asked: OperationStatus) -> ReadBack {
    match result.processing_status.as_deref() {
        Some(status) if status == asked.as_str() => ReadBack::AlreadyResumed,
        Some("inProgress") => ReadBack::StillWaiting,
        other => ReadBack::Finished(other.unwrap_or_default().to_string()),
    }
}
