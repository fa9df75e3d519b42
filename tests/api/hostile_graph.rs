//! Graph, the identity endpoint and the network misbehaving as real services and gateways
//! do. Each test reproduces one way, with the emulator's faults, and shows the handler
//! bounded (requests, waits, bytes, pages), patient through outages, and tight-lipped.
use crate::helpers::*;
use graph_emulator::msi::SECRET_IN_ERROR;
use serde_json::{json, Value};
use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

/// Fails the test instead of hanging it when an answer never comes; far above every
/// budget used here.
async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(40), future)
        .await
        .expect("the handler answered")
}

fn budget(seconds: u64) -> Options {
    Options::default().env("GRAPH_RETRY_BUDGET", &format!("{seconds}s"))
}

/// `Outputs.res` of an HTTP ResumeTask, headers included.
async fn resume_over_http(app: &TestApp, ids: &(String, String, String)) -> Value {
    let payload = http_payload(
        "ResumeTask",
        &resume_task_command(ids, "completed").to_string(),
    );
    let (status, answer) = within(app.invoke("ResumeTask", &payload)).await;
    assert_eq!(status, 200, "{answer}");
    answer["Outputs"]["res"].clone()
}

fn retry_after_seconds(res: &Value) -> u64 {
    res["headers"]["Retry-After"]
        .as_str()
        .expect("a Retry-After header")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_503_with_retry_after_0_gets_four_requests_not_a_storm() {
    let app = spawn_app_with(budget(10)).await;
    app.graph
        .add_fault("503:match=/resume,retry-after=0")
        .unwrap();
    let res = resume_over_http(&app, &app.waiting_task(0)).await;
    assert_eq!(res["statusCode"], 503, "{res}");
    assert_eq!(res["body"]["error"]["code"], "graphUnavailable");
    assert_eq!(app.graph_requests_to("POST", "/resume"), 4);
}

#[tokio::test]
async fn a_sweep_asks_a_failing_workflow_at_most_four_times() {
    let app = spawn_app_with(budget(10)).await;
    let failing = app.graph.tenant().workflows[0].id.clone();
    app.graph
        .add_fault(&format!("503:match=/workflows/{failing}/,retry-after=0"))
        .unwrap();
    let (status, answer) = within(app.timer()).await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], true);
    assert_eq!(report["errors"][0]["workflowId"], failing.as_str());
    assert_eq!(
        app.graph_requests_to("GET", &format!("/workflows/{failing}/")),
        4
    );
}

#[tokio::test]
async fn a_huge_or_overflowing_retry_after_neither_panics_nor_holds_other_work() {
    for retry_after in [
        "100000000000",
        "18446744073709551615",
        "99999999999999999999999",
    ] {
        let app = spawn_app_with(budget(2)).await;
        app.graph
            .add_fault(&format!(
                "429:match=/resume,times=1,retry-after={retry_after}"
            ))
            .unwrap();
        let res = resume_over_http(&app, &app.waiting_task(0)).await;
        assert_eq!(res["statusCode"], 503, "{res}");
        assert!(
            retry_after_seconds(&res) <= 60,
            "a caller is told at most a minute"
        );

        // The process lives, and other work waits no longer than its own budget.
        let started = Instant::now();
        let res = resume_over_http(&app, &app.waiting_task(1)).await;
        assert!(matches!(res["statusCode"].as_u64(), Some(200 | 503)));
        assert!(started.elapsed() < Duration::from_secs(8), "{retry_after}");
        let (status, _) = within(app.http("InProgress", "")).await;
        assert_eq!(status, 200);
        assert!(
            !app.stderr().iter().any(|l| l.contains("panicked")),
            "{:?}",
            app.stderr()
        );
    }
}

#[tokio::test]
async fn a_hung_token_endpoint_holds_no_invocation_past_its_own_budget() {
    let app = spawn_app_with(budget(2)).await;
    app.graph.add_fault("hang:match=/msi/token").unwrap();
    let started = Instant::now();
    let waiting: Vec<_> = (0..3).map(|n| app.waiting_task(n)).collect();
    let answers = within(futures::future::join_all(
        waiting.iter().map(|ids| resume_over_http(&app, ids)),
    ))
    .await;
    for res in answers {
        assert_eq!(res["statusCode"], 503, "{res}");
        assert_eq!(res["body"]["error"]["code"], "graphUnavailable");
    }
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "three 2 s budgets side by side, not one behind another: {:?}",
        started.elapsed()
    );
    assert_eq!(app.graph_requests(), 0);
}

