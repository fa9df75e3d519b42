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

/// The report's items of one kind.
fn of_kind<'r>(report: &'r Value, kind: &str) -> Vec<&'r Value> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == kind)
        .collect()
}

fn reported(report: &Value) -> BTreeMap<String, (String, String)> {
    let items = of_kind(report, "task");
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
    assert_eq!(
        report["count"],
        expected(&app).len() + app.graph.waiting_callouts().len()
    );
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
    let item = of_kind(report, "task")[0];
    for key in [
        "kind",
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
    let app = spawn_app_with(
        Options::default()
            .env("STALE_AFTER", "90m")
            .env("LIST_IN_PROGRESS_KINDS", "task"),
    )
    .await;
    let (_, answer) = app.timer().await;
    let report = &answer["ReturnValue"];
    let tenant = app.graph.tenant();
    let mut stale = 0;
    for item in of_kind(report, "task") {
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
    let stale_lines = log_lines(&answer, "stale:").len();
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
async fn a_listed_workflow_that_cannot_be_read_is_an_error_naming_it_and_the_rest_is_reported() {
    let tenant = graph_emulator::generate(&SMALL_TENANT.parse().unwrap());
    let good: Vec<String> = tenant.workflows.iter().map(|w| w.id.clone()).collect();
    let deleted = "0d1e7e7e-0000-4000-8000-00000000dead";
    let setting = format!("{},{deleted},{}", good[0], good[1..].join(","));
    let app =
        spawn_app_with(Options::default().env("LIST_IN_PROGRESS_WORKFLOW_IDS", &setting)).await;
    let (status, answer) = app.timer().await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    let wanted = expected(&app);
    assert!(!wanted.is_empty());
    assert_eq!(reported(report), wanted, "every readable workflow is swept");
    assert_eq!(report["partial"], true);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["workflowId"], deleted);
    assert_eq!(errors[0]["status"], 404);
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

/// A tenant with both kinds waiting: 30 access requests wait over three access packages, at
/// the created and the approved stage in turn.
const BOTH_KINDS: &str =
    "workflows=2,tasks=3,customTasks=1,users=4,inProgress=0.5,requests=60,seed=5";

#[tokio::test]
async fn waiting_access_requests_are_reported_with_their_stage_deadline_and_target() {
    let app = spawn_app_with(
        Options::default()
            .tenant(BOTH_KINDS)
            .env("STALE_AFTER", "90m"),
    )
    .await;
    let (status, answer) = app.timer().await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], false, "{}", report["errors"]);
    let tenant = app.graph.tenant();
    let waiting = app.graph.waiting_callouts();
    assert_eq!(waiting.len(), 30);
    let requests = of_kind(report, "accessRequest");
    assert_eq!(requests.len(), waiting.len());
    assert_eq!(
        reported(report),
        expected(&app),
        "the tasks are all there too"
    );
    assert_eq!(report["count"], expected(&app).len() + waiting.len());

    let mut stale = of_kind(report, "task")
        .iter()
        .filter(|i| i["stale"] == true)
        .count();
    let (mut unknown, mut overdue) = (0, 0);
    for (request_id, callout_id, stage) in &waiting {
        let item = requests
            .iter()
            .find(|i| i["customExtensionStageInstanceId"] == callout_id.as_str())
            .unwrap_or_else(|| panic!("callout {callout_id} not reported"));
        let request = tenant
            .assignment_requests
            .iter()
            .find(|r| &r.id == request_id)
            .unwrap();
        assert_eq!(item["assignmentRequestId"], request_id.as_str());
        assert_eq!(item["stage"], stage.as_str());
        assert_eq!(item["accessPackageId"], request.access_package_id.as_str());
        assert!(item["accessPackageName"]
            .as_str()
            .unwrap()
            .starts_with("Access package"));
        assert_eq!(item["targetId"], request.target.object_id.as_str());
        assert_eq!(item["requestState"], "submitted");
        let created = request.created_date_time.as_deref().unwrap();
        let at = |v: &Value| {
            time::OffsetDateTime::parse(
                v.as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        };
        assert_eq!(
            at(&item["requestCreatedDateTime"]).unix_timestamp(),
            at(&Value::from(created)).unix_timestamp()
        );
        if stage == "assignmentRequestCreated" {
            // The callout began with the request; its extension waits a day (P1D).
            assert_eq!(item["startedDateTime"], item["requestCreatedDateTime"]);
            let waited = (at(&item["deadline"]) - at(&item["startedDateTime"])).whole_seconds();
            assert_eq!(waited, 86_400);
            let is_stale = item["ageSeconds"].as_u64().unwrap() > 90 * 60;
            assert_eq!(item["stale"], is_stale);
            stale += usize::from(is_stale);
        } else {
            // Graph dates nothing after the created stage: no age, no deadline, and whether
            // it is stale is unknown, not false.
            for key in ["startedDateTime", "ageSeconds", "deadline", "stale"] {
                assert!(item[key].is_null(), "{key} in {item}");
            }
            unknown += 1;
            // The later stage's extension waits four hours (PT4H).
            let waited = time::OffsetDateTime::now_utc() - at(&Value::from(created));
            overdue += usize::from(waited.whole_seconds() > 4 * 3600);
        }
    }
    assert_eq!(report["staleCount"], stale);
    assert!(unknown > 0);
    assert_eq!(report["unknownAgeCount"], unknown);
    // Created longer ago than the extension's timeout: waiting past it, however late it began.
    assert_eq!(report["unknownAgeOverdueCount"], overdue);
    let request_lines = log_lines(&answer, "stale: kind=accessRequest assignmentRequestId=").len();
    assert!(
        request_lines > 0 && request_lines < stale,
        "{request_lines}"
    );

    // One page of waiting requests, one of policies: the lower bound for this tenant.
    assert_eq!(app.graph_requests_to("GET", "/assignmentRequests"), 1);
    assert_eq!(app.graph_requests_to("GET", "/assignmentPolicies"), 1);
}

#[tokio::test]
async fn where_graph_refuses_the_status_filter_the_documented_filter_finds_the_same_requests() {
    let mut options = Options::default().tenant(BOTH_KINDS).page_size(7);
    options.settings.request_filters = vec!["state".into(), "createdDateTime".into()];
    let app = spawn_app_with(options).await;
    for _ in 0..2 {
        let (_, answer) = app.timer().await;
        let report = &answer["ReturnValue"];
        assert_eq!(report["partial"], false, "{}", report["errors"]);
        let mut reported: Vec<&str> = of_kind(report, "accessRequest")
            .iter()
            .map(|i| i["customExtensionStageInstanceId"].as_str().unwrap())
            .collect();
        reported.sort();
        let mut waiting: Vec<String> = app
            .graph
            .waiting_callouts()
            .into_iter()
            .map(|(_, callout, _)| callout)
            .collect();
        waiting.sort();
        assert_eq!(reported, waiting);
    }
    let listings: Vec<_> = app
        .graph
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/assignmentRequests"))
        .collect();
    let refused = listings.iter().filter(|r| r.status == 400).count();
    assert_eq!(refused, 1, "asked once, then remembered (for an hour)");
    assert!(listings
        .iter()
        .filter(|r| r.status == 200)
        .all(|r| r.query.contains("createdDateTime")));
}

#[tokio::test]
async fn the_kinds_setting_leaves_a_kind_out_unasked() {
    let app = spawn_app_with(
        Options::default()
            .tenant(BOTH_KINDS)
            .env("LIST_IN_PROGRESS_KINDS", "accessRequest"),
    )
    .await;
    let (_, answer) = app.timer().await;
    let report = &answer["ReturnValue"];
    assert_eq!(report["count"], 30);
    assert!(of_kind(report, "task").is_empty());
    assert_eq!(app.graph_requests_to("GET", "/lifecycleWorkflows"), 0);

    let app = spawn_app_with(
        Options::default()
            .tenant(BOTH_KINDS)
            .env("LIST_IN_PROGRESS_KINDS", "task"),
    )
    .await;
    let (_, answer) = app.timer().await;
    assert!(of_kind(&answer["ReturnValue"], "accessRequest").is_empty());
    assert_eq!(app.graph_requests_to("GET", "/entitlementManagement"), 0);
}

#[tokio::test]
async fn unreadable_policies_leave_the_requests_reported_without_a_stage_and_the_report_partial() {
    let app = spawn_app_with(
        Options::default()
            .tenant(BOTH_KINDS)
            .env("GRAPH_RETRY_BUDGET", "1s"),
    )
    .await;
    app.graph
        .add_fault("503:match=/assignmentPolicies,retry-after=1")
        .unwrap();
    let (_, answer) = app.timer().await;
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], true);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["kind"], "accessRequest");
    assert_eq!(errors[0]["status"], 503);
    assert!(errors[0]["workflowId"].is_null());
    let requests = of_kind(report, "accessRequest");
    assert_eq!(requests.len(), 30);
    assert!(requests
        .iter()
        .all(|i| i["stage"].is_null() && i["deadline"].is_null()));
    assert_eq!(reported(report), expected(&app), "the tasks are untouched");
}

