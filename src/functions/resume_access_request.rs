//! ResumeAccessRequest and ResumeAccessRequestQueue: resume one Entitlement Management
//! access package assignment request waiting at a custom extension stage.
use super::outcome::{Failure, Outcome};
use super::resume::{resume_or_explain, ReadBack};
use crate::app::App;
use crate::domain::ResumeAccessRequest;
use crate::graph::models::AssignmentRequest;
use crate::graph::{Call, GraphPath};
use serde_json::json;

const CALLBACK_DATA_TYPE: &str = "microsoft.graph.accessPackageAssignmentRequestCallbackData";

pub async fn resume(
    app: &App,
    command: &ResumeAccessRequest,
    call: &Call,
) -> Result<Outcome, Failure> {
    let request = GraphPath::new()
        .words("identityGovernance/entitlementManagement/assignmentRequests")
        .id(&command.assignment_request_id);
    let mut data = json!({
        "@odata.type": CALLBACK_DATA_TYPE,
        "stage": command.stage.as_str(),
        "customExtensionStageInstanceId": command.custom_extension_stage_instance_id.as_str(),
    });
    if let Some(detail) = &command.detail {
        data["customExtensionStageInstanceDetail"] = json!(detail);
    }
    if let Some(state) = &command.state {
        data["state"] = json!(state);
    }
    let body = json!({
        "source": command.source,
        "type": format!("microsoft.graph.accessPackageCustomExtensionStage.{}", command.stage.as_str()),
        "data": data,
    });
    let graph = app.graph().await?;
    let instance_id = command.custom_extension_stage_instance_id.as_str();
    resume_or_explain(graph, call, &request, &body, |read| {
        judge(read, instance_id)
    })
    .await
}

/// The request's callout instance tells whether this callback was already received (a
/// duplicate), is still awaited, or can no longer be given (then its status, or the
/// request's when the instance is gone).
fn judge(request: AssignmentRequest, instance_id: &str) -> ReadBack {
    let instance_status = request
        .custom_extension_callout_instances
        .iter()
        .find(|i| i.id.as_deref() == Some(instance_id))
        .and_then(|i| i.status.as_deref());
    match instance_status {
        Some("callbackReceived") => ReadBack::AlreadyResumed,
        Some("waitingForCallback") => ReadBack::StillWaiting,
        other => ReadBack::Finished(
            other
                .or(request.status.as_deref())
                .unwrap_or("unknown")
                .to_string(),
        ),
    }
}
