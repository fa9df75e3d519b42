//! ResumeAccessRequest and ResumeAccessRequestQueue: the README's *Commands* and *Outcomes*.
use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn a_waiting_request_is_resumed_with_graphs_callback_shape() {
    let app = spawn_app().await;
    let ids = app.waiting_request(0);
    let mut command = resume_access_command(&ids);
    command["stage"] = json!(ids.2.to_uppercase());
    command["customExtensionStageInstanceDetail"] = json!("verified by HR");
    let (status, body) = app.http("ResumeAccessRequest", &command.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "resumed");
    let request = app.graph.assignment_request(&ids.0).unwrap();
    assert_eq!(
        request.custom_extension_callout_instances[0].status,
        "callbackReceived"
    );
    assert_eq!(
        request.resumes[0],
        json!({"source": "resume-handler", "type": format!("microsoft.graph.accessPackageCustomExtensionStage.{}", ids.2),
            "data": {"@odata.type": "microsoft.graph.accessPackageAssignmentRequestCallbackData", "stage": ids.2,
                "customExtensionStageInstanceId": ids.1, "customExtensionStageInstanceDetail": "verified by HR"}})
    );
}

#[tokio::test]
async fn a_forwarded_em_callout_with_a_decision_is_resumed_through_its_pascal_case_ids() {
    let app = spawn_app().await;
    let (request, instance, stage) = app.waiting_request(0);
    let forwarded = json!({
        "AccessPackageAssignmentRequestId": request, "CustomExtensionStageInstanceId": instance, "Stage": stage,
        "CallbackUriPath": format!("/identityGovernance/entitlementManagement/accessPackageAssignmentRequests/{request}/resume"),
        "State": "Submitted", "Status": "Accepted", "RequestType": "UserAdd", "AccessPackage": {"Id": "x"},
        "state": "denied", "customExtensionStageInstanceDetail": "SoD conflict"
    });
    let (status, body) = app
        .queue("ResumeAccessRequestQueue", &forwarded, "em-1", 1)
        .await;
    assert_eq!(status, 200, "{body}");
    let after = app.graph.assignment_request(&request).unwrap();
    assert_eq!(after.state, "denied");
    let last = app.last_graph_post();
    assert!(
        last.ends_with(&format!(
            "/entitlementManagement/assignmentRequests/{request}/resume"
        )),
        "{}",
        last
    );
}

#[tokio::test]
async fn entras_connection_test_is_acknowledged_without_a_graph_call() {
    let app = spawn_app().await;
    let (status, body) = app
        .http(
            "ResumeAccessRequest",
            &json!({"Stage": "CustomExtensionConnectionTest"}).to_string(),
        )
        .await;
    assert_eq!((status, body), (200, json!({"outcome": "connectionTest"})));
    let (status, answer) = app
        .queue(
            "ResumeAccessRequestQueue",
            &json!({"stage": "customExtensionConnectionTest"}),
            "t-1",
            1,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["ReturnValue"]["outcome"], "connectionTest");
    assert_eq!(app.graph_requests(), 0);
}

#[tokio::test]
async fn a_duplicate_callback_completes_as_already_resumed() {
    let app = spawn_app().await;
    let command = resume_access_command(&app.waiting_request(0));
    assert_eq!(
        app.queue("ResumeAccessRequestQueue", &command, "em-dup", 1)
            .await
            .1["ReturnValue"]["outcome"],
        "resumed"
    );
    let (status, answer) = app
        .queue("ResumeAccessRequestQueue", &command, "em-dup", 2)
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["ReturnValue"]["outcome"], "alreadyResumed");
}

