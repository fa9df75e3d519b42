//! ResumeAccessRequest and ResumeAccessRequestQueue: resume one Entitlement Management
//! access package assignment request waiting at a custom extension stage.
use super::outcome::{Failure, Outcome};
use super::App;
use crate::domain::ResumeAccessRequest;
use crate::graph::{Call, GraphClient, GraphFailure, GraphPath};
use serde_json::{json, Value};

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
    match graph
        .post(call, &request.clone().words("resume"), &body)
        .await
    {
        Ok(answer) => Ok(Outcome::Resumed {
            graph_request_id: answer.request_id,
        }),
        Err(refusal) if super::is_refusal(&refusal) => {
            read_back(graph, call, &request, command, refusal).await
        }
        Err(failure) => Err(failure.into()),
    }
}

/// Graph refused: the request's callout instance tells whether this callback was
/// already received (a duplicate), is still awaited, or can no longer be given.
async fn read_back(
    graph: &GraphClient,
    call: &Call,
    request: &GraphPath,
    command: &ResumeAccessRequest,
    refusal: GraphFailure,
) -> Result<Outcome, Failure> {
    let answer = match graph.get(call, graph.url(request)).await {
        Ok(answer) => answer,
        Err(failure @ GraphFailure::Status { status: 404, .. }) => return Err(failure.into()),
        Err(_) => return Err(refusal.into()),
    };
    let body = answer.json()?;
    let instance_status = body
        .get("customExtensionCalloutInstances")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|i| {
            i.get("id").and_then(Value::as_str)
                == Some(command.custom_extension_stage_instance_id.as_str())
        })
        .and_then(|i| i.get("status").and_then(Value::as_str));
    match instance_status {
        Some("callbackReceived") => Ok(Outcome::AlreadyResumed {
            graph_request_id: answer.request_id,
        }),
        Some("waitingForCallback") => Err(refusal.into()),
        other => Err(Failure::Conflict {
            current_status: other
                .map(str::to_string)
                .or_else(|| {
                    body.get("status")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_else(|| "unknown".into()),
            request_id: answer.request_id,
        }),
    }
}
