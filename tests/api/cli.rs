//! The operator commands, run as a person runs them: the binary with arguments, against the
//! emulator, answering on stdout and stderr with an exit code.
use crate::helpers::{
    run_cli as run, run_cli_answering as run_answering, with_slipped_work, SMALL_TENANT,
};
use graph_emulator::{Emulator, GenerateSpec, Running, Settings};
use serde_json::Value;

async fn emulator() -> Running {
    let spec: GenerateSpec = SMALL_TENANT.parse().unwrap();
    Emulator::start(graph_emulator::generate(&spec), Settings::default(), 0)
        .await
        .unwrap()
}

fn task_args<'a>(ids: &'a (String, String, String), status: &'a str) -> Vec<&'a str> {
    vec![
        "resume",
        "task",
        "--workflow-id",
        &ids.0,
        "--task-id",
        &ids.1,
        "--task-processing-result-id",
        &ids.2,
        "--status",
        status,
    ]
}

#[tokio::test]
async fn a_task_is_resumed_from_a_terminal_and_a_second_run_says_it_already_was() {
    let graph = emulator().await;
    let ids = graph.task_results_with_status("inProgress").remove(0);
    let (code, stdout, stderr) = run(&graph, &task_args(&ids, "completed")).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("resumed (Graph request id "), "{stdout}");
    let (code, stdout, _) = run(&graph, &task_args(&ids, "completed")).await;
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("alreadyResumed"), "{stdout}");
    assert_eq!(graph.stats().resumes_applied, 1);
    assert_eq!(
        graph
            .task_processing_result(&ids.2)
            .unwrap()
            .processing_status,
        "completed"
    );
}

#[tokio::test]
async fn a_task_that_ended_otherwise_exits_1_and_says_why() {
    let graph = emulator().await;
    let ids = graph.task_results_with_status("inProgress").remove(0);
    run(&graph, &task_args(&ids, "completed")).await;
    let (code, stdout, stderr) = run(&graph, &task_args(&ids, "failed")).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stderr.contains("[conflict]") && stderr.contains("'completed'"),
        "{stderr}"
    );
    assert!(stderr.contains("no longer waiting"), "{stderr}");
}

#[tokio::test]
async fn a_bad_id_names_its_flag_and_nothing_is_sent() {
    let graph = emulator().await;
    let ids = ("wf/../x".to_string(), "t".to_string(), "r".to_string());
    let (code, _, stderr) = run(&graph, &task_args(&ids, "completed")).await;
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with("error: --workflow-id contains '/'"),
        "{stderr}"
    );
    assert!(stderr.contains("resume-handler resume --help"));
    assert_eq!(graph.stats().graph_requests, 0);
    assert_eq!(graph.stats().token_requests, 0);
}

