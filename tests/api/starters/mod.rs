//! The callout starters (infra/starters/*.json) with Microsoft's callout payloads: each
//! definition runs in a test-only evaluator ([`wdl`]), and the command it would send to a
//! queue is delivered to the handler through the host protocol, which resumes the emulator.
//!
//! An evaluator rather than a structural check: the commands are built by expressions
//! (`if(equals(actions('Your_steps')…))`, interpolated MessageIds), and only evaluating them
//! on real payloads shows that the right id lands in the right field.
mod wdl;

use crate::helpers::*;
use serde_json::{json, Value};
use wdl::{Request, Run};

// A national cloud's names: the definitions take both from the template, which derives them
// from the namespace (infra/modules/servicebus.bicep), and write neither.
const QUEUE_URL: &str = "https://sb-test.servicebus.usgovcloudapi.net/resume-task/messages";
const AUDIENCE: &str = "https://servicebus.usgovcloudapi.net";

/// The definition parameters the template sets.
fn parameters() -> Value {
    json!({"resumeQueueUrl": QUEUE_URL, "serviceBusAudience": AUDIENCE})
}

fn definition(file: &str) -> Value {
    let path = format!("{}/infra/starters/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn lifecycle_workflows() -> Value {
    definition("lifecycle-workflows.json")
}

fn entitlement_management() -> Value {
    definition("entitlement-management.json")
}

fn pop() -> Value {
    json!({"Authorization": "PoP eyJ0eXAiOiJwb3AifQ.e30.sig", "Content-Type": "application/json"})
}

/// Runs a starter as Entra calls it: a PoP token, the callout as the body.
fn call(definition: &Value, callout: &Value, steps: &str) -> Run {
    let request = Request {
        headers: pop(),
        body: callout.clone(),
    };
    wdl::run(definition, &parameters(), &request, steps)
}

/// The Lifecycle Workflows callout, in the shape Microsoft's custom task extension
/// documentation shows, for one waiting result.
fn task_callout(ids: &(String, String, String)) -> Value {
    let (workflow, task, result) = ids;
    json!({
        "source": "sc://contoso.onmicrosoft.com/lifecycleWorkflows",
        "type": "lifecycleEvent",
        "data": {
            "@odata.type": "microsoft.graph.identityGovernance.customTaskExtensionCalloutData",
            "callbackUriPath": format!("/identityGovernance/lifecycleWorkflows/workflows/{workflow}/tasks/{task}/taskProcessingResults/{result}/resume"),
            "subject": {
                "id": "8cdf25a8-c9d2-423e-a03d-3f39f03c3e97",
                "displayName": "Ada Lovelace",
                "email": "ada@contoso.com",
                "userPrincipalName": "ada@contoso.com",
                "manager": null
            },
            "task": {"id": task, "displayName": "Run a custom task extension"},
            "taskProcessingResult": {"id": result, "createdDateTime": "2026-11-25T08:00:00Z"},
            "workflow": {"id": workflow, "displayName": "Leaver: offboarding", "workflowVersion": 1}
        }
    })
}

/// The Entitlement Management callout (PascalCase, no `data` wrapper), as Microsoft's
/// documentation shows it, for one waiting callout at `stage`.
fn request_callout(request: &str, instance: &str, stage: &str) -> Value {
    json!({
        "id": "e2f7b7e4-7d3a-4f1b-a1b5-0a6c3c9c7c11",
        "source": "sc://contoso.onmicrosoft.com/entitlementManagement",
        "type": format!("microsoft.graph.accessPackageCustomExtensionStage.{stage}"),
        "AccessPackageAssignmentRequestId": request,
        "CallbackUriPath": format!("/identityGovernance/entitlementManagement/accessPackageAssignmentRequests/{request}/resume"),
        "CustomExtensionStageInstanceId": instance,
        "Stage": stage,
        "RequestType": "UserAdd",
        "State": "Submitted",
        "Status": "Accepted",
        "AccessPackage": {"Id": "ap-1", "DisplayName": "Sales tools"},
        "AccessPackageCatalog": {"Id": "cat-1", "DisplayName": "General"},
        "Assignment": {"Id": "asg-1", "State": "Delivering", "Target": {"ObjectId": "8cdf25a8-c9d2-423e-a03d-3f39f03c3e97"}},
        "Requestor": {"ObjectId": "8cdf25a8-c9d2-423e-a03d-3f39f03c3e97"}
    })
}

/// The MessageId a send sets through `BrokerProperties`.
fn message_id(sent: &wdl::Sent) -> String {
    let properties: Value =
        serde_json::from_str(sent.headers["BrokerProperties"].as_str().unwrap()).unwrap();
    properties["MessageId"].as_str().unwrap().to_string()
}

fn the_one_send(run: &Run) -> &wdl::Sent {
    assert!(run.fired && !run.failed, "{run:?}");
    assert_eq!(run.answered, Some(202), "Entra is answered at once");
    assert_eq!(run.sent.len(), 1, "{run:?}");
    let sent = &run.sent[0];
    assert_eq!(sent.uri, QUEUE_URL);
    assert_eq!(
        sent.authentication,
        json!({"type": "ManagedServiceIdentity", "audience": AUDIENCE})
    );
    assert_eq!(sent.headers["Content-Type"], "application/json");
    sent
}

#[test]
fn each_starter_runs_only_for_a_proof_of_possession_token() {
    for definition in [lifecycle_workflows(), entitlement_management()] {
        for (headers, fires) in [
            (pop(), true),
            (
                json!({"Authorization": "Bearer eyJ0eXAiOiJKV1QifQ.e30.sig"}),
                false,
            ),
            (json!({"Authorization": "pop-ish"}), false),
            (json!({}), false),
        ] {
            let request = Request {
                headers: headers.clone(),
                body: json!({}),
            };
            let run = wdl::run(&definition, &parameters(), &request, "Succeeded");
            assert_eq!(run.fired, fires, "{headers}");
            if !fires {
                assert!(run.sent.is_empty() && run.answered.is_none());
            }
        }
        // Without this option, Logic Apps strips the Authorization header from the trigger's
        // outputs and the condition could never hold.
        assert_eq!(
            definition["triggers"]["manual"]["operationOptions"],
            "IncludeAuthorizationHeadersInOutputs"
        );
    }
}

#[tokio::test]
async fn the_lifecycle_workflows_starter_completes_or_fails_the_task_its_callout_names() {
    let app = spawn_app().await;
    let mut resumed = Vec::new();
    for (steps, status) in [("Succeeded", "completed"), ("Failed", "failed")] {
        let ids = app.waiting_task(0);
        let run = call(&lifecycle_workflows(), &task_callout(&ids), steps);
        let sent = the_one_send(&run);
        assert_eq!(
            message_id(sent),
            ids.2,
            "duplicate detection keys on the result"
        );
        assert_eq!(sent.body["operationStatus"], status);

        let (code, answer) = app
            .queue("ResumeTaskQueue", &sent.body, &message_id(sent), 1)
            .await;
        assert_eq!(code, 200, "{answer}");
        assert_eq!(answer["ReturnValue"]["outcome"], "resumed", "{answer}");
        // Entra's retry, had duplicate detection not dropped it, is recognised.
        let (_, again) = app
            .queue("ResumeTaskQueue", &sent.body, &message_id(sent), 1)
            .await;
        assert_eq!(again["ReturnValue"]["outcome"], "alreadyResumed");
        resumed.push((ids, status));
    }
    for (ids, status) in resumed {
        assert!(
            app.graph.task_results_with_status(status).contains(&ids),
            "{} is {status}",
            ids.2
        );
    }
    assert_eq!(app.graph.stats().resumes_applied, 2);
}

/// Four waiting requests, one at each stage that can wait.
fn one_request_per_stage(tenant: &mut graph_emulator::Tenant) {
    let stages = [
        "assignmentRequestCreated",
        "assignmentRequestApproved",
        "assignmentRequestGranted",
        "assignmentRequestRemoved",
    ];
    let waiting = tenant
        .assignment_requests
        .iter_mut()
        .filter(|r| r.status == "WaitingForCallback");
    for (request, stage) in waiting.zip(stages) {
        request.custom_extension_callout_instances[0].stage = stage.into();
    }
}

async fn app_with_one_request_per_stage() -> TestApp {
    spawn_app_with(
        Options::default()
            .tenant("workflows=1,tasks=2,customTasks=1,users=2,inProgress=1,requests=8")
            .edit(one_request_per_stage),
    )
    .await
}

#[tokio::test]
async fn the_entitlement_management_starter_resumes_at_every_stage_and_denies_only_where_it_may() {
    let app = app_with_one_request_per_stage().await;
    let em = entitlement_management();
    for n in 0..4 {
        let (request, instance, stage) = app.waiting_request(0);
        let run = call(
            &em,
            &request_callout(&request, &instance, &stage),
            "Succeeded",
        );
        let sent = the_one_send(&run);
        assert_eq!(
            message_id(sent),
            instance,
            "duplicate detection keys on the callout"
        );
        assert!(
            sent.body["state"].is_null(),
            "steps succeeded: the request continues"
        );
        let (code, answer) = app
            .queue("ResumeAccessRequestQueue", &sent.body, &message_id(sent), 1)
            .await;
        assert_eq!(code, 200, "{answer}");
        assert_eq!(
            answer["ReturnValue"]["outcome"], "resumed",
            "{stage}: {answer}"
        );
        assert_eq!(app.graph.stats().resumes_applied, n + 1);
    }
    let tenant = app.graph.tenant();
    assert!(tenant
        .assignment_requests
        .iter()
        .all(|r| r.status != "WaitingForCallback" && r.status != "Denied"));
}

#[tokio::test]
async fn when_the_steps_fail_the_em_starter_denies_at_creation_and_sends_nothing_later() {
    let app = app_with_one_request_per_stage().await;
    let em = entitlement_management();
    let waiting: Vec<_> = (0..4).map(|n| app.waiting_request(n)).collect();
    for (request, instance, stage) in &waiting {
        let run = call(&em, &request_callout(request, instance, stage), "Failed");
        if stage == "assignmentRequestCreated" {
            let sent = the_one_send(&run);
            assert_eq!(sent.body["state"], "denied");
            let (_, answer) = app
                .queue("ResumeAccessRequestQueue", &sent.body, &message_id(sent), 1)
                .await;
            assert_eq!(answer["ReturnValue"]["outcome"], "resumed", "{answer}");
        } else {
            assert_eq!(run.answered, Some(202));
            assert!(run.sent.is_empty(), "{stage}: no approval after a failure");
            assert!(run.failed, "{stage}: the run says it failed");
        }
    }
    let tenant = app.graph.tenant();
    let denied: Vec<_> = tenant
        .assignment_requests
        .iter()
        .filter(|r| r.status == "Denied")
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(denied, [waiting[0].0.clone()]);
    assert_eq!(
        app.graph.waiting_callouts().len(),
        3,
        "the others time out in Entra"
    );
}

#[test]
fn the_connection_test_is_answered_and_nothing_is_sent() {
    let callout = json!({
        "Stage": "CustomExtensionConnectionTest",
        "CustomExtensionStageInstanceId": "00000000-0000-0000-0000-000000000000",
        "Type": "microsoft.graph.accessPackageCustomExtensionConnectionTest"
    });
    for steps in ["Succeeded", "Failed"] {
        let run = call(&entitlement_management(), &callout, steps);
        assert!(run.fired && !run.failed);
        assert_eq!(run.answered, Some(202));
        assert!(run.sent.is_empty(), "{run:?}");
    }
}
