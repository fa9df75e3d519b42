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
    let asked = Decision::of(command.state.as_deref());
    resume_or_explain(graph, call, &request, &body, |read| {
        judge(read, instance_id, asked)
    })
    .await
}

/// What a callback decides: the request goes on, or (`state: denied`) it is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Continue,
    Deny,
}

impl Decision {
    fn of(state: Option<&str>) -> Self {
        match state {
            Some(state) if state.eq_ignore_ascii_case("denied") => Decision::Deny,
            _ => Decision::Continue,
        }
    }
}

/// The request's callout instance tells whether a callback was already received, is still
/// awaited, or can no longer be given (then its status, or the request's when the instance
/// is gone). A received callback is this one again (a duplicate) only if the request shows
/// the same decision: a deny after a continue, or a continue after a deny, is a conflict
/// that names the request's state, as a task completed and then failed is.
fn judge(request: AssignmentRequest, instance_id: &str, asked: Decision) -> ReadBack {
    let instance_status = request
        .custom_extension_callout_instances
        .iter()
        .find(|i| i.id.as_deref() == Some(instance_id))
        .and_then(|i| i.status.as_deref());
    let is = |status: &str| instance_status.is_some_and(|s| s.eq_ignore_ascii_case(status));
    if is("callbackReceived") {
        let applied = Decision::of(request.state.as_deref());
        return if applied == asked {
            ReadBack::AlreadyResumed
        } else {
            ReadBack::Finished(
                request
                    .state
                    .or(request.status)
                    .unwrap_or_else(|| "unknown".into()),
            )
        };
    }
    if is("waitingForCallback") {
        return ReadBack::StillWaiting;
    }
    ReadBack::Finished(
        instance_status
            .or(request.status.as_deref())
            .unwrap_or("unknown")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(state: &str, instance_status: &str) -> AssignmentRequest {
        serde_json::from_value(json!({
            "id": "r", "state": state, "status": "Delivering",
            "customExtensionCalloutInstances": [{"id": "i", "status": instance_status}]
        }))
        .unwrap()
    }

    #[test]
    fn a_received_callback_is_a_duplicate_only_with_the_same_decision() {
        use Decision::*;
        let judged = |state, status, asked| match judge(request(state, status), "i", asked) {
            ReadBack::AlreadyResumed => "already".to_string(),
            ReadBack::StillWaiting => "waiting".to_string(),
            ReadBack::Finished(current) => format!("conflict {current}"),
        };
        assert_eq!(
            judged("delivering", "callbackReceived", Continue),
            "already"
        );
        assert_eq!(judged("denied", "CallbackReceived", Deny), "already");
        assert_eq!(
            judged("delivering", "callbackReceived", Deny),
            "conflict delivering"
        );
        assert_eq!(
            judged("denied", "callbackReceived", Continue),
            "conflict denied"
        );
        assert_eq!(judged("submitted", "waitingForCallback", Deny), "waiting");
        assert_eq!(
            judged("submitted", "callbackTimedOut", Continue),
            "conflict callbackTimedOut"
        );
        assert_eq!(Decision::of(Some("Denied")), Deny);
        assert_eq!(Decision::of(None), Continue);
    }
}