#[tokio::test]
async fn an_access_request_is_resumed_with_json_output_for_scripts() {
    let graph = emulator().await;
    let tenant = graph.tenant();
    let request = tenant
        .assignment_requests
        .iter()
        .find(|r| r.status == "WaitingForCallback")
        .unwrap();
    let instance = &request.custom_extension_callout_instances[0];
    let (code, stdout, stderr) = run(
        &graph,
        &[
            "resume",
            "access-request",
            "--assignment-request-id",
            &request.id,
            "--stage",
            &instance.stage,
            "--custom-extension-stage-instance-id",
            &instance.id,
            "--json",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    let answer: Value = serde_json::from_str(&stdout).expect("stdout is JSON alone");
    assert_eq!(answer["outcome"], "resumed");
    assert!(answer["graphRequestId"].is_string());
}

#[tokio::test]
async fn help_teaches_the_commands_and_a_mistake_in_them_exits_2() {
    let graph = emulator().await;
    let (code, stdout, _) = run(&graph, &["--help"]).await;
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("resume") && stdout.contains("az login"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&graph, &["resume", "access-request", "--help"]).await;
    assert_eq!(code, Some(0));
    assert!(stdout.contains("--custom-extension-stage-instance-id"));
    let (code, _, stderr) = run(&graph, &["resume", "task", "--status", "maybe"]).await;
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("possible values: completed, failed"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_report_piped_is_the_in_progress_json_and_filters_keep_what_they_say() {
    let graph = emulator().await;
    let tasks = graph.task_results_with_status("inProgress").len();
    let requests = graph.waiting_callouts().len();
    assert!(tasks > 0 && requests > 0);
    let waiting = tasks + requests;
    let (code, stdout, stderr) = run(&graph, &["report"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("piped: JSON");
    assert_eq!(report["count"], waiting);
    assert_eq!(report["partial"], false);
    assert!(stderr.contains(&format!("{waiting} waiting")), "{stderr}");

    let (_, stdout, _) = run(&graph, &["report", "--older-than", "1000d"]).await;
    let none: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(none["count"], 0);
    assert_eq!(none["items"], serde_json::json!([]));

    let (_, stdout, _) = run(&graph, &["report", "--stale", "--json"]).await;
    let stale: Value = serde_json::from_str(&stdout).unwrap();
    let items = stale["items"].as_array().unwrap();
    assert!(items.iter().all(|i| i["stale"] == true));
    assert_eq!(stale["count"], items.len());
    assert_eq!(stale["count"], report["staleCount"]);

    // Both spellings on input, one on output.
    for (kind, name, count) in [
        ("task", "task", tasks),
        ("access-request", "accessRequest", requests),
        ("accessRequest", "accessRequest", requests),
    ] {
        let (_, stdout, _) = run(&graph, &["report", "--kind", kind]).await;
        let only: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(only["count"], count, "{kind}");
        assert!(only["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["kind"] == name));
    }
}

#[tokio::test]
async fn a_report_whose_sweep_partly_failed_exits_1_and_names_the_failure() {
    let graph = emulator().await;
    let failing = graph.tenant().workflows[0].id.clone();
    graph
        .add_fault(&format!("404:match=/workflows/{failing}/"))
        .unwrap();
    let (code, stdout, stderr) = run(&graph, &["report"]).await;
    assert_eq!(code, Some(1));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["partial"], true);
    assert!(
        stderr.contains(&format!("{failing}: 404 ResourceNotFound")),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_dry_run_lists_what_it_would_resume_and_resumes_nothing() {
    let graph = emulator().await;
    let waiting = graph.task_results_with_status("inProgress").len();
    let args = ["resume", "--from-report", "--status", "failed", "--dry-run"];
    let (code, stdout, stderr) = run(&graph, &args).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "dry run: would resume {waiting} task processing results as failed"
        )),
        "{stdout}"
    );
    assert_eq!(graph.stats().resumes_applied, 0);
}

#[tokio::test]
async fn a_bulk_resume_asks_first_and_a_no_resumes_nothing() {
    let graph = emulator().await;
    let args = ["resume", "--from-report", "--status", "failed"];
    let (code, _, stderr) = run_answering(&graph, &args, "n\n").await;
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("? [y/N]") && stderr.contains("nothing was resumed"),
        "{stderr}"
    );
    assert_eq!(graph.stats().resumes_applied, 0);
}

#[tokio::test]
async fn a_bulk_resume_resumes_every_listed_item_once_and_a_second_run_finds_nothing() {
    let graph = emulator().await;
    let waiting =
        graph.task_results_with_status("inProgress").len() + graph.waiting_callouts().len();
    let args = ["resume", "--from-report", "--status", "completed"];
    let (code, stdout, stderr) = run_answering(&graph, &args, "y\n").await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains(&format!("{waiting} resumed, 0 already resumed, 0 failed")),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("resumed ")).count(),
        waiting
    );
    assert_eq!(graph.stats().resumes_applied as usize, waiting);
    assert!(graph.task_results_with_status("inProgress").is_empty());
    assert!(graph.waiting_callouts().is_empty());
    // Completed: the requests continue rather than being denied.
    assert!(graph
        .tenant()
        .assignment_requests
        .iter()
        .all(|r| r.status != "Denied"));

    let (code, stdout, _) = run(
        &graph,
        &["resume", "--from-report", "--status", "completed", "--yes"],
    )
    .await;
    assert_eq!(code, Some(0));
    assert!(stdout.contains("nothing to resume"), "{stdout}");
}

#[tokio::test]
async fn a_bulk_resume_with_failures_says_which_and_exits_1() {
    let graph = emulator().await;
    let waiting = graph.task_results_with_status("inProgress");
    let requests = graph.waiting_callouts().len();
    let failing = &waiting[0].2;
    graph
        .add_fault(&format!(
            "403:match=/taskProcessingResults/{failing}/resume"
        ))
        .unwrap();
    let args = ["resume", "--from-report", "--status", "failed", "--yes"];
    let (code, stdout, _) = run(&graph, &args).await;
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains(&format!(
            "{} resumed, 0 already resumed, 1 failed",
            waiting.len() + requests - 1
        )),
        "{stdout}"
    );
    // Failed: the requests are denied.
    let denied = graph
        .tenant()
        .assignment_requests
        .iter()
        .filter(|r| r.status == "Denied")
        .count();
    assert_eq!(denied, requests);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("forbidden") && l.contains(failing.as_str())),
        "{stdout}"
    );
}

