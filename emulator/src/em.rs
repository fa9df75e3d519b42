//! Entitlement Management: access package assignment requests (list, get, with their
//! `customExtensionCalloutInstances`) and the `resume` action. v1.0 serves
//! `assignmentRequests`; beta also the legacy `accessPackageAssignmentRequests`.
use crate::error::GraphError;
use crate::model::AssignmentRequest;
use crate::odata::{select, Filter};
use crate::server::{unknown_segment, Answer, Call, Outcome};
use serde_json::{json, Value};
use warp::http::Method;

pub const STAGES: [&str; 4] = [
    "assignmentRequestCreated",
    "assignmentRequestApproved",
    "assignmentRequestGranted",
    "assignmentRequestRemoved",
];
const CALLBACK_DATA_TYPE: &str = "microsoft.graph.accessPackageAssignmentRequestCallbackData";
const STAGE_TYPE_PREFIX: &str = "microsoft.graph.accessPackageCustomExtensionStage.";

pub fn route(call: &Call, rest: &[&str]) -> Outcome {
    let (collection, rest) = match rest {
        ["assignmentRequests", rest @ ..] => ("assignmentRequests", rest),
        ["accessPackageAssignmentRequests", rest @ ..] if call.is_beta() => {
            ("accessPackageAssignmentRequests", rest)
        }
        [first, ..] => return Err(unknown_segment(first)),
        [] => return Err(unknown_segment("entitlementManagement")),
    };
    match (rest, call.method) {
        ([], &Method::GET) => list(call, collection),
        ([id], &Method::GET) => {
            let tenant = call.emulator.read();
            let request = find(&tenant.assignment_requests, id)?;
            Ok(Answer::Json(select(&call.query, request_json(request))))
        }
        ([id, "resume"], &Method::POST) => resume(call, id),
        ([.., last], _) => Err(unknown_segment(last)),
        ([], _) => Err(GraphError::new(
            405,
            "MethodNotAllowed",
            "The method is not allowed for this resource.",
        )),
    }
}

fn list(call: &Call, collection: &str) -> Outcome {
    let filter = Filter::parse(&call.query, &["id", "state", "status"])?;
    let tenant = call.emulator.read();
    let items = tenant
        .assignment_requests
        .iter()
        .map(request_json)
        .filter(|v| filter.matches(v))
        .map(|v| select(&call.query, v))
        .collect();
    call.paging(&format!(
        "identityGovernance/entitlementManagement/{collection}"
    ))
    .page(&call.query, items)
    .map(Answer::Json)
}

fn find<'t>(
    requests: &'t [AssignmentRequest],
    id: &str,
) -> Result<&'t AssignmentRequest, GraphError> {
    requests
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| GraphError::not_found("accessPackageAssignmentRequest", id))
}

/// The callback as Graph reads it; every check here answers 400 as Graph does.
struct Callback {
    stage: &'static str,
    instance_id: String,
    detail: Option<String>,
    denied: bool,
}

fn parse_callback(body: &serde_json::Map<String, Value>) -> Result<Callback, GraphError> {
    let data = body
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| GraphError::bad_request("The 'data' property is required."))?;
    let data_type = data
        .get("@odata.type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if data_type.trim_start_matches('#') != CALLBACK_DATA_TYPE {
        return Err(GraphError::bad_request(format!(
            "'data.@odata.type' must be '{CALLBACK_DATA_TYPE}'."
        )));
    }
    let stage = data
        .get("stage")
        .and_then(Value::as_str)
        .and_then(|s| STAGES.into_iter().find(|v| v.eq_ignore_ascii_case(s)))
        .ok_or_else(|| {
            GraphError::bad_request("'data.stage' is not a stage that waits for a callback.")
        })?;
    let type_stage = body
        .get("type")
        .and_then(Value::as_str)
        .and_then(|t| t.strip_prefix(STAGE_TYPE_PREFIX));
    if !type_stage.is_some_and(|t| t.eq_ignore_ascii_case(stage)) {
        return Err(GraphError::bad_request(format!(
            "'type' must be '{STAGE_TYPE_PREFIX}{stage}' to match 'data.stage'."
        )));
    }
    let instance_id = data
        .get("customExtensionStageInstanceId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            GraphError::bad_request("'data.customExtensionStageInstanceId' is required.")
        })?
        .to_string();
    let state = data
        .get("state")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(Callback {
        stage,
        instance_id,
        detail: data
            .get("customExtensionStageInstanceDetail")
            .and_then(Value::as_str)
            .map(str::to_string),
        denied: state.eq_ignore_ascii_case("denied"),
    })
}

fn resume(call: &Call, id: &str) -> Outcome {
    let body = call.json_body()?;
    let callback = parse_callback(&body)?;
    let settings = &call.emulator.settings;
    if callback.denied
        && !settings
            .deny_stages
            .iter()
            .any(|s| s.eq_ignore_ascii_case(callback.stage))
    {
        return Err(GraphError::bad_request(format!(
            "A request cannot be denied at the {} stage.",
            callback.stage
        )));
    }
    let mut tenant = call.emulator.write();
    let index = tenant
        .assignment_requests
        .iter()
        .position(|r| r.id == id)
        .ok_or_else(|| GraphError::not_found("accessPackageAssignmentRequest", id))?;
    let request = &mut tenant.assignment_requests[index];
    let not_waiting =
        |why: String| GraphError::new(settings.not_waiting.status, &settings.not_waiting.code, why);
    if request.status != "WaitingForCallback" {
        return Err(not_waiting(format!(
            "The request '{id}' is not waiting for a callback; its status is '{}'.",
            request.status
        )));
    }
    let instance = request
        .custom_extension_callout_instances
        .iter_mut()
        .find(|i| i.id == callback.instance_id)
        .ok_or_else(|| {
            GraphError::bad_request(format!(
                "No custom extension callout '{}' belongs to request '{id}'.",
                callback.instance_id
            ))
        })?;
    if instance.status != "waitingForCallback" {
        return Err(not_waiting(format!(
            "The callout '{}' is not waiting for a callback; its status is '{}'.",
            instance.id, instance.status
        )));
    }
    if !instance.stage.eq_ignore_ascii_case(callback.stage) {
        return Err(GraphError::bad_request(format!(
            "The callout '{}' was made at stage '{}', not '{}'.",
            instance.id, instance.stage, callback.stage
        )));
    }
    instance.status = "callbackReceived".into();
    instance.detail = callback.detail;
    if callback.denied {
        request.state = "denied".into();
        request.status = "Denied".into();
    } else {
        request.state = "delivering".into();
        request.status = "Delivering".into();
    }
    request.resumes.push(Value::Object(body));
    call.emulator.count_resume();
    Ok(Answer::NoContent)
}

pub fn request_json(request: &AssignmentRequest) -> Value {
    json!({
        "id": request.id,
        "requestType": request.request_type,
        "state": request.state,
        "status": request.status,
        "createdDateTime": request.created_date_time,
        "completedDateTime": null,
        "schedule": { "startDateTime": request.created_date_time, "expiration": { "type": "noExpiration" } },
        "customExtensionCalloutInstances": request.custom_extension_callout_instances.iter().map(|i| json!({
            "id": i.id,
            "customExtensionId": i.custom_extension_id,
            "detail": i.detail,
            "externalCorrelationId": i.external_correlation_id,
            "status": i.status,
        })).collect::<Vec<_>>(),
        "answers": [],
        "justification": null,
    })
}