#[tokio::test]
async fn where_graph_refuses_the_filter_and_the_targets_expansion_the_requests_are_listed_without_targets(
) {
    let mut options = Options::default().tenant(BOTH_KINDS);
    options.settings.request_filters = vec!["createdDateTime".into()];
    options.settings.nested_expand = false;
    let app = spawn_app_with(options).await;
    for _ in 0..2 {
        let (_, answer) = app.timer().await;
        let report = &answer["ReturnValue"];
        assert_eq!(report["partial"], false, "{}", report["errors"]);
        let requests = of_kind(report, "accessRequest");
        assert_eq!(requests.len(), 30);
        assert!(requests
            .iter()
            .all(|i| i["targetId"].is_null() && i["stage"].is_string()));
    }
    let refused = app
        .graph
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/assignmentRequests") && r.status == 400)
        .count();
    assert_eq!(
        refused, 2,
        "each refused listing is asked once, then remembered (for an hour)"
    );
}

#[tokio::test]
async fn a_large_stale_backlog_logs_the_oldest_twenty_and_counts_the_rest() {
    let app = spawn_app_with(
        Options::default()
            .tenant("workflows=2,tasks=2,customTasks=2,users=15,inProgress=1,requests=0,seed=8")
            .env("STALE_AFTER", "1s"),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let (_, answer) = app.timer().await;
    let stale_count = answer["ReturnValue"]["staleCount"].as_u64().unwrap() as usize;
    assert!(stale_count > resume_handler::ITEM_LINES, "{stale_count}");
    let logs = log_lines(&answer, "stale: ");
    assert_eq!(logs.len(), resume_handler::ITEM_LINES + 1, "{logs:#?}");
    let more = format!("stale: more={} ", stale_count - resume_handler::ITEM_LINES);
    assert!(logs.last().unwrap().starts_with(&more), "{logs:#?}");
}

#[tokio::test]
async fn concurrent_sweeps_share_one_run_and_a_recent_report_answers_the_next_caller() {
    const TENANT: &str = "workflows=3,tasks=2,customTasks=2,users=4,inProgress=1,requests=0,seed=6";
    // One sweep alone: what it costs Graph.
    let alone = spawn_app_with(Options::default().tenant(TENANT)).await;
    let (_, answer) = alone.timer().await;
    let count = answer["ReturnValue"]["count"].clone();
    let one_sweep = alone.graph_requests();
    assert!(one_sweep > 3);

    // Five InProgress calls and the timer at once, each Graph answer slowed so they overlap.
    let app = spawn_app_with(
        Options::default()
            .tenant(TENANT)
            .env("LIST_IN_PROGRESS_REUSE", "10s"),
    )
    .await;
    app.graph.add_fault("latency:ms=40").unwrap();
    let mut get = http_payload("InProgress", "");
    get["Data"]["req"]["Method"] = "GET".into();
    let calls = (0..5).map(|_| app.invoke("InProgress", &get));
    let (answers, (_, timer)) = tokio::join!(futures::future::join_all(calls), app.timer());
    for (status, answer) in &answers {
        assert_eq!(*status, 200);
        let body = &answer["Outputs"]["res"]["body"];
        assert_eq!(body["count"], count, "{body}");
    }
    assert_eq!(timer["ReturnValue"]["count"], count);
    assert_eq!(app.graph_requests(), one_sweep, "six callers, one sweep");

    // A report a few seconds old answers the next caller without Graph.
    let (_, answer) = app.invoke("InProgress", &get).await;
    assert_eq!(answer["Outputs"]["res"]["body"]["count"], count);
    assert_eq!(app.graph_requests(), one_sweep);
}

#[tokio::test]
async fn a_listing_that_links_on_forever_to_new_pages_stops_at_its_byte_limit() {
    let app = spawn_app_with(Options::default().tenant(BOTH_KINDS)).await;
    // Every page of requests links to a new URL, and each request carries 10 KB more.
    app.graph
        .add_fault("endless:bytes=10000,match=/assignmentRequests")
        .unwrap();
    let (status, answer) = app.timer().await;
    assert_eq!(status, 200);
    let report = &answer["ReturnValue"];
    assert_eq!(report["partial"], true);
    let error = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "accessRequest")
        .unwrap_or_else(|| panic!("{report}"));
    assert!(
        error["message"].as_str().unwrap().contains("16 MiB"),
        "{error}"
    );
    let pages = app.graph_requests_to("GET", "/assignmentRequests");
    assert!(
        pages < 200,
        "stopped by bytes, not by the 1,000-page cap: {pages}"
    );
    assert!(
        !of_kind(report, "task").is_empty(),
        "the tasks are still reported"
    );
}

