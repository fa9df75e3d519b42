//! Lifecycle Workflows: workflows, tasks, runs, user and task processing results, custom
//! task extensions, and the task processing result `resume` action in all of its spellings
//! and under all of its navigation paths (`tasks/{t}`, `userProcessingResults/{u}`,
//! `runs/{run}/userProcessingResults/{u}`, `taskReports/{id}`).
use crate::clock;
use crate::error::GraphError;
use crate::model::*;
use crate::odata::{select, Filter};
use crate::route::{unknown_segment, Answer, Call, Outcome};
use serde_json::{json, Value};
use warp::http::Method;

const RESUME_ACTIONS: [&str; 3] = [
    "resume",
    "microsoft.graph.identityGovernance.resume",
    "identityGovernance.resume",
];

/// Which user processing results a task processing result path goes through.
enum Scope<'a> {
    /// `workflows/{w}/tasks/{t}/taskProcessingResults`
    Task(&'a str),
    /// `workflows/{w}/userProcessingResults/{u}/taskProcessingResults`
    User(&'a str),
    /// `workflows/{w}/runs/{run}/userProcessingResults/{u}/taskProcessingResults`
    RunUser(&'a str, &'a str),
    /// `workflows/{w}/taskReports/{id}/taskProcessingResults`: one task in one run.
    TaskReport(&'a str),
}

pub fn route(call: &Call, rest: &[&str]) -> Outcome {
    let get = call.method == Method::GET;
    let post = call.method == Method::POST;
    match rest {
        ["workflows"] if get => list_workflows(call),
        ["workflows", w] if get => {
            with_workflow(call, w, |wf| Ok(json_of(call, workflow_json(wf))))
        }
        ["workflows", w, "tasks"] if get => with_workflow(call, w, |wf| {
            let items = wf.tasks.iter().map(task_json).collect();
            page(
                call,
                &format!("identityGovernance/lifecycleWorkflows/workflows('{w}')/tasks"),
                items,
                &["id", "taskDefinitionId", "category"],
            )
        }),
        ["workflows", w, "tasks", t] if get => with_workflow(call, w, |wf| {
            let task = find_task(wf, t)?;
            Ok(json_of(call, task_json(task)))
        }),
        ["workflows", w, "runs"] if get => with_workflow(call, w, |wf| {
            let items = wf.runs.iter().map(|r| run_json(wf, r)).collect();
            page(
                call,
                &format!("identityGovernance/lifecycleWorkflows/workflows('{w}')/runs"),
                items,
                &["id", "processingStatus"],
            )
        }),
        ["workflows", w, "runs", run] if get => with_workflow(call, w, |wf| {
            let found = wf
                .runs
                .iter()
                .find(|r| r.id == *run)
                .ok_or_else(|| GraphError::not_found("run", run))?;
            Ok(json_of(call, run_json(wf, found)))
        }),
        ["workflows", w, "userProcessingResults"] if get => list_user_results(call, w, None),
        ["workflows", w, "runs", run, "userProcessingResults"] if get => {
            list_user_results(call, w, Some(run))
        }
        ["workflows", w, "userProcessingResults", u] if get => get_user_result(call, w, None, u),
        ["workflows", w, "runs", run, "userProcessingResults", u] if get => {
            get_user_result(call, w, Some(run), u)
        }
        ["workflows", w, "tasks", t, "taskProcessingResults", tail @ ..] => {
            task_results(call, w, Scope::Task(t), tail)
        }
        ["workflows", w, "userProcessingResults", u, "taskProcessingResults", tail @ ..] => {
            task_results(call, w, Scope::User(u), tail)
        }
        ["workflows", w, "runs", run, "userProcessingResults", u, "taskProcessingResults", tail @ ..] => {
            task_results(call, w, Scope::RunUser(run, u), tail)
        }
        ["workflows", w, "taskReports"] if get => with_workflow(call, w, |wf| {
            let items = task_reports(wf)
                .map(|(id, run, task)| task_report_json(wf, &id, run, task))
                .collect();
            page(
                call,
                &format!("identityGovernance/lifecycleWorkflows/workflows('{w}')/taskReports"),
                items,
                &["id", "processingStatus"],
            )
        }),
        ["workflows", w, "taskReports", id] if get => with_workflow(call, w, |wf| {
            let (id, run, task) = find_task_report(wf, id)?;
            Ok(json_of(call, task_report_json(wf, &id, run, task)))
        }),
        ["workflows", w, "taskReports", id, "taskProcessingResults", tail @ ..] => {
            task_results(call, w, Scope::TaskReport(id), tail)
        }
        ["customTaskExtensions"] if get => list_custom_task_extensions(call),
        ["customTaskExtensions", id] if get => get_custom_task_extension(call, id),
        ["customTaskExtensions", id] if call.method == Method::PATCH => {
            patch_custom_task_extension(call, id)
        }
        _ if !get && !post => Err(GraphError::new(
            405,
            "MethodNotAllowed",
            "The method is not allowed for this resource.",
        )),
        [.., last] => Err(unknown_segment(last)),
        [] => Err(unknown_segment("lifecycleWorkflows")),
    }
}

fn task_results(call: &Call, w: &str, scope: Scope, tail: &[&str]) -> Outcome {
    match (tail, call.method.as_str()) {
        ([], "GET") => list_task_results(call, w, &scope),
        ([r], "GET") => {
            let tenant = call.emulator.read();
            let (wf, upr, result) = locate(call, &tenant, w, &scope, r)?;
            Ok(json_of(call, task_result_json(wf, upr, result)))
        }
        ([r, action], "POST") if RESUME_ACTIONS.contains(action) => resume(call, w, &scope, r),
        ([.., last], _) => Err(unknown_segment(last)),
        ([], _) => Err(GraphError::new(
            405,
            "MethodNotAllowed",
            "The method is not allowed for this resource.",
        )),
    }
}

fn list_workflows(call: &Call) -> Outcome {
    let tenant = call.emulator.read();
    let items = tenant.workflows.iter().map(workflow_json).collect();
    page(
        call,
        "identityGovernance/lifecycleWorkflows/workflows",
        items,
        &["id", "category", "displayName"],
    )
}

fn list_user_results(call: &Call, w: &str, run: Option<&str>) -> Outcome {
    with_workflow(call, w, |wf| {
        if let Some(run) = run {
            wf.runs
                .iter()
                .find(|r| r.id == run)
                .ok_or_else(|| GraphError::not_found("run", run))?;
        }
        let items = wf
            .user_processing_results
            .iter()
            .filter(|u| run.is_none_or(|run| u.run_id == run))
            .map(|u| user_result_json(wf, u))
            .collect();
        page(
            call,
            &format!(
                "identityGovernance/lifecycleWorkflows/workflows('{w}')/userProcessingResults"
            ),
            items,
            &["id", "processingStatus"],
        )
    })
}

fn get_user_result(call: &Call, w: &str, run: Option<&str>, u: &str) -> Outcome {
    with_workflow(call, w, |wf| {
        let upr = wf
            .user_processing_results
            .iter()
            .find(|x| x.id == u && run.is_none_or(|run| x.run_id == run))
            .ok_or_else(|| GraphError::not_found("userProcessingResult", u))?;
        Ok(json_of(call, user_result_json(wf, upr)))
    })
}

fn list_task_results(call: &Call, w: &str, scope: &Scope) -> Outcome {
    let filter = Filter::parse(&call.query, &["processingStatus", "id"])?;
    let tenant = call.emulator.read();
    let wf = find_workflow(&tenant, w)?;
    let items: Vec<Value> = match scope {
        Scope::Task(t) => {
            find_task(wf, t)?;
            wf.user_processing_results
                .iter()
                .flat_map(|u| u.task_processing_results.iter().map(move |r| (u, r)))
                .filter(|(_, r)| r.task_id == *t)
                .map(|(u, r)| task_result_json(wf, u, r))
                .filter(|v| filter.matches(v))
                .map(|v| select(&call.query, v))
                .collect()
        }
        Scope::TaskReport(id) => {
            let (_, run, task) = find_task_report(wf, id)?;
            wf.user_processing_results
                .iter()
                .filter(|u| u.run_id == run.id)
                .flat_map(|u| u.task_processing_results.iter().map(move |r| (u, r)))
                .filter(|(_, r)| r.task_id == task.id)
                .map(|(u, r)| task_result_json(wf, u, r))
                .filter(|v| filter.matches(v))
                .map(|v| select(&call.query, v))
                .collect()
        }
        Scope::User(u) | Scope::RunUser(_, u) => {
            let run = match scope {
                Scope::RunUser(run, _) => Some(*run),
                _ => None,
            };
            let upr = wf
                .user_processing_results
                .iter()
                .find(|x| x.id == *u && run.is_none_or(|run| x.run_id == run))
                .ok_or_else(|| GraphError::not_found("userProcessingResult", u))?;
            upr.task_processing_results
                .iter()
                .map(|r| task_result_json(wf, upr, r))
                .filter(|v| filter.matches(v))
                .map(|v| select(&call.query, v))
                .collect()
        }
    };
    let context =
        format!("identityGovernance/lifecycleWorkflows/workflows('{w}')/taskProcessingResults");
    call.paging(&context)
        .page(&call.query, items)
        .map(Answer::Json)
}

/// Finds a task processing result and checks that the path leads to it.
fn locate<'t>(
    call: &Call,
    tenant: &'t Tenant,
    w: &str,
    scope: &Scope,
    r: &str,
) -> Result<
    (
        &'t Workflow,
        &'t UserProcessingResult,
        &'t TaskProcessingResult,
    ),
    GraphError,
> {
    let wf = find_workflow(tenant, w)?;
    let not_found = || GraphError::not_found("taskProcessingResult", r);
    let (wi, ui, ri) = call.emulator.place_of(r).ok_or_else(not_found)?;
    if tenant.workflows[wi].id != wf.id {
        return Err(not_found());
    }
    let upr = &wf.user_processing_results[ui];
    let result = &upr.task_processing_results[ri];
    let on_path = match scope {
        Scope::Task(t) => {
            find_task(wf, t)?;
            result.task_id == *t
        }
        Scope::User(u) => upr.id == *u,
        Scope::RunUser(run, u) => upr.id == *u && upr.run_id == *run,
        Scope::TaskReport(id) => {
            let (_, run, task) = find_task_report(wf, id)?;
            upr.run_id == run.id && result.task_id == task.id
        }
    };
    if on_path {
        Ok((wf, upr, result))
    } else {
        Err(not_found())
    }
}

fn resume(call: &Call, w: &str, scope: &Scope, r: &str) -> Outcome {
    let body = call.json_body()?;
    let status = body
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| GraphError::bad_request("The 'data' property is required."))?
        .get("operationStatus")
        .and_then(Value::as_str)
        .and_then(|s| {
            ["completed", "failed"]
                .into_iter()
                .find(|v| v.eq_ignore_ascii_case(s))
        })
        .ok_or_else(|| {
            GraphError::bad_request("'data.operationStatus' must be 'completed' or 'failed'.")
        })?;
    for field in ["source", "type"] {
        if body
            .get(field)
            .is_some_and(|v| !v.is_string() && !v.is_null())
        {
            return Err(GraphError::bad_request(format!(
                "'{field}' must be a string."
            )));
        }
    }
    let place = {
        let tenant = call.emulator.read();
        locate(call, &tenant, w, scope, r)?;
        call.emulator.place_of(r).expect("located above")
    };
    let (wi, ui, ri) = place;
    let mut tenant = call.emulator.write();
    let upr = &mut tenant.workflows[wi].user_processing_results[ui];
    let result = &mut upr.task_processing_results[ri];
    if result.processing_status != "inProgress" {
        let refusal = &call.emulator.settings.not_waiting;
        return Err(GraphError::new(
            refusal.status,
            &refusal.code,
            format!(
                "The task processing result '{r}' is not in progress; its status is '{}'.",
                result.processing_status
            ),
        ));
    }
    result.processing_status = status.to_string();
    result.completed_date_time = Some(clock::now_rfc3339());
    if status == "failed" {
        result.failure_reason = Some("The custom task extension reported a failure.".into());
    }
    result.resumes.push(Value::Object(body));
    if upr
        .task_processing_results
        .iter()
        .all(|t| t.processing_status != "inProgress")
    {
        upr.processing_status = "completed".into();
        upr.completed_date_time = Some(clock::now_rfc3339());
    }
    call.emulator.count_resume();
    Ok(Answer::NoContent)
}