#[tokio::test]
async fn a_queue_delivery_during_an_outage_holds_for_its_budget_and_an_http_caller_does_not() {
    let app = spawn_app_with(budget(3)).await;
    app.graph
        .add_fault("503:match=/resume,retry-after=90")
        .unwrap();
    let ids = app.waiting_task(0);
    let started = Instant::now();
    let (status, answer) = within(app.queue(
        "ResumeTaskQueue",
        &resume_task_command(&ids, "completed"),
        "outage-1",
        1,
    ))
    .await;
    assert_eq!(status, 500, "the message comes back: {answer}");
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "the delivery spent its budget before it failed"
    );
    assert_eq!(
        app.graph_requests_to("POST", "/resume"),
        1,
        "a 90 s Retry-After leaves no room for a retry in 3 s: nothing more is sent"
    );

    let started = Instant::now();
    let res = resume_over_http(&app, &ids).await;
    assert_eq!(res["statusCode"], 503);
    assert_eq!(retry_after_seconds(&res), 60);
    assert!(started.elapsed() < Duration::from_secs(3), "not held");
}

#[tokio::test]
async fn a_server_error_that_outlasts_its_retries_holds_the_delivery_too() {
    let app = spawn_app_with(budget(3)).await;
    app.graph.add_fault("500:match=/resume").unwrap();
    let started = Instant::now();
    let (status, answer) = within(app.queue(
        "ResumeTaskQueue",
        &resume_task_command(&app.waiting_task(0), "completed"),
        "server-error-1",
        1,
    ))
    .await;
    assert_eq!(status, 500);
    assert_eq!(answer["error"]["code"], "graphError");
    assert_eq!(answer["error"]["graphStatus"], 500);
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert!(app.graph_requests_to("POST", "/resume") <= 4);
}

#[tokio::test]
async fn an_outage_across_deliveries_ends_in_exactly_one_resume_and_no_dead_letter() {
    // Each delivery sends at most 4 POSTs: the sixth failure is in the second delivery.
    let app = spawn_app_with(budget(8)).await;
    app.graph
        .add_fault("503:match=/resume,times=6,retry-after=0")
        .unwrap();
    let ids = app.waiting_task(0);
    let command = resume_task_command(&ids, "completed");
    let mut outcomes = Vec::new();
    for delivery in 1..=10 {
        let (status, answer) =
            within(app.queue("ResumeTaskQueue", &command, "outage-2", delivery)).await;
        outcomes.push(status);
        if status == 200 {
            assert_eq!(answer["ReturnValue"]["outcome"], "resumed");
            break;
        }
    }
    assert_eq!(outcomes, [500, 200], "the second delivery resumes");
    assert_eq!(app.graph.stats().resumes_applied, 1);
    assert_eq!(app.graph_requests_to("POST", "/resume"), 7);
}

#[tokio::test]
async fn a_next_link_back_to_its_own_page_ends_that_listing_with_an_error() {
    let app = spawn_app_with(
        Options::default()
            .page_size(1)
            .env("LIST_IN_PROGRESS_KINDS", "task"),
    )
    .await;
    app.graph.add_fault("self-link").unwrap();
    let (status, answer) = within(app.timer()).await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], true);
    assert_eq!(report["errors"][0]["code"], "unexpectedAnswer");
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("earlier page"), "{message}");
    assert_eq!(
        app.graph_requests(),
        1,
        "the repeated page is not fetched again"
    );
}

#[tokio::test]
async fn an_answer_over_the_size_limit_is_refused_without_being_read_whole() {
    let app = spawn_app().await;
    app.graph
        .add_fault(
            "huge-body:match=/lifecycleWorkflows/workflows,method=GET,bytes=100000000,times=1",
        )
        .unwrap();
    let (_, answer) = within(app.timer()).await;
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], true);
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("larger than 4 MiB"), "{message}");

    app.graph
        .add_fault("huge-body:match=/resume,status=500,bytes=100000000")
        .unwrap();
    let res = resume_over_http(&app, &app.waiting_task(0)).await;
    assert_eq!(res["statusCode"], 502, "{res}");
    assert_eq!(res["body"]["error"]["graphStatus"], 500);
    assert_eq!(res["body"]["error"]["graphCode"], "UnknownError");
}

