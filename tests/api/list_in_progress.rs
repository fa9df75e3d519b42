//! ListInProgress and InProgress: the README's section of that name.
use crate::helpers::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// The emulator's own answer: every in-progress result of a custom task, by id.
fn expected(app: &TestApp) -> BTreeMap<String, (String, String)> {
    app.graph
        .task_results_with_status("inProgress")
        .into_iter()
        .map(|(w, t, r)| (r, (w, t)))
        .collect()
}

fn reported(report: &Value) -> BTreeMap<String, (String, String)> {
    let items = report["items"].as_array().unwrap();
    let map: BTreeMap<_, _> = items
        .iter()
        .map(|i| {
            (
                i["taskProcessingResultId"].as_str().unwrap().to_string(),
                (
                    i["workflowId"].as_str().unwrap().to_string(),
                    i["taskId"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(map.len(), items.len(), "each result reported exactly once");
    map
}

#[tokio::test]
async fn the_timer_reports_every_waiting_custom_task_result_across_pages() {
    let app = spawn_app_with(
        Options::default()
            .page_size(2)
            .tenant("workflows=4,tasks=4,customTasks=2,users=9,inProgress=0.5,seed=3"),
    )
    .await;
    let (status, answer) = app.timer().await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    assert_eq!(reported(report), expected(&app));
    assert_eq!(report["count"], expected(&app).len());
    assert_eq!(report["partial"], false);
    assert_eq!(report["errors"], serde_json::json!([]));
    assert!(report["graphCalls"].as_u64().unwrap() > 1 + 4);
    for key in [
        "count",
        "staleCount",
        "partial",
        "graphCalls",
        "durationMs",
        "items",
        "errors",
    ] {
        assert!(report.get(key).is_some(), "{key}");
    }
    let item = &report["items"][0];
    for key in [
        "workflowId",
        "workflowName",
        "taskId",
        "taskName",
        "taskProcessingResultId",
        "subjectId",
        "startedDateTime",
        "ageSeconds",
        "deadline",
        "stale",
    ] {
        assert!(item.get(key).is_some(), "{key} in {item}");
    }
}

#[tokio::test]
async fn deadlines_come_from_the_extensions_callback_timeout_and_stale_from_stale_after() {
    let app = spawn_app_with(Options::default().env("STALE_AFTER", "90m")).await;
    let (_, answer) = app.timer().await;
    let report = &answer["ReturnValue"];
    let tenant = app.graph.tenant();
    let mut stale = 0;
    for item in report["items"].as_array().unwrap() {
        let started = time::OffsetDateTime::parse(
            item["startedDateTime"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let deadline = time::OffsetDateTime::parse(
            item["deadline"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let workflow = tenant
            .workflows
            .iter()
            .find(|w| w.id == item["workflowId"])
            .unwrap();
        let task = workflow
            .tasks
            .iter()
            .find(|t| t.id == item["taskId"])
            .unwrap();
        let extension = tenant
            .custom_task_extensions
            .iter()
            .find(|e| e.id == task.arguments[0].value)
            .unwrap();
        let expected = match extension.timeout_duration.as_str() {
            "PT1H" => 3600,
            "PT30M" => 1800,
            "PT3H" => 10800,
            other => panic!("{other}"),
        };
        assert_eq!((deadline - started).whole_seconds(), expected);
        let is_stale = item["ageSeconds"].as_u64().unwrap() > 90 * 60;
        assert_eq!(item["stale"], is_stale);
        stale += usize::from(is_stale);
    }
    assert_eq!(report["staleCount"], stale);
    let stale_lines = answer["Logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l.as_str().unwrap().starts_with("stale:"))
        .count();
    assert_eq!(stale_lines, stale);
}

#[tokio::test]
async fn empty_pages_with_next_links_do_not_hide_results() {
    let app = spawn_app_with(Options::default().page_size(1)).await;
    app.graph
        .add_fault("empty-page:match=/taskProcessingResults")
        .unwrap();
    let (_, answer) = app.timer().await;
    assert_eq!(reported(&answer["ReturnValue"]), expected(&app));
}

#[tokio::test]
async fn a_workflow_that_keeps_failing_is_reported_and_the_others_still_listed() {
    let app = spawn_app_with(Options::default().env("GRAPH_RETRY_BUDGET", "1s")).await;
    let tenant = app.graph.tenant();
    let broken = &tenant.workflows[0].id;
    app.graph
        .add_fault(&format!("503:match=/workflows/{broken}/,retry-after=1"))
        .unwrap();
    let (status, answer) = app.timer().await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], true);
    assert_eq!(report["errors"].as_array().unwrap().len(), 1);
    assert_eq!(report["errors"][0]["workflowId"], broken.as_str());
    assert_eq!(report["errors"][0]["status"], 503);
    let others: BTreeMap<_, _> = expected(&app)
        .into_iter()
        .filter(|(_, (w, _))| w != broken)
        .collect();
    assert!(!others.is_empty());
    assert_eq!(reported(report), others);
}

#[tokio::test]
async fn in_progress_answers_the_same_report_over_http() {
    let app = spawn_app().await;
    let mut payload = http_payload("InProgress", "");
    payload["Data"]["req"]["Method"] = "GET".into();
    let (status, answer) = app.invoke("InProgress", &payload).await;
    assert_eq!(status, 200);
    let res = &answer["Outputs"]["res"];
    assert_eq!(res["statusCode"], 200);
    assert_eq!(reported(&res["body"]), expected(&app));
}

#[tokio::test]
async fn a_workflow_subset_lists_only_those_workflows() {
    let tenant = graph_emulator::generate(&SMALL_TENANT.parse().unwrap());
    let chosen = tenant.workflows[1].id.clone();
    let app = spawn_app_with(
        Options::default().env("LIST_IN_PROGRESS_WORKFLOW_IDS", &format!(" {chosen} ")),
    )
    .await;
    let (_, answer) = app.timer().await;
    let wanted: BTreeMap<_, _> = expected(&app)
        .into_iter()
        .filter(|(_, (w, _))| *w == chosen)
        .collect();
    assert!(!wanted.is_empty());
    assert_eq!(reported(&answer["ReturnValue"]), wanted);
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let mut options = Options::default().page_size(1);
    options.settings.public_url = Some("http://127.0.0.2:9".into());
    let app = spawn_app_with(options).await;
    let (status, answer) = app.timer().await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], true);
    let message = report["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("http://127.0.0.2:9") && message.contains("not the configured Graph host"),
        "{message}"
    );
    assert_eq!(report["errors"][0]["code"], "unexpectedAnswer");
}

#[tokio::test]
async fn throttling_and_transient_failures_lose_nothing_and_report_nothing_twice() {
    // Three 429s in a row take up to 7 s of backoff: a budget as in production.
    let app = spawn_app_with(
        Options::default()
            .page_size(3)
            .tenant("workflows=5,tasks=4,customTasks=3,users=8,inProgress=0.5,seed=21")
            .env("GRAPH_RETRY_BUDGET", "60s"),
    )
    .await;
    for fault in [
        "429:times=3,retry-after=1",
        "503:match=/taskProcessingResults,after=2,times=2",
        "504:match=/tasks,after=4,times=1",
        "empty-page:match=/taskProcessingResults,times=5",
    ] {
        app.graph.add_fault(fault).unwrap();
    }
    let (status, answer) = app.timer().await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], false, "{}", report["errors"]);
    assert_eq!(reported(report), expected(&app));
}
