//! ResumeTask and ResumeTaskQueue: the README's *Commands*, *Validation* and *Outcomes*.
use crate::helpers::*;
use serde_json::json;

const LCW: &str = "/identityGovernance/lifecycleWorkflows/workflows";

#[tokio::test]
async fn a_waiting_task_is_resumed_with_graphs_body() {
    let app = spawn_app().await;
    let ids = app.waiting_task(0);
    let (status, body) = app.resume_task(&ids, "Completed").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "resumed");
    assert!(body["graphRequestId"].is_string());
    let result = app.graph.task_processing_result(&ids.2).unwrap();
    assert_eq!(result.processing_status, "completed");
    assert_eq!(
        result.resumes,
        [
            json!({"source": "resume-handler", "type": "lifecycleEvent", "data": {"operationStatus": "completed"}})
        ]
    );
}

#[tokio::test]
async fn source_and_type_can_be_given_and_resume_source_is_the_default() {
    let app = spawn_app_with(Options::default().env("RESUME_SOURCE", "Contoso.HR")).await;
    let ids = app.waiting_task(0);
    app.resume_task(&ids, "failed").await;
    assert_eq!(
        app.graph.task_processing_result(&ids.2).unwrap().resumes[0]["source"],
        "Contoso.HR"
    );
    let ids = app.waiting_task(0);
    let mut command = resume_task_command(&ids, "completed");
    command["source"] = json!("Ticketing");
    command["type"] = json!("custom");
    app.http("ResumeTask", &command.to_string()).await;
    let sent = &app.graph.task_processing_result(&ids.2).unwrap().resumes[0];
    assert_eq!(
        (sent["source"].as_str(), sent["type"].as_str()),
        (Some("Ticketing"), Some("custom"))
    );
}

#[tokio::test]
async fn a_callback_uri_path_in_each_spelling_resumes_the_documented_action() {
    let app = spawn_app().await;
    for action in [
        "resume",
        "microsoft.graph.identityGovernance.resume",
        "identityGovernance.resume",
    ] {
        let (w, t, r) = app.waiting_task(0);
        let command = json!({"callbackUriPath": format!("{LCW}/{w}/tasks/{t}/taskProcessingResults/{r}/{action}"),
            "data": {"operationStatus": "completed"}});
        let (status, body) = app.http("ResumeTask", &command.to_string()).await;
        assert_eq!(status, 200, "{action}: {body}");
        let last = app.last_graph_post();
        assert!(
            last.ends_with(&format!("/taskProcessingResults/{r}/resume")),
            "{}",
            last
        );
    }
}

#[tokio::test]
async fn a_duplicate_queue_delivery_completes_as_already_resumed() {
    let app = spawn_app().await;
    let ids = app.waiting_task(0);
    let command = resume_task_command(&ids, "completed");
    let (status, first) = app.queue("ResumeTaskQueue", &command, "dup-1", 1).await;
    assert_eq!(
        (status, first["ReturnValue"]["outcome"].as_str()),
        (200, Some("resumed"))
    );
    let (status, second) = app.queue("ResumeTaskQueue", &command, "dup-1", 2).await;
    assert_eq!(status, 200, "a duplicate is not an error: {second}");
    assert_eq!(second["ReturnValue"]["outcome"], "alreadyResumed");
    assert!(second["ReturnValue"]["graphRequestId"].is_string());
    assert_eq!(app.graph.stats().resumes_applied, 1, "applied once");
}

#[tokio::test]
async fn a_task_that_finished_otherwise_is_a_conflict_with_its_status() {
    let app = spawn_app().await;
    let ids = app.waiting_task(0);
    app.resume_task(&ids, "failed").await;
    let (status, body) = app.resume_task(&ids, "completed").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(body["error"]["currentStatus"], "failed");
    assert!(body["error"]["graphRequestId"].is_string());
    let (status, answer) = app
        .queue(
            "ResumeTaskQueue",
            &resume_task_command(&ids, "completed"),
            "c-1",
            1,
        )
        .await;
    assert_eq!(status, 500);
    assert_eq!(answer["error"]["code"], "conflict");
}

#[tokio::test]
async fn an_unknown_result_is_not_found_with_graphs_code_and_request_id() {
    let app = spawn_app().await;
    let (w, t, _) = app.waiting_task(0);
    let command = resume_task_command(&(w, t, "no-such-result".into()), "completed");
    let (status, body) = app.http("ResumeTask", &command.to_string()).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "ResourceNotFound");
    assert!(body["error"]["graphRequestId"].is_string());
    let (status, _) = app.queue("ResumeTaskQueue", &command, "nf-1", 1).await;
    assert_eq!(status, 500);
}

#[tokio::test]
async fn a_workflow_outside_the_allow_list_is_refused_without_a_graph_call() {
    let app = spawn_app_with(
        Options::default().env("ALLOWED_WORKFLOW_IDS", "some-other-workflow, another"),
    )
    .await;
    let ids = app.waiting_task(0);
    let (status, body) = app.resume_task(&ids, "completed").await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "workflowNotAllowed");
    assert_eq!(body["error"]["target"], "workflowId");
    assert_eq!(app.graph_requests(), 0);
}