#[tokio::test]
async fn each_request_of_a_sweep_has_its_own_retry_budget() {
    // The sweep takes longer than one 2 s budget; a late 503 is still retried.
    let app = spawn_app_with(
        budget(2)
            .env("GRAPH_MAX_CONCURRENCY", "1")
            .tenant("workflows=4,tasks=3,customTasks=2,users=4,inProgress=0.5,seed=3"),
    )
    .await;
    app.graph.add_fault("latency:ms=250").unwrap();
    app.graph
        .add_fault("503:match=/taskProcessingResults,after=6,times=1,retry-after=0")
        .unwrap();
    let (status, answer) = within(app.timer()).await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    assert!(report["durationMs"].as_u64().unwrap() > 2_000, "{report}");
    assert_eq!(report["partial"], false, "{}", report["errors"]);
}

#[tokio::test]
async fn a_callback_timeout_beyond_reason_leaves_that_deadline_empty_and_the_report_whole() {
    let app = spawn_app_with(Options::default().edit(|tenant| {
        let nines = format!("P{}D", "9".repeat(400));
        for (n, extension) in tenant.custom_task_extensions.iter_mut().enumerate() {
            extension.timeout_duration = if n % 2 == 0 {
                "P9999999D".into()
            } else {
                nines.clone()
            };
        }
    }))
    .await;
    let (status, answer) = within(app.timer()).await;
    assert_eq!(status, 200, "{answer}");
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], false);
    let items = report["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert_eq!(report["count"], items.len());
    for item in items.iter().filter(|i| i["kind"] == "task") {
        assert!(item["deadline"].is_null(), "{item}");
        assert!(
            item["ageSeconds"].is_u64(),
            "the rest of the item stands: {item}"
        );
    }
}

#[tokio::test]
async fn no_upstream_text_reaches_a_caller_or_a_log_line() {
    let app = spawn_app_with(budget(1)).await;
    app.graph.add_fault("503:match=/msi/token").unwrap();
    let res = resume_over_http(&app, &app.waiting_task(0)).await;
    assert_eq!(res["statusCode"], 503);
    let said = res.to_string();
    assert!(
        !said.contains(SECRET_IN_ERROR) && !said.contains("access_token"),
        "{said}"
    );
    assert!(said.contains("answered 503"), "the status is told: {said}");
    app.graph.clear_faults();

    app.graph.add_fault("500:match=/resume").unwrap();
    let res = resume_over_http(&app, &app.waiting_task(0)).await;
    assert_eq!(res["statusCode"], 502);
    assert!(!res.to_string().contains("internal server error occurred"));
    app.graph.clear_faults();

    let (status, body) = app
        .resume_task(&("no-such-wf".into(), "t".into(), "r".into()), "completed")
        .await;
    assert_eq!(status, 404);
    assert!(!body.to_string().contains("was not found"), "{body}");
    assert_eq!(body["error"]["code"], "ResourceNotFound");

    let logged = app.stderr().join("\n");
    assert!(!logged.contains(SECRET_IN_ERROR) && !logged.contains("access_token"));
}

#[tokio::test]
async fn proxy_variables_in_the_environment_are_not_followed() {
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let address = format!("http://{}", proxy.local_addr().unwrap());
    let mut options = Options::default();
    for name in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ] {
        options = options.env(name, &address);
    }
    let app = spawn_app_with(options).await;
    let (status, body) = app.resume_task(&app.waiting_task(0), "completed").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        proxy.accept().is_err(),
        "nothing, no token and no identity header, went to the proxy"
    );
}