#[tokio::test]
async fn resume_without_a_kind_or_a_report_says_what_it_needs() {
    let graph = emulator().await;
    let (code, _, stderr) = run(&graph, &["resume"]).await;
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--from-report"), "{stderr}");
    let (code, _, stderr) = run(&graph, &["resume", "--from-report"]).await;
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--status"), "{stderr}");
}

#[tokio::test]
async fn a_bulk_resume_of_requests_whose_stage_is_unknown_resumes_none_and_says_how() {
    let graph = emulator().await;
    let requests = graph.waiting_callouts().len();
    let tasks = graph.task_results_with_status("inProgress").len();
    graph.add_fault("404:match=/assignmentPolicies").unwrap();
    let args = [
        "resume",
        "--from-report",
        "--kind",
        "access-request",
        "--status",
        "completed",
        "--yes",
    ];
    let (code, stdout, stderr) = run(&graph, &args).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stdout.contains(&format!("0 resumed, 0 already resumed, {requests} failed")),
        "{stdout}"
    );
    assert!(
        stdout.contains("resume-handler resume access-request --stage"),
        "{stdout}"
    );
    assert!(stderr.contains("access package requests: 404"), "{stderr}");
    assert_eq!(graph.stats().resumes_applied, 0);
    assert_eq!(
        graph.task_results_with_status("inProgress").len(),
        tasks,
        "--kind access-request leaves the tasks alone"
    );
    assert_eq!(
        graph
            .requests()
            .iter()
            .filter(|r| r.path.contains("/lifecycleWorkflows"))
            .count(),
        0,
        "and does not sweep them"
    );
}

const APP: &str = "8f7c1a2b-0000-4000-8000-000000000001";
const OTHER_APP: &str = "8f7c1a2b-0000-4000-8000-000000000002";

fn authorized_apps(graph: &Running, extension: &str) -> Vec<String> {
    graph
        .tenant()
        .custom_task_extensions
        .iter()
        .find(|e| e.id == extension)
        .unwrap()
        .authorized_apps
        .clone()
}

fn patches(graph: &Running) -> usize {
    graph
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count()
}

#[tokio::test]
async fn extension_show_prints_the_callback_settings_for_a_person_and_for_a_script() {
    let graph = emulator().await;
    let extension = graph.tenant().custom_task_extensions[0].clone();
    let (code, stdout, stderr) = run(
        &graph,
        &["extension", "show", "--task-extension", &extension.id],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains(&extension.id), "{stdout}");
    assert!(
        stdout.contains(&format!("callback timeout: {}", extension.timeout_duration)),
        "{stdout}"
    );
    assert!(stdout.contains("authorized apps:  none"), "{stdout}");

    let args = [
        "extension",
        "show",
        "--task-extension",
        &extension.id,
        "--json",
    ];
    let (_, stdout, _) = run(&graph, &args).await;
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        shown["callbackTimeout"],
        extension.timeout_duration.as_str()
    );
    assert_eq!(shown["authorizedApps"], serde_json::json!([]));
    assert_eq!(shown["logicApp"]["name"], "ManagerAccess");

    let (code, _, stderr) = run(
        &graph,
        &["extension", "show", "--task-extension", "no-such"],
    )
    .await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("check the id"), "{stderr}");
}