/// The one `$expand` a custom task extension takes here: Graph's schema makes
/// `authorizedApps` a navigation property of the derived callback type, so it is returned
/// only when expanded through that type, and left out otherwise.
const EXPAND_AUTHORIZED_APPS: &str = "callbackConfiguration/microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration/authorizedApps";

fn get_custom_task_extension(call: &Call, id: &str) -> Outcome {
    let expanded = match call.query.get("$expand") {
        None => false,
        Some(EXPAND_AUTHORIZED_APPS) => true,
        Some(other) => {
            return Err(GraphError::bad_request(format!(
                "Parsing OData Select and Expand failed: Could not find a property named '{other}' on type 'microsoft.graph.identityGovernance.customTaskExtension'."
            )))
        }
    };
    let tenant = call.emulator.read();
    let ext = tenant
        .custom_task_extensions
        .iter()
        .find(|e| e.id == id)
        .ok_or_else(|| GraphError::not_found("customTaskExtension", id))?;
    let mut value = extension_json(ext, expanded);
    value["@odata.context"] = json!(format!(
        "{}/{}/$metadata#identityGovernance/lifecycleWorkflows/customTaskExtensions/$entity",
        call.emulator.base_url, call.version
    ));
    Ok(json_of(call, value))
}

/// The list takes `$select`, `$filter`, `$orderby` and `$search`, as Graph documents it, but
/// no `$expand`: `authorizedApps` comes only from a GET of each extension.
fn list_custom_task_extensions(call: &Call) -> Outcome {
    if call.query.get("$expand").is_some() {
        return Err(GraphError::bad_request(
            "The query specified in the URI is not valid. Expand is not supported on this collection.",
        ));
    }
    let items = call
        .emulator
        .read()
        .custom_task_extensions
        .iter()
        .map(|ext| extension_json(ext, false))
        .collect();
    page(
        call,
        "identityGovernance/lifecycleWorkflows/customTaskExtensions",
        items,
        &["id", "displayName"],
    )
}