#[tokio::test]
async fn a_message_id_with_a_line_break_cannot_forge_a_log_line() {
    let app = spawn_app().await;
    let forged = "m-1\nResumeTaskQueue invocationId=forged outcome=resumed\r";
    let (status, _) = app
        .queue("ResumeTaskQueue", &json!({"workflowId": "w"}), forged, 1)
        .await;
    assert_eq!(status, 500);
    let (status, answer) = app
        .queue(
            "ResumeTaskQueue",
            &resume_task_command(&app.waiting_task(0), "completed"),
            forged,
            1,
        )
        .await;
    assert_eq!(status, 200);
    let logs = answer["Logs"].as_array().unwrap();
    assert!(logs
        .iter()
        .all(|l| !l.as_str().unwrap().contains(['\n', '\r'])));
    assert!(logs[0]
        .as_str()
        .unwrap()
        .contains(r#"messageId="m-1\u000aResumeTaskQueue\u0020invocationId\u003dforged"#));
    assert!(!app
        .stderr()
        .iter()
        .any(|l| l.starts_with("ResumeTaskQueue invocationId=forged")));
}

#[tokio::test]
async fn sigterm_lets_in_flight_invocations_answer_before_the_process_exits() {
    let mut app = spawn_app().await;
    app.graph
        .add_fault("latency:ms=1500,match=/resume")
        .unwrap();
    let ids = app.waiting_task(0);
    let ((status, body), ()) = tokio::join!(app.resume_task(&ids, "completed"), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        app.signal("TERM");
    });
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "resumed");
    assert_eq!(app.exit_code(Duration::from_secs(10)), Some(0));
}

#[tokio::test]
async fn startup_refuses_an_unusable_identity_endpoint_or_retry_budget() {
    for (setting, value) in [
        ("IDENTITY_ENDPOINT", "notaurl"),
        ("IDENTITY_ENDPOINT", "http://10.0.0.7/msi/token"),
        ("GRAPH_RETRY_BUDGET", "1000d"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_resume-handler"))
            .env_clear()
            .env("FUNCTIONS_CUSTOMHANDLER_PORT", "1")
            .env("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token")
            .env(setting, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{setting}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("configuration error: {setting}:")),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn a_body_sent_as_a_json_object_is_held_to_64_kib() {
    let app = spawn_app().await;
    let mut command = resume_task_command(&app.waiting_task(0), "completed");
    command["padding"] = json!("x".repeat(200 * 1024));
    let mut payload = http_payload("ResumeTask", "{}");
    payload["Data"]["req"]["Body"] = command;
    let (status, answer) = app.invoke("ResumeTask", &payload).await;
    assert_eq!(status, 200);
    assert_eq!(answer["Outputs"]["res"]["statusCode"], 413);
    assert_eq!(app.graph_requests(), 0);
}

#[tokio::test]
async fn thirty_401s_together_or_one_after_another_renew_the_token_once() {
    let app = spawn_app().await;
    app.graph.add_fault("401:match=/resume").unwrap();
    let waiting = app.graph.task_results_with_status("inProgress");
    let ids = |n: usize| &waiting[n % waiting.len()];
    let together = (0..15).map(|n| app.resume_task(ids(n), "completed"));
    for (status, body) in within(futures::future::join_all(together)).await {
        assert_eq!(status, 403, "{body}");
    }
    for n in 15..30 {
        let (status, body) = app.resume_task(ids(n), "completed").await;
        assert_eq!(status, 403, "{body}");
    }
    assert!(
        app.graph.stats().token_requests <= 2,
        "the first token and one renewal: {}",
        app.graph.stats().token_requests
    );
}

#[tokio::test]
async fn a_look_back_that_graph_hangs_costs_the_timer_its_budget_not_its_report() {
    let app = spawn_app_with(
        budget(2)
            .tenant("workflows=2,tasks=2,customTasks=1,users=4,inProgress=0.5,requests=8")
            .env("SLIPPED_LOOK_BACK", "24h"),
    )
    .await;
    // The sweep of what waits lists the requests in one page; the look-back's listing hangs.
    app.graph
        .add_fault("hang:match=/assignmentRequests,after=1")
        .unwrap();
    let (status, answer) = within(app.timer()).await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], false, "{}", report["errors"]);
    let summary = answer["Logs"][0].as_str().unwrap();
    assert!(summary.contains(" slippedPartial=true "), "{summary}");
    assert!(summary.contains(" outcome=listed "), "{summary}");
    // What was not read, in a line of its own.
    let errors = log_lines(&answer, "slipped: error ");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with("slipped: error kind=accessRequest workflowId=- status="),
        "{errors:#?}"
    );
}