#[tokio::test]
async fn each_timer_sweep_also_counts_what_slipped_and_logs_a_line_for_each() {
    let app = spawn_app_with(
        Options::default()
            .edit(with_slipped_work)
            .env("SLIPPED_LOOK_BACK", "24h"),
    )
    .await;
    let (status, answer) = app.timer().await;
    assert_eq!(status, 200);
    let summary = log_lines(&answer, "ListInProgress invocationId=")[0];
    assert!(
        summary.contains(" slippedCount=3 slippedPartial=false "),
        "{summary}"
    );
    let calls: u64 = summary
        .split(" slippedGraphCalls=")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(calls > 0, "{summary}");
    // The SPEC's report is unchanged: what slipped is in the logs only.
    assert!(answer["ReturnValue"].get("slippedCount").is_none());

    let slipped = log_lines(&answer, "slipped: ");
    assert_eq!(slipped.len(), 3, "{slipped:#?}");
    assert!(
        slipped[0].starts_with("slipped: kind=task reason=taskFailed workflowId="),
        "{slipped:#?}"
    );
    assert!(slipped[0].contains(" taskProcessingResultId=failed-today "));
    assert!(slipped[1].starts_with("slipped: kind=accessRequest reason=callbackTimedOut "));
    assert!(slipped[1].contains(" externalCorrelationId=08584-run-timed-out-today "));
    assert!(slipped[2].contains(" customExtensionStageInstanceId=failed-in-progress "));
    assert!(slipped[2].ends_with(" at=-"), "undated: {}", slipped[2]);

    // The HTTP InProgress answers what waits only.
    let mut payload = http_payload("InProgress", "");
    payload["Data"]["req"]["Method"] = "GET".into();
    let (_, answer) = app.invoke("InProgress", &payload).await;
    let summary = log_lines(&answer, "InProgress invocationId=")[0];
    assert!(!summary.contains("slipped"), "{summary}");
    assert!(log_lines(&answer, "slipped: ").is_empty());
}