#[tokio::test]
async fn extension_grant_adds_the_app_keeps_the_others_and_says_when_nothing_changed() {
    let graph = emulator().await;
    let extension = graph.tenant().custom_task_extensions[0].id.clone();
    let grant = |app: &'static str| {
        vec![
            "extension".to_string(),
            "grant".into(),
            "--task-extension".into(),
            extension.clone(),
            "--app".into(),
            app.into(),
        ]
    };
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    let mut dry = grant(APP);
    dry.push("--dry-run".into());
    let (code, stdout, stderr) = run(&graph, &args(&dry)).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("dry run: would PATCH"), "{stdout}");
    assert!(stdout.contains(APP) && stdout.contains("customTaskExtensionCallbackConfiguration"));
    assert_eq!(patches(&graph), 0, "a dry run changes nothing");

    let (code, stdout, stderr) = run(&graph, &args(&grant(APP))).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with(&format!("granted: {APP}")), "{stdout}");
    assert_eq!(authorized_apps(&graph, &extension), [APP]);

    let (code, stdout, _) = run(&graph, &args(&grant(APP))).await;
    assert_eq!(code, Some(0));
    assert!(stdout.contains("already an authorized app"), "{stdout}");
    assert_eq!(patches(&graph), 1, "nothing to change, nothing sent");

    let (code, _, _) = run(&graph, &args(&grant(OTHER_APP))).await;
    assert_eq!(code, Some(0));
    assert_eq!(authorized_apps(&graph, &extension), [APP, OTHER_APP]);
    let timeout = &graph.tenant().custom_task_extensions[0].timeout_duration;
    let (_, stdout, _) = run(
        &graph,
        &[
            "extension",
            "show",
            "--task-extension",
            &extension,
            "--json",
        ],
    )
    .await;
    let shown: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(shown["authorizedApps"], serde_json::json!([APP, OTHER_APP]));
    assert_eq!(
        shown["callbackTimeout"],
        timeout.as_str(),
        "the timeout is kept"
    );
}

#[tokio::test]
async fn extension_grant_refuses_a_name_for_an_app_and_explains_a_refusal_from_graph() {
    let graph = emulator().await;
    let extension = graph.tenant().custom_task_extensions[0].id.clone();
    let args = [
        "extension",
        "grant",
        "--task-extension",
        &extension,
        "--app",
        "func-resume-handler",
    ];
    let (code, _, stderr) = run(&graph, &args).await;
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("--app is 'func-resume-handler'"),
        "{stderr}"
    );
    assert!(graph.requests().is_empty(), "refused before Graph");

    graph.add_fault("403:method=PATCH").unwrap();
    let args = [
        "extension",
        "grant",
        "--task-extension",
        &extension,
        "--app",
        APP,
    ];
    let (code, _, stderr) = run(&graph, &args).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("Logic App Contributor"), "{stderr}");
    assert!(authorized_apps(&graph, &extension).is_empty());
}

#[tokio::test]
async fn a_grant_that_graph_accepts_but_does_not_show_is_not_reported_as_done() {
    let graph = emulator().await;
    let extension = graph.tenant().custom_task_extensions[0].id.clone();
    // Graph answers 204 and changes nothing (another wire form than the one it expects).
    graph.add_fault("ignore:method=PATCH").unwrap();
    let args = [
        "extension",
        "grant",
        "--task-extension",
        &extension,
        "--app",
        APP,
    ];
    let (code, stdout, stderr) = run(&graph, &args).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stderr.contains("is not among the extension's authorized apps when read back"),
        "{stderr}"
    );
}

/// `resume-handler <args>` signing in with the Azure CLI, where `az` is a stand-in that says
/// what the real one says when nobody has run `az login`.
async fn run_not_signed_in(graph: &Running, args: &[&str]) -> (Option<i32>, String, String) {
    let bin = std::env::temp_dir().join(format!("resume-handler-no-login-{}", std::process::id()));
    std::fs::create_dir_all(&bin).unwrap();
    let az = bin.join("az");
    std::fs::write(
        &az,
        "#!/bin/sh\necho \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n",
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&az).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&az, permissions).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_resume-handler"))
        .args(args)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("GRAPH_BASE_URL", graph.url())
        .env("GRAPH_RETRY_BUDGET", "30s")
        .output()
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn without_a_sign_in_a_command_says_how_to_sign_in_and_exits_2_without_retrying() {
    let graph = emulator().await;
    let ids = graph.task_results_with_status("inProgress")[0].clone();
    let (code, _, stderr) = run_not_signed_in(&graph, &task_args(&ids, "completed")).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("[signInFailed]"), "{stderr}");
    assert!(
        stderr.contains("az login") && stderr.contains("IDENTITY_ENDPOINT"),
        "{stderr}"
    );
    assert!(!stderr.contains("retry budget"), "not an outage: {stderr}");

    let (code, _, stderr) = run_not_signed_in(&graph, &["report"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("signInFailed") && stderr.contains("az login"),
        "{stderr}"
    );
    assert_eq!(graph.stats().graph_requests, 0);
}