fn extension_json(ext: &CustomTaskExtension, expanded: bool) -> Value {
    let fixed = LogicAppEndpoint {
        subscription_id: "c500b67c-e9b7-4ad2-a90d-77d41385ae55".into(),
        resource_group_name: "RG-LCW".into(),
        logic_app_workflow_name: "ManagerAccess".into(),
    };
    let endpoint = ext.logic_app.as_ref().unwrap_or(&fixed);
    let authentication = match ext.authentication_type.as_str() {
        "" => "#microsoft.graph.azureAdPopTokenAuthentication",
        other => other,
    };
    json!({
        "id": ext.id,
        "displayName": ext.display_name,
        "description": null,
        "createdDateTime": "2026-01-05T09:00:00Z",
        "lastModifiedDateTime": "2026-01-05T09:00:00Z",
        "endpointConfiguration": {
            "@odata.type": "#microsoft.graph.logicAppTriggerEndpointConfiguration",
            "subscriptionId": endpoint.subscription_id,
            "resourceGroupName": endpoint.resource_group_name,
            "logicAppWorkflowName": endpoint.logic_app_workflow_name,
            "url": "https://prod-00.westus.logic.azure.com:443/workflows/x/triggers/manual/paths/invoke"
        },
        "authenticationConfiguration": {
            "@odata.type": authentication
        },
        "clientConfiguration": {
            "@odata.type": "#microsoft.graph.customExtensionClientConfiguration",
            "maximumRetries": 1,
            "timeoutInMilliseconds": 1000
        },
        "callbackConfiguration": callback_configuration(ext, expanded),
    })
}