#[tokio::test]
async fn with_no_look_back_the_timer_asks_graph_nothing_more() {
    let requests = |look_back: &'static str| async move {
        let app = spawn_app_with(
            Options::default()
                .edit(with_slipped_work)
                .env("SLIPPED_LOOK_BACK", look_back),
        )
        .await;
        let (_, answer) = app.timer().await;
        let summary = log_lines(&answer, "ListInProgress invocationId=")[0].to_string();
        (app.graph_requests(), summary)
    };
    let (off, summary) = requests("0s").await;
    assert!(!summary.contains("slipped"), "{summary}");
    let (on, summary) = requests("1h").await;
    // An hour back: only the callout whose request has not ended.
    assert!(summary.contains(" slippedCount=1 "), "{summary}");
    assert!(on > off, "{on} > {off}");
}

#[tokio::test]
async fn the_look_back_for_what_slipped_remembers_the_refusals_the_sweep_met() {
    let mut options = Options::default()
        .tenant(BOTH_KINDS)
        .env("SLIPPED_LOOK_BACK", "1h");
    options.settings.nested_expand = false;
    let app = spawn_app_with(options).await;
    for _ in 0..3 {
        let (_, answer) = app.timer().await;
        let summary = log_lines(&answer, "ListInProgress invocationId=")[0];
        assert!(summary.contains(" slippedPartial=false "), "{summary}");
    }
    let refused = app
        .graph
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/assignmentRequests") && r.status == 400)
        .count();
    // The first sweep of what waits meets both refusals (its status listing expands the
    // targets too); every look-back starts from what the app remembers and meets none.
    // Asked afresh, each of the three look-backs would add one.
    assert_eq!(refused, 2);
}

#[tokio::test]
async fn the_look_back_takes_the_custom_tasks_its_sweep_just_listed() {
    let app = spawn_app_with(
        Options::default()
            .edit(with_slipped_work)
            .env("SLIPPED_LOOK_BACK", "24h"),
    )
    .await;
    let (_, answer) = app.timer().await;
    let summary = log_lines(&answer, "ListInProgress invocationId=")[0];
    assert!(summary.contains(" slippedCount=3 "), "{summary}");
    let workflows = app.graph.tenant().workflows.len();
    let listed = |suffix: &str| {
        app.graph
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(suffix))
            .count()
    };
    assert_eq!(listed("/lifecycleWorkflows/workflows"), 1);
    assert_eq!(listed("/tasks"), workflows);
}
