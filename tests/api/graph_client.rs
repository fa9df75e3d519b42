//! How the handler treats Graph: throttling, outages, lost answers, tokens, correlation.
use crate::helpers::*;
use serde_json::json;
use std::collections::BTreeSet;

#[tokio::test]
async fn throttling_is_retried_after_retry_after_with_the_same_client_request_id() {
    let app = spawn_app().await;
    app.graph
        .add_fault("429:match=/resume,times=2,retry-after=1")
        .unwrap();
    let ids = app.waiting_task(0);
    let started = std::time::Instant::now();
    let (status, answer) = app
        .queue(
            "ResumeTaskQueue",
            &resume_task_command(&ids, "completed"),
            "throttled-1",
            1,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ReturnValue"]["outcome"], "resumed");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "Retry-After was honored twice"
    );
    let posts: Vec<_> = app
        .graph
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(
        posts.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 429, 204]
    );
    let ids: BTreeSet<_> = posts.iter().map(|r| r.client_request_id.clone()).collect();
    assert_eq!(ids.len(), 1, "one client-request-id across retries");
}

#[tokio::test]
async fn the_client_request_id_is_derived_from_the_message_id_so_redeliveries_correlate() {
    let app = spawn_app().await;
    let ids = app.waiting_task(0);
    let command = resume_task_command(&ids, "completed");
    app.queue("ResumeTaskQueue", &command, "order-77", 1).await;
    app.queue("ResumeTaskQueue", &command, "order-77", 2).await;
    let guid = "0d7a1f6e-3c52-4f77-9a10-5b1c2d3e4f50";
    let ids2 = app.waiting_task(0);
    app.queue(
        "ResumeTaskQueue",
        &resume_task_command(&ids2, "completed"),
        guid,
        1,
    )
    .await;
    let seen: Vec<_> = app
        .graph
        .requests()
        .into_iter()
        .filter_map(|r| r.client_request_id)
        .collect();
    let first: BTreeSet<_> = seen[..seen.len() - 1].iter().collect();
    assert_eq!(
        first.len(),
        1,
        "both deliveries of order-77 share one id: {seen:?}"
    );
    assert!(
        uuid::Uuid::parse_str(seen[0].as_str()).is_ok(),
        "a GUID, as Graph expects"
    );
    assert_eq!(
        seen.last().unwrap(),
        guid,
        "a GUID MessageId is used as it is"
    );
}

#[tokio::test]
async fn a_lost_response_completes_as_success_on_the_retry() {
    let app = spawn_app().await;
    app.graph.add_fault("drop:match=/resume,times=1").unwrap();
    let ids = app.waiting_task(0);
    let (status, answer) = app
        .queue(
            "ResumeTaskQueue",
            &resume_task_command(&ids, "completed"),
            "lost-1",
            1,
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ReturnValue"]["outcome"], "alreadyResumed");
    assert_eq!(app.graph.stats().resumes_applied, 1);
}

#[tokio::test]
async fn a_lost_answer_whose_read_back_fails_is_held_as_passing_trouble_not_a_refusal() {
    let app = spawn_app_with(Options::default().env("GRAPH_RETRY_BUDGET", "4s")).await;
    let ids = app.waiting_task(0);
    let (w, t, r) = &ids;
    // The resume is applied and its answer lost; the retry is refused (no longer waiting);
    // the read that would tell a duplicate from a conflict meets an outage.
    app.graph.add_fault("drop:match=/resume,times=1").unwrap();
    app.graph
        .add_fault(&format!(
            "503:match=/workflows/{w}/tasks/{t}/taskProcessingResults/{r},method=GET"
        ))
        .unwrap();
    let command = resume_task_command(&ids, "completed");
    let (status, answer) = app.queue("ResumeTaskQueue", &command, "lost-2", 1).await;
    assert_eq!(status, 500, "{answer}");
    let error = &answer["error"];
    assert_eq!(error["code"], "graphUnavailable", "{answer}");
    assert_eq!(app.graph.stats().resumes_applied, 1);
    assert_eq!(
        app.graph_requests_to("POST", "/resume"),
        2,
        "the lost answer, then the refused retry: the read-back was reached"
    );
    // The next delivery, once Graph reads again, finds the duplicate.
    app.graph.clear_faults();
    let (status, answer) = app.queue("ResumeTaskQueue", &command, "lost-2", 2).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ReturnValue"]["outcome"], "alreadyResumed");
}

#[tokio::test]
async fn a_rejected_token_is_renewed_once_and_the_call_retried() {
    let app = spawn_app().await;
    let ids = app.waiting_task(0);
    app.resume_task(&ids, "completed").await;
    assert_eq!(app.graph.stats().token_requests, 1);
    app.graph.revoke_tokens();
    let ids = app.waiting_task(0);
    let (status, body) = app.resume_task(&ids, "completed").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.graph.stats().token_requests, 2);
}

#[tokio::test]
async fn a_401_that_survives_a_token_refresh_is_forbidden() {
    let app = spawn_app().await;
    app.graph.add_fault("401:match=/resume").unwrap();
    let ids = app.waiting_task(0);
    let (status, body) = app.resume_task(&ids, "completed").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(body["error"]["graphCode"], "InvalidAuthenticationToken");
    let posts = app
        .graph
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 2, "one refresh, one retry");
}

