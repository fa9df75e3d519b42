//! Entitlement Management: access package assignment requests (list, get, with their
//! `customExtensionCalloutInstances`, `$expand=accessPackage,assignment($expand=target)`)
//! and the `resume` action; assignment policies with their custom extension stage
//! settings; access packages; catalogs with their custom workflow extensions. v1.0 serves `assignmentRequests`; beta also the legacy
//! `accessPackageAssignmentRequests`.
use crate::error::GraphError;
use crate::model::{AssignmentPolicy, AssignmentRequest, Tenant, WorkflowExtension};
use crate::odata::{select, select_list, Expand, Filter, Query};
use crate::route::{unknown_segment, Answer, Call, Outcome};
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
    match rest {
        ["assignmentPolicies", rest @ ..] => return policies(call, rest),
        ["accessPackages", rest @ ..] => return access_packages(call, rest),
        ["catalogs", rest @ ..] => return catalogs(call, rest),
        _ => {}
    }
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
            Ok(Answer::Json(expanded_request(
                &tenant,
                request,
                &call.query,
            )))
        }
        ([id, "resume"], &Method::POST) => resume(call, id),
        ([.., last], _) => Err(unknown_segment(last)),
        ([], _) => Err(method_not_allowed()),
    }
}

fn method_not_allowed() -> GraphError {
    GraphError::new(
        405,
        "MethodNotAllowed",
        "The method is not allowed for this resource.",
    )
}

fn list(call: &Call, collection: &str) -> Outcome {
    let allowed: Vec<&str> = call
        .emulator
        .settings
        .request_filters
        .iter()
        .map(String::as_str)
        .collect();
    let filter = Filter::parse(&call.query, &allowed)?;
    let nested = Expand::list(&call.query)
        .iter()
        .any(|e| e.options.get("$expand").is_some());
    if nested && !call.emulator.settings.nested_expand {
        return Err(GraphError::bad_request(
            "Parsing OData Select and Expand failed: a nested $expand is not supported here.",
        ));
    }
    let tenant = call.emulator.read();
    let items = tenant
        .assignment_requests
        .iter()
        .map(|r| (r, request_json(r)))
        .filter(|(r, v)| filter.matches(&with_access_package_id(v.clone(), r)))
        .map(|(r, _)| expanded_request(&tenant, r, &call.query))
        .collect();
    call.paging(&format!(
        "identityGovernance/entitlementManagement/{collection}"
    ))
    .page(&call.query, items)
    .map(Answer::Json)
}

/// The request with `accessPackage/id` filled in, for a filter to read.
fn with_access_package_id(mut value: Value, request: &AssignmentRequest) -> Value {
    value["accessPackage"] = json!({ "id": request.access_package_id });
    value
}