#[tokio::test]
async fn a_decision_that_contradicts_the_one_applied_is_a_conflict_naming_the_requests_state() {
    // Continue, then deny the same callout: access is on its way, so the deny is not done.
    let app = spawn_app().await;
    let ids = app.waiting_request(0);
    let go_on = resume_access_command(&ids);
    let mut deny = go_on.clone();
    deny["state"] = json!("denied");
    let (_, body) = app.http("ResumeAccessRequest", &go_on.to_string()).await;
    assert_eq!(body["outcome"], "resumed");
    let (status, body) = app.http("ResumeAccessRequest", &deny.to_string()).await;
    let state = app.graph.assignment_request(&ids.0).unwrap().state;
    assert_ne!(state, "denied");
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["currentStatus"], state.as_str(), "{body}");

    // Deny twice: a duplicate. Then continue: a conflict, the request is denied.
    let app = spawn_app().await;
    let (_, body) = app.http("ResumeAccessRequest", &deny.to_string()).await;
    assert_eq!(body["outcome"], "resumed", "{body}");
    let (status, body) = app
        .queue("ResumeAccessRequestQueue", &deny, "em-deny", 2)
        .await;
    assert_eq!(
        (status, body["ReturnValue"]["outcome"].as_str()),
        (200, Some("alreadyResumed"))
    );
    let (status, body) = app.http("ResumeAccessRequest", &go_on.to_string()).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["currentStatus"], "denied");
}

#[tokio::test]
async fn a_request_that_is_no_longer_waiting_is_a_conflict() {
    let app = spawn_app().await;
    let tenant = app.graph.tenant();
    let done = tenant
        .assignment_requests
        .iter()
        .find(|r| r.status == "Delivered")
        .unwrap();
    let command = json!({"assignmentRequestId": done.id, "customExtensionStageInstanceId": done.custom_extension_callout_instances[0].id,
        "stage": "assignmentRequestCreated"});
    // The delivered request's callout did receive a callback: that is what the read shows.
    let (status, body) = app.http("ResumeAccessRequest", &command.to_string()).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("alreadyResumed")),
        "{body}"
    );
    let command = json!({"assignmentRequestId": done.id, "customExtensionStageInstanceId": "unknown-instance", "stage": "assignmentRequestCreated"});
    let (status, body) = app.http("ResumeAccessRequest", &command.to_string()).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["currentStatus"], "Delivered");
}

#[tokio::test]
async fn each_invalid_field_is_named_without_a_graph_call() {
    let app = spawn_app().await;
    let ids = app.waiting_request(0);
    let cases = [
        (
            json!({"customExtensionStageInstanceId": ids.1, "stage": ids.2}),
            "assignmentRequestId",
        ),
        (
            json!({"assignmentRequestId": "a/../b", "customExtensionStageInstanceId": ids.1, "stage": ids.2}),
            "assignmentRequestId",
        ),
        (
            json!({"assignmentRequestId": ids.0, "customExtensionStageInstanceId": ids.1, "stage": "assignmentRequestExpired"}),
            "stage",
        ),
        (
            json!({"assignmentRequestId": ids.0, "stage": ids.2}),
            "customExtensionStageInstanceId",
        ),
        (
            json!({"assignmentRequestId": ids.0, "customExtensionStageInstanceId": ids.1, "stage": ids.2,
            "customExtensionStageInstanceDetail": "x".repeat(1001)}),
            "customExtensionStageInstanceDetail",
        ),
        (
            json!({"assignmentRequestId": ids.0, "customExtensionStageInstanceId": ids.1, "stage": ids.2,
            "callbackUriPath": "/identityGovernance/entitlementManagement/assignmentRequests/other/resume"}),
            "callbackUriPath",
        ),
        (
            json!({"AccessPackageAssignmentRequestId": ids.0, "CustomExtensionStageInstanceId": "bad id", "Stage": ids.2}),
            "customExtensionStageInstanceId",
        ),
    ];
    for (command, target) in cases {
        let (status, body) = app.http("ResumeAccessRequest", &command.to_string()).await;
        assert_eq!(status, 400, "{command}");
        assert_eq!(body["error"]["target"], target, "{command}: {body}");
    }
    assert_eq!(app.graph_requests(), 0);
}

#[tokio::test]
async fn a_deny_graph_refuses_at_this_stage_is_reported_as_a_graph_error() {
    let mut options = Options::default();
    options.settings.deny_stages = vec![];
    let app = spawn_app_with(options).await;
    let ids = app.waiting_request(0);
    let mut command = resume_access_command(&ids);
    command["state"] = json!("denied");
    let (status, body) = app.http("ResumeAccessRequest", &command.to_string()).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["graphCode"], "BadRequest");
    assert_eq!(
        app.graph.assignment_request(&ids.0).unwrap().status,
        "WaitingForCallback"
    );
}