#[tokio::test]
async fn graph_forbidding_the_app_is_403_with_graphs_code() {
    let app = spawn_app().await;
    app.graph.add_fault("403:match=/resume").unwrap();
    let ids = app.waiting_task(0);
    let (status, body) = app.resume_task(&ids, "completed").await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["graphCode"], "Authorization_RequestDenied");
    assert!(body["error"]["graphRequestId"].is_string());
}

#[tokio::test]
async fn a_403_on_a_queue_delivery_is_held_half_the_budget_while_a_grant_propagates() {
    let app = spawn_app_with(Options::default().env("GRAPH_RETRY_BUDGET", "2s")).await;
    app.graph.add_fault("403:match=/resume").unwrap();
    let ids = app.waiting_task(0);
    let command = resume_task_command(&ids, "completed");
    let started = std::time::Instant::now();
    let (status, answer) = app.queue("ResumeTaskQueue", &command, "grant-1", 1).await;
    assert_eq!(status, 500, "{answer}");
    assert_eq!(answer["error"]["code"], "forbidden");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "held half of the 2 s budget"
    );
    assert_eq!(
        app.graph_requests_to("POST", "/resume"),
        1,
        "held without asking Graph again"
    );
    // Once the grant has reached Graph, the next delivery resumes.
    app.graph.clear_faults();
    let (status, answer) = app.queue("ResumeTaskQueue", &command, "grant-1", 2).await;
    assert_eq!(
        (status, answer["ReturnValue"]["outcome"].as_str()),
        (200, Some("resumed"))
    );
}

#[tokio::test]
async fn an_outage_fails_within_the_retry_budget_with_retry_after() {
    let app = spawn_app_with(Options::default().env("GRAPH_RETRY_BUDGET", "2s")).await;
    app.graph
        .add_fault("503:match=/resume,retry-after=1")
        .unwrap();
    let ids = app.waiting_task(0);
    let started = std::time::Instant::now();
    let (status, body) = app.resume_task(&ids, "completed").await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "bounded by the budget"
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "graphUnavailable");
    let (status, answer) = app
        .invoke(
            "ResumeTask",
            &http_payload(
                "ResumeTask",
                &resume_task_command(&ids, "completed").to_string(),
            ),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        answer["Outputs"]["res"]["headers"]["Retry-After"].is_string(),
        "{answer}"
    );
    let (status, _) = app
        .queue(
            "ResumeTaskQueue",
            &resume_task_command(&ids, "completed"),
            "outage-1",
            1,
        )
        .await;
    assert_eq!(status, 500, "the message comes back later");
    assert_eq!(
        app.graph
            .task_processing_result(&ids.2)
            .unwrap()
            .processing_status,
        "inProgress"
    );
}

#[tokio::test]
async fn a_token_endpoint_that_is_down_is_an_outage() {
    let app = spawn_app_with(
        Options::default()
            .env("GRAPH_RETRY_BUDGET", "1s")
            .env("IDENTITY_HEADER", "wrong"),
    )
    .await;
    let ids = app.waiting_task(0);
    let (status, body) = app.resume_task(&ids, "completed").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(app.graph_requests(), 0);
}

#[tokio::test]
async fn a_graph_server_error_is_a_bad_gateway_with_graphs_request_id() {
    let app = spawn_app().await;
    app.graph.add_fault("500:match=/resume").unwrap();
    let ids = app.waiting_task(0);
    let (status, body) = app.resume_task(&ids, "completed").await;
    assert_eq!(status, 502);
    assert_eq!(body["error"]["code"], "graphError");
    assert_eq!(body["error"]["graphCode"], "InternalServerError");
    assert!(body["error"]["graphRequestId"].is_string());
}

#[tokio::test]
async fn fifty_concurrent_invocations_share_one_token_request() {
    let app = spawn_app_with(
        Options::default().tenant("workflows=2,tasks=2,customTasks=2,users=20,inProgress=1"),
    )
    .await;
    let waiting = app.graph.task_results_with_status("inProgress");
    assert!(waiting.len() >= 50);
    let calls = waiting.iter().take(50).enumerate().map(|(n, ids)| {
        let app = &app;
        async move {
            app.queue(
                "ResumeTaskQueue",
                &resume_task_command(ids, "completed"),
                &format!("c-{n}"),
                1,
            )
            .await
        }
    });
    let answers = futures::future::join_all(calls).await;
    assert!(answers
        .iter()
        .all(|(status, a)| *status == 200 && a["ReturnValue"]["outcome"] == "resumed"));
    assert_eq!(app.graph.stats().token_requests, 1);
    assert_eq!(app.graph.stats().resumes_applied, 50);
    let _ = json!(null);
}

#[tokio::test]
async fn a_short_lived_token_is_reused_for_most_of_its_life() {
    let mut options = Options::default();
    options.settings.token_lifetime_seconds = 240;
    let app = spawn_app_with(options).await;
    for n in 0..5 {
        let ids = app.waiting_task(n);
        let (status, body) = app.resume_task(&ids, "completed").await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(
        app.graph.stats().token_requests,
        1,
        "one token for five resumes"
    );
}
