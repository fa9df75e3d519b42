//! devhost's local Functions front, in front of the real handler: the HTTP functions with
//! plain bodies, and the queues' send, delivery, redelivery, duplicate detection and
//! dead-lettering (docs/local.md).
use crate::helpers::*;
use devhost::app::FunctionApp;
use devhost::front::{Front, RunningFront};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// The front before `app`'s handler, with queues that dead-letter after three deliveries.
async fn front(app: &TestApp) -> RunningFront {
    let mut function_app = FunctionApp::read(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
    function_app.queues.max_delivery_count = 3;
    Front::new(function_app, host_sim::Host::new(app.port))
        .serve(0)
        .await
        .unwrap()
}

/// Sends `body` to `queue` as the starters do, with `message_id` in BrokerProperties.
async fn send(front: &RunningFront, queue: &str, message_id: &str, body: &Value) -> Value {
    let response = reqwest::Client::new()
        .post(front.url(&format!("/{queue}/messages")))
        .header(
            "BrokerProperties",
            json!({"MessageId": message_id}).to_string(),
        )
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

/// The queue's state once nothing waits or is in flight.
async fn settled(front: &RunningFront, queue: &str) -> Value {
    let q = front.front.queue(queue).unwrap();
    for _ in 0..400 {
        if q.is_idle() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(q.is_idle(), "{queue} did not settle");
    reqwest::get(front.url(&format!("/{queue}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_http_functions_take_a_plain_body_as_func_start_serves_them() {
    let app = spawn_app().await;
    let front = front(&app).await;
    let ids = app.waiting_task(0);
    let client = reqwest::Client::new();
    let response = client
        .post(front.url("/api/ResumeTask"))
        .body(resume_task_command(&ids, "completed").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "the handler's headers"
    );
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["outcome"], "resumed");
    assert_eq!(app.graph.stats().resumes_applied, 1);

    let report: Value = reqwest::get(front.url("/api/InProgress"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(report["count"].is_u64(), "{report}");

    let refused = client
        .post(front.url("/api/ResumeTask"))
        .body(r#"{"workflowId": "../users"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let wrong_method = client
        .get(front.url("/api/ResumeTask"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 404);
    let index: Value = reqwest::get(front.url("/"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(index["functions"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn a_queue_message_is_delivered_once_and_a_second_send_of_its_id_is_dropped() {
    let app = spawn_app().await;
    let front = front(&app).await;
    let command = resume_task_command(&app.waiting_task(0), "completed");
    assert_eq!(
        send(&front, "resume-task", "result-1", &command).await["enqueued"],
        true
    );
    let state = settled(&front, "resume-task").await;
    assert_eq!(state["completedCount"], 1, "{state}");
    assert_eq!(state["recentDeliveries"][0]["outcome"], "completed");
    assert_eq!(app.graph.stats().resumes_applied, 1);

    // The starter's second send for the same result: Service Bus drops it.
    assert_eq!(
        send(&front, "resume-task", "result-1", &command).await["duplicate"],
        true
    );
    let state = settled(&front, "resume-task").await;
    assert_eq!(
        (
            state["completedCount"].as_u64(),
            state["duplicatesDropped"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(app.graph.stats().resumes_applied, 1);
}

#[tokio::test]
async fn a_message_graph_refuses_for_a_while_is_redelivered_and_then_resumed() {
    let app = spawn_app().await;
    let front = front(&app).await;
    // The first delivery meets a Graph outage for its whole (test-sized) retry budget.
    app.graph.add_fault("503:match=/resume,times=100").unwrap();
    let command = resume_task_command(&app.waiting_task(0), "failed");
    send(&front, "resume-task", "result-2", &command).await;
    let queue = front.front.queue("resume-task").unwrap();
    for _ in 0..400 {
        if queue.state()["recentDeliveries"][0]["outcome"] == "abandoned" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.graph.clear_faults();
    let state = settled(&front, "resume-task").await;
    let outcomes: Vec<&str> = state["recentDeliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["abandoned", "completed"], "{state}");
    assert_eq!(state["recentDeliveries"][1]["deliveryCount"], 2);
    assert_eq!(app.graph.stats().resumes_applied, 1);
}

#[tokio::test]
async fn an_invalid_message_is_dead_lettered_after_max_delivery_count_deliveries() {
    let app = spawn_app().await;
    let front = front(&app).await;
    send(
        &front,
        "resume-access-request",
        "bad-1",
        &json!({"stage": "assignmentRequestCreated"}),
    )
    .await;
    let state = settled(&front, "resume-access-request").await;
    assert_eq!(state["deadLetterMessageCount"], 1, "{state}");
    let dead = &state["deadLetters"][0];
    assert_eq!(dead["messageId"], "bad-1");
    assert_eq!(dead["deliveryCount"], 3);
    assert_eq!(dead["deadLetterReason"], "MaxDeliveryCountExceeded");
    assert!(
        dead["lastError"]
            .as_str()
            .unwrap()
            .starts_with("invalidCommand"),
        "{dead}"
    );
    assert_eq!(app.graph_requests(), 0);

    let bad_properties = reqwest::Client::new()
        .post(front.url("/resume-task/messages"))
        .header("BrokerProperties", "MessageId=1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_properties.status(), 400);
}