#[tokio::test]
async fn a_workflow_id_in_the_allow_list_matches_in_any_case() {
    const SPEC: &str = "workflows=2,tasks=2,customTasks=1,users=3,inProgress=1,seed=2";
    let tenant = graph_emulator::generate(&SPEC.parse().unwrap());
    let upper: Vec<String> = tenant
        .workflows
        .iter()
        .map(|w| w.id.to_uppercase())
        .collect();
    let app = spawn_app_with(
        Options::default()
            .tenant(SPEC)
            .env("ALLOWED_WORKFLOW_IDS", &upper.join(",")),
    )
    .await;
    let ids = app.waiting_task(0);
    let (status, body) = app.resume_task(&ids, "completed").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "resumed");
}

#[tokio::test]
async fn path_injection_attempts_are_refused_naming_the_field_without_a_graph_call() {
    let app = spawn_app().await;
    let (w, t, r) = app.waiting_task(0);
    let cases = [
        (
            json!({"workflowId": "../../users", "taskId": t, "taskProcessingResultId": r, "operationStatus": "completed"}),
            "workflowId",
        ),
        (
            json!({"workflowId": w, "taskId": "a/b", "taskProcessingResultId": r, "operationStatus": "completed"}),
            "taskId",
        ),
        (
            json!({"workflowId": w, "taskId": t, "taskProcessingResultId": "x?$filter=1", "operationStatus": "completed"}),
            "taskProcessingResultId",
        ),
        (
            json!({"workflowId": w, "taskId": t, "taskProcessingResultId": "%2e%2e", "operationStatus": "completed"}),
            "taskProcessingResultId",
        ),
        (
            json!({"workflowId": w, "taskId": t, "taskProcessingResultId": "..", "operationStatus": "completed"}),
            "taskProcessingResultId",
        ),
        (
            json!({"workflowId": w, "taskId": t, "taskProcessingResultId": "r#x", "operationStatus": "completed"}),
            "taskProcessingResultId",
        ),
        (
            json!({"callbackUriPath": format!("{LCW}/{w}/tasks/{t}/taskProcessingResults/{r}/../../resume"), "operationStatus": "completed"}),
            "callbackUriPath",
        ),
        (
            json!({"callbackUriPath": format!("https://evil.example{LCW}/{w}/tasks/{t}/taskProcessingResults/{r}/resume"), "operationStatus": "completed"}),
            "callbackUriPath",
        ),
        (
            json!({"callbackUriPath": format!("{LCW}/{w}/userProcessingResults/u/taskProcessingResults/{r}/resume"), "operationStatus": "completed"}),
            "callbackUriPath",
        ),
        (
            json!({"workflowId": w, "taskId": t, "taskProcessingResultId": r, "operationStatus": "done"}),
            "operationStatus",
        ),
        (
            json!({"workflowId": w, "taskId": t, "taskProcessingResultId": r, "operationStatus": "completed", "data": {"operationStatus": "failed"}}),
            "operationStatus",
        ),
    ];
    for (command, target) in cases {
        let (status, body) = app.http("ResumeTask", &command.to_string()).await;
        assert_eq!(status, 400, "{command}");
        assert_eq!(body["error"]["code"], "invalidCommand");
        assert_eq!(body["error"]["target"], target, "{command}: {body}");
    }
    assert_eq!(app.graph_requests(), 0);
}

#[tokio::test]
async fn empty_non_json_and_non_object_bodies_are_refused_as_body() {
    let app = spawn_app().await;
    for body in ["", "not json", "[1,2]", "42", "\"just text\""] {
        let (status, answer) = app.http("ResumeTask", body).await;
        assert_eq!(status, 400, "{body:?}");
        assert_eq!(answer["error"]["target"], "body", "{body:?}");
    }
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_as_payload_too_large() {
    let app = spawn_app().await;
    let ids = app.waiting_task(0);
    let mut command = resume_task_command(&ids, "completed");
    command["padding"] = json!("x".repeat(70 * 1024));
    let (status, body) = app.http("ResumeTask", &command.to_string()).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payloadTooLarge");
    assert_eq!(app.graph_requests(), 0);
}

#[tokio::test]
async fn an_invalid_queue_message_fails_fast_so_service_bus_dead_letters_it() {
    let app = spawn_app().await;
    let (status, answer) = app
        .queue("ResumeTaskQueue", &json!({"workflowId": "w"}), "bad-1", 1)
        .await;
    assert_eq!(status, 500);
    assert_eq!(answer["error"]["code"], "invalidCommand");
    assert_eq!(answer["error"]["target"], "taskId");
    assert_eq!(app.graph_requests(), 0);
}

#[tokio::test]
async fn graph_refusing_a_task_that_is_still_waiting_is_a_graph_error() {
    let app = spawn_app().await;
    let ids = app.waiting_task(0);
    app.graph.add_fault("400:match=/resume").unwrap();
    let (status, body) = app.resume_task(&ids, "completed").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "graphError");
    assert_eq!(body["error"]["graphCode"], "BadRequest");
    assert_eq!(body["error"]["graphStatus"], 400);
}