fn callback_configuration(ext: &CustomTaskExtension, expanded: bool) -> Value {
    let mut callback = json!({
        "@odata.type": CALLBACK_CONFIGURATION_TYPE,
        "timeoutDuration": ext.timeout_duration,
    });
    if expanded {
        callback["authorizedApps"] = ext
            .authorized_apps
            .iter()
            .map(|app| json!({"@odata.type": "#microsoft.graph.application", "appId": app}))
            .collect();
    }
    callback
}

const CALLBACK_CONFIGURATION_TYPE: &str =
    "#microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration";

/// PATCH a custom task extension: its display name, and its callback configuration, which
/// must name its derived type (the base type is abstract). Graph documents `authorizedApps`
/// as a collection of applications named by id or appId; each item may be an object with
/// `appId` or `id`, or the id itself. Given properties of the configuration replace the
/// stored ones; the others stay.
fn patch_custom_task_extension(call: &Call, id: &str) -> Outcome {
    let body = call.json_body()?;
    let mut tenant = call.emulator.write();
    let ext = tenant
        .custom_task_extensions
        .iter_mut()
        .find(|e| e.id == id)
        .ok_or_else(|| GraphError::not_found("customTaskExtension", id))?;
    let mut updated = ext.clone();
    if let Some(name) = body.get("displayName") {
        updated.display_name = name
            .as_str()
            .ok_or_else(|| GraphError::bad_request("'displayName' must be a string."))?
            .to_string();
    }
    if let Some(callback) = body.get("callbackConfiguration") {
        let callback = callback
            .as_object()
            .ok_or_else(|| GraphError::bad_request("'callbackConfiguration' must be an object."))?;
        let odata_type = callback.get("@odata.type").and_then(Value::as_str);
        if odata_type.map(|t| t.trim_start_matches('#'))
            != Some(CALLBACK_CONFIGURATION_TYPE.trim_start_matches('#'))
        {
            return Err(GraphError::bad_request(format!(
                "'callbackConfiguration.@odata.type' must be '{CALLBACK_CONFIGURATION_TYPE}': customExtensionCallbackConfiguration is abstract."
            )));
        }
        if let Some(timeout) = callback.get("timeoutDuration") {
            updated.timeout_duration = timeout
                .as_str()
                .filter(|t| t.starts_with("PT"))
                .ok_or_else(|| {
                    GraphError::bad_request(
                        "'timeoutDuration' must be an ISO 8601 duration from PT5M to PT3H.",
                    )
                })?
                .to_string();
        }
        if let Some(apps) = callback.get("authorizedApps") {
            let apps = apps.as_array().ok_or_else(|| {
                GraphError::bad_request("'authorizedApps' must be a collection of applications.")
            })?;
            updated.authorized_apps = apps
                .iter()
                .map(|app| {
                    app.as_str()
                        .or_else(|| app.get("appId").and_then(Value::as_str))
                        .or_else(|| app.get("id").and_then(Value::as_str))
                        .map(str::to_string)
                        .ok_or_else(|| {
                            GraphError::bad_request(
                                "Each of 'authorizedApps' must name an application by appId or id.",
                            )
                        })
                })
                .collect::<Result<_, _>>()?;
        }
    }
    *ext = updated;
    Ok(Answer::NoContent)
}