#[tokio::test]
async fn extension_list_shows_every_extension_and_whether_an_app_may_resume_its_tasks() {
    let graph = emulator().await;
    let extensions = graph.tenant().custom_task_extensions.clone();
    assert!(extensions.len() > 1);
    let (first, second) = (&extensions[0].id, &extensions[1].id);
    let grant = [
        "extension",
        "grant",
        "--task-extension",
        first,
        "--app",
        APP,
    ];
    assert_eq!(run(&graph, &grant).await.0, Some(0));

    let (code, stdout, stderr) = run(&graph, &["extension", "list"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    for extension in &extensions {
        assert!(stdout.contains(&extension.id), "{stdout}");
    }
    assert!(stdout.contains(&format!("{} custom task extensions", extensions.len())));
    let row = stdout.lines().find(|l| l.contains(first.as_str())).unwrap();
    assert!(row.contains(APP) && row.contains("ManagerAccess"), "{row}");

    let (code, stdout, _) = run(&graph, &["extension", "list", "--app", APP, "--json"]).await;
    assert_eq!(code, Some(0));
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    let authorized = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .unwrap()["appAuthorized"]
            .clone()
    };
    assert_eq!(authorized(first), true);
    assert_eq!(authorized(second), false);
    // The list itself cannot expand authorizedApps: each extension is read once more.
    assert_eq!(
        graph
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.ends_with("/customTaskExtensions"))
            .count(),
        2
    );
}

/// The small tenant, with work that slipped inside a day and some that slipped before.
fn tenant_with_slipped_work() -> graph_emulator::Tenant {
    let spec: GenerateSpec = SMALL_TENANT.parse().unwrap();
    let mut tenant = graph_emulator::generate(&spec);
    with_slipped_work(&mut tenant);
    tenant
}

#[tokio::test]
async fn report_since_lists_what_slipped_in_the_window_with_why_and_the_logic_app_run() {
    let graph = Emulator::start(tenant_with_slipped_work(), Settings::default(), 0)
        .await
        .unwrap();
    let (code, stdout, stderr) = run(&graph, &["report", "--since", "24h"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    let slipped: Value = serde_json::from_str(&stdout).expect("piped: JSON");
    let ids: Vec<&str> = slipped["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i["taskProcessingResultId"]
                .as_str()
                .or(i["customExtensionStageInstanceId"].as_str())
                .unwrap()
        })
        .collect();
    // Oldest first; the callout whose request has not ended is undated, so last.
    assert_eq!(
        ids,
        ["failed-today", "timed-out-today", "failed-in-progress"],
        "{stdout}"
    );
    assert_eq!(slipped["count"], 3);
    let items = &slipped["items"];
    assert_eq!(items[0]["kind"], "task");
    assert_eq!(items[0]["slipped"], "taskFailed");
    assert!(items[0]["failureReason"]
        .as_str()
        .unwrap()
        .contains("timed out"));
    assert_eq!(items[1]["kind"], "accessRequest");
    assert_eq!(items[1]["slipped"], "callbackTimedOut");
    assert_eq!(
        items[1]["externalCorrelationId"],
        "08584-run-timed-out-today"
    );
    assert_eq!(items[2]["slipped"], "calloutFailed");
    assert!(stderr.contains("3 slipped since"), "{stderr}");

    let (_, stdout, _) = run(&graph, &["report", "--since", "30d", "--kind", "task"]).await;
    let tasks: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(tasks["count"], 2, "{tasks}");

    let (code, _, stderr) = run(&graph, &["report", "--since", "24h", "--stale"]).await;
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--stale"), "{stderr}");
}