/// A request as `$select` and `$expand` ask: `accessPackage` and
/// `assignment($expand=target)` are the navigations served.
fn expanded_request(tenant: &Tenant, request: &AssignmentRequest, query: &Query) -> Value {
    let expands = Expand::list(query);
    let mut value = request_json(request);
    let mut names = Vec::new();
    if let Some(expand) = Expand::find(&expands, "accessPackage") {
        let package = tenant
            .access_packages
            .iter()
            .find(|p| p.id == request.access_package_id)
            .map(|p| json!({ "id": p.id, "displayName": p.display_name }))
            .unwrap_or(Value::Null);
        value["accessPackage"] = select(&expand.options, package);
        names.push("accessPackage");
    }
    if let Some(expand) = Expand::find(&expands, "assignment") {
        let mut assignment = json!({
            "id": format!("{}-assignment", request.id),
            "state": if request.state == "delivered" { "delivered" } else { "delivering" },
        });
        if Expand::find(&Expand::list(&expand.options), "target").is_some() {
            assignment["target"] = json!({
                "objectId": request.target.object_id,
                "displayName": request.target.display_name,
            });
        }
        value["assignment"] = assignment;
        names.push("assignment");
    }
    select_list(query.get("$select"), &names, value)
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
        "completedDateTime": request.completed_date_time,
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

/// `assignmentPolicies` and `assignmentPolicies/{id}`, with
/// `$expand=accessPackage,customExtensionStageSettings($expand=customExtension)`.
fn policies(call: &Call, rest: &[&str]) -> Outcome {
    if call.method != Method::GET {
        return Err(method_not_allowed());
    }
    let tenant = call.emulator.read();
    let filter = Filter::parse(&call.query, &["accessPackage/id", "id"])?;
    let policies = tenant
        .assignment_policies
        .iter()
        .map(|p| policy_json(&tenant, p, &call.query))
        .filter(|v| filter.matches(v));
    list_or_get(
        call,
        rest,
        "assignmentPolicies",
        "accessPackageAssignmentPolicy",
        policies,
    )
}

/// A collection (`[]`) or one of its items (`[id]`), from the items as JSON.
fn list_or_get(
    call: &Call,
    rest: &[&str],
    collection: &str,
    type_name: &str,
    mut items: impl Iterator<Item = Value>,
) -> Outcome {
    match rest {
        [] => call
            .paging(&format!(
                "identityGovernance/entitlementManagement/{collection}"
            ))
            .page(&call.query, items.collect())
            .map(Answer::Json),
        [id] => items
            .find(|v| v["id"] == *id)
            .map(Answer::Json)
            .ok_or_else(|| GraphError::not_found(type_name, id)),
        [.., last] => Err(unknown_segment(last)),
    }
}

fn policy_json(tenant: &Tenant, policy: &AssignmentPolicy, query: &Query) -> Value {
    let expands = Expand::list(query);
    let mut value = json!({
        "id": policy.id,
        "displayName": policy.display_name,
        "description": null,
        "allowedTargetScope": "allMemberUsers",
        "createdDateTime": "2026-01-05T09:00:00Z",
        "modifiedDateTime": "2026-01-05T09:00:00Z",
    });
    let mut names = Vec::new();
    if Expand::find(&expands, "accessPackage").is_some() {
        let name = tenant
            .access_packages
            .iter()
            .find(|p| p.id == policy.access_package_id)
            .map(|p| p.display_name.as_str());
        value["accessPackage"] = json!({ "id": policy.access_package_id, "displayName": name });
        names.push("accessPackage");
    }
    if let Some(expand) = Expand::find(&expands, "customExtensionStageSettings") {
        let with_extension =
            Expand::find(&Expand::list(&expand.options), "customExtension").is_some();
        value["customExtensionStageSettings"] = policy
            .custom_extension_stage_settings
            .iter()
            .map(|setting| {
                let mut value = json!({ "id": setting.id, "stage": setting.stage });
                if with_extension {
                    value["customExtension"] = tenant
                        .custom_workflow_extensions
                        .iter()
                        .find(|e| e.id == setting.custom_extension_id)
                        .map(extension_json)
                        .unwrap_or(Value::Null);
                }
                value
            })
            .collect();
        names.push("customExtensionStageSettings");
    }
    select_list(query.get("$select"), &names, value)
}

/// An access package custom workflow extension, as Graph shows it.
fn extension_json(e: &WorkflowExtension) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.accessPackageAssignmentRequestWorkflowExtension",
        "id": e.id,
        "displayName": e.display_name,
        "endpointConfiguration": match &e.logic_app {
            Some(app) => json!({
                "@odata.type": "#microsoft.graph.logicAppTriggerEndpointConfiguration",
                "subscriptionId": app.subscription_id,
                "resourceGroupName": app.resource_group_name,
                "logicAppWorkflowName": app.logic_app_workflow_name,
            }),
            None => json!({
                "@odata.type": "#microsoft.graph.logicAppTriggerEndpointConfiguration",
                "logicAppWorkflowName": "access-check",
            }),
        },
        "authenticationConfiguration": {
            "@odata.type": match e.authentication_type.as_str() {
                "" => "#microsoft.graph.azureAdPopTokenAuthentication",
                other => other,
            },
        },
        "callbackConfiguration": {
            "@odata.type": "#microsoft.graph.customExtensionCallbackConfiguration",
            "timeoutDuration": e.timeout_duration,
        },
    })
}

/// `catalogs`, `catalogs/{id}` and `catalogs/{id}/customWorkflowExtensions`.
fn catalogs(call: &Call, rest: &[&str]) -> Outcome {
    if call.method != Method::GET {
        return Err(method_not_allowed());
    }
    let tenant = call.emulator.read();
    match rest {
        [id, "customWorkflowExtensions"] => {
            if !tenant.catalogs.iter().any(|c| c.id == *id) {
                return Err(GraphError::not_found("accessPackageCatalog", id));
            }
            let extensions = tenant
                .custom_workflow_extensions
                .iter()
                .filter(|e| e.catalog_id == *id)
                .map(|e| select(&call.query, extension_json(e)))
                .collect();
            call.paging(
                "identityGovernance/entitlementManagement/catalogs/customWorkflowExtensions",
            )
            .page(&call.query, extensions)
            .map(Answer::Json)
        }
        _ => {
            let catalogs = tenant.catalogs.iter().map(|c| {
                let value = json!({
                    "id": c.id,
                    "displayName": c.display_name,
                    "catalogType": "userManaged",
                    "state": "published",
                    "isExternallyVisible": false,
                });
                select_list(call.query.get("$select"), &["id"], value)
            });
            list_or_get(call, rest, "catalogs", "accessPackageCatalog", catalogs)
        }
    }
}

/// `accessPackages` and `accessPackages/{id}`.
fn access_packages(call: &Call, rest: &[&str]) -> Outcome {
    if call.method != Method::GET {
        return Err(method_not_allowed());
    }
    let tenant = call.emulator.read();
    // Graph returns an entity's id whatever `$select` says.
    let packages = tenant.access_packages.iter().map(|p| {
        let value = json!({ "id": p.id, "displayName": p.display_name, "isHidden": false });
        select_list(call.query.get("$select"), &["id"], value)
    });
    list_or_get(call, rest, "accessPackages", "accessPackage", packages)
}