fn with_workflow(call: &Call, w: &str, f: impl FnOnce(&Workflow) -> Outcome) -> Outcome {
    let tenant = call.emulator.read();
    f(find_workflow(&tenant, w)?)
}

fn find_workflow<'t>(tenant: &'t Tenant, w: &str) -> Result<&'t Workflow, GraphError> {
    tenant
        .workflows
        .iter()
        .find(|wf| wf.id == w)
        .ok_or_else(|| GraphError::not_found("workflow", w))
}

fn find_task<'w>(wf: &'w Workflow, t: &str) -> Result<&'w Task, GraphError> {
    wf.tasks
        .iter()
        .find(|x| x.id == t)
        .ok_or_else(|| GraphError::not_found("task", t))
}

/// A task report is one task in one run; its id is derived from both, so it is stable.
fn task_reports(wf: &Workflow) -> impl Iterator<Item = (String, &Run, &Task)> {
    wf.runs.iter().flat_map(move |run| {
        wf.tasks.iter().map(move |task| {
            let name = format!("{}/{}", run.id, task.id);
            (
                uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string(),
                run,
                task,
            )
        })
    })
}

fn find_task_report<'w>(
    wf: &'w Workflow,
    id: &str,
) -> Result<(String, &'w Run, &'w Task), GraphError> {
    task_reports(wf)
        .find(|(report, _, _)| report == id)
        .ok_or_else(|| GraphError::not_found("taskReport", id))
}

