//! ResumeTask and ResumeTaskQueue: resume one Lifecycle Workflows task processing result.
use super::outcome::{Failure, Outcome};
use super::App;
use crate::domain::{OperationStatus, ResumeTask};
use crate::graph::{Call, GraphClient, GraphFailure, GraphPath};
use serde_json::{json, Value};

pub async fn resume(app: &App, command: &ResumeTask, call: &Call) -> Result<Outcome, Failure> {
    if let Some(allowed) = &app.settings.allowed_workflow_ids {
        if !allowed.contains(command.workflow_id.as_str()) {
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
    match graph
        .post(call, &result.clone().words("resume"), &body)
        .await
    {
        Ok(answer) => Ok(Outcome::Resumed {
            graph_request_id: answer.request_id,
        }),
        Err(refusal) if super::is_refusal(&refusal) => {
            read_back(graph, call, &result, command.operation_status, refusal).await
        }
        Err(failure) => Err(failure.into()),
    }
}

/// Graph refused the resume: read the result to tell a duplicate (already finished as
/// asked) from a conflict (finished otherwise) and from a refusal while still waiting.
async fn read_back(
    graph: &GraphClient,
    call: &Call,
    result: &GraphPath,
    asked: OperationStatus,
    refusal: GraphFailure,
) -> Result<Outcome, Failure> {
    let answer = match graph.get(call, graph.url(result)).await {
        Ok(answer) => answer,
        Err(failure @ GraphFailure::Status { status: 404, .. }) => return Err(failure.into()),
        Err(_) => return Err(refusal.into()),
    };
    let status = answer
        .json()?
        .get("processingStatus")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if status == asked.as_str() {
        Ok(Outcome::AlreadyResumed {
            graph_request_id: answer.request_id,
        })
    } else if status == "inProgress" {
        Err(refusal.into())
    } else {
        Err(Failure::Conflict {
            current_status: status,
            request_id: answer.request_id,
        })
    }
}