fn task_report_json(wf: &Workflow, id: &str, run: &Run, task: &Task) -> Value {
    let results: Vec<&TaskProcessingResult> = wf
        .user_processing_results
        .iter()
        .filter(|u| u.run_id == run.id)
        .flat_map(|u| &u.task_processing_results)
        .filter(|r| r.task_id == task.id)
        .collect();
    let count = |status: &str| {
        results
            .iter()
            .filter(|r| r.processing_status == status)
            .count()
    };
    let waiting = count("inProgress") + count("queued");
    json!({
        "id": id,
        "runId": run.id,
        "processingStatus": if waiting > 0 { "inProgress" } else { "completed" },
        "startedDateTime": run.started_date_time,
        "completedDateTime": null,
        "lastUpdatedDateTime": run.started_date_time,
        "totalUsersCount": results.len(),
        "successfulUsersCount": count("completed"),
        "failedUsersCount": count("failed"),
        "unprocessedUsersCount": waiting,
        "task": task_json(task),
    })
}

fn page(call: &Call, context: &str, items: Vec<Value>, filterable: &[&str]) -> Outcome {
    let filter = Filter::parse(&call.query, filterable)?;
    let items = items
        .into_iter()
        .filter(|v| filter.matches(v))
        .map(|v| select(&call.query, v))
        .collect();
    call.paging(context)
        .page(&call.query, items)
        .map(Answer::Json)
}

fn json_of(call: &Call, value: Value) -> Answer {
    Answer::Json(select(&call.query, value))
}

pub fn workflow_json(wf: &Workflow) -> Value {
    json!({
        "category": wf.category,
        "description": wf.description,
        "displayName": wf.display_name,
        "lastModifiedDateTime": "2026-01-05T09:00:00Z",
        "createdDateTime": "2026-01-05T09:00:00Z",
        "deletedDateTime": null,
        "id": wf.id,
        "isEnabled": true,
        "isSchedulingEnabled": true,
        "nextScheduleRunDateTime": null,
        "version": wf.version,
        "executionConditions": {
            "@odata.type": "#microsoft.graph.identityGovernance.triggerAndScopeBasedConditions"
        }
    })
}

pub fn task_json(task: &Task) -> Value {
    json!({
        "category": task.category,
        "continueOnError": task.continue_on_error,
        "description": task.description,
        "displayName": task.display_name,
        "executionSequence": task.execution_sequence,
        "id": task.id,
        "isEnabled": task.is_enabled,
        "taskDefinitionId": task.task_definition_id,
        "arguments": task.arguments,
    })
}

fn run_json(wf: &Workflow, run: &Run) -> Value {
    let users = wf
        .user_processing_results
        .iter()
        .filter(|u| u.run_id == run.id)
        .count();
    json!({
        "id": run.id,
        "completedDateTime": run.completed_date_time,
        "failedTasksCount": 0,
        "failedUsersCount": 0,
        "lastUpdatedDateTime": run.started_date_time,
        "processingStatus": run.processing_status,
        "scheduledDateTime": run.started_date_time,
        "startedDateTime": run.started_date_time,
        "successfulUsersCount": 0,
        "totalTasksCount": users * wf.tasks.len(),
        "totalUnprocessedTasksCount": 0,
        "totalUsersCount": users,
        "workflowExecutionType": "scheduled",
    })
}

fn user_result_json(wf: &Workflow, upr: &UserProcessingResult) -> Value {
    let count = |status: &str| {
        upr.task_processing_results
            .iter()
            .filter(|r| r.processing_status == status)
            .count()
    };
    json!({
        "id": upr.id,
        "completedDateTime": upr.completed_date_time,
        "failedTasksCount": count("failed"),
        "processingStatus": upr.processing_status,
        "scheduledDateTime": upr.started_date_time,
        "startedDateTime": upr.started_date_time,
        "totalTasksCount": upr.task_processing_results.len(),
        "totalUnprocessedTasksCount": count("inProgress") + count("queued"),
        "workflowExecutionType": "scheduled",
        "workflowVersion": wf.version,
        "subject": { "id": upr.subject_id },
    })
}

pub fn task_result_json(
    wf: &Workflow,
    upr: &UserProcessingResult,
    result: &TaskProcessingResult,
) -> Value {
    let task = wf.tasks.iter().find(|t| t.id == result.task_id);
    json!({
        "completedDateTime": result.completed_date_time,
        "createdDateTime": result.created_date_time,
        "id": result.id,
        "processingStatus": result.processing_status,
        "startedDateTime": result.started_date_time,
        "failureReason": result.failure_reason,
        "subject": { "id": upr.subject_id },
        "task": task.map(task_json),
    })
}
