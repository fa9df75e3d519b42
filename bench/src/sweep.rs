//! `bench sweep`: ListInProgress on the largest tenant Graph allows, against the lower
//! bound its call graph allows, against a naive sequential sweep, and under a rate limit;
//! then the same tenant with access package requests waiting too, both ways Graph may
//! answer the request listing's filter; then what the timer's look-back for what slipped
//! adds.
use crate::common::*;
use anyhow::{ensure, Result};
use graph_emulator::{Emulator, GenerateSpec, Settings, Tenant};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

const FULL: &str = "workflows=100,tasks=25,customTasks=5,users=100,inProgress=0.2,requests=0";
const SMOKE: &str = "workflows=4,tasks=5,customTasks=2,users=10,inProgress=0.3,requests=0";
const CONCURRENCY: usize = 8;
/// Access package assignment requests added for the both-kinds rows (half of them wait).
const REQUESTS_FULL: usize = 2_000;
const REQUESTS_SMOKE: usize = 40;

pub async fn run(smoke: bool) -> Result<()> {
    let spec: GenerateSpec = if smoke { SMOKE } else { FULL }
        .parse()
        .map_err(anyhow::Error::msg)?;
    let latency_ms = if smoke { 5 } else { 50 };
    let binary = build_release_handler()?;
    let tenant = graph_emulator::generate(&spec);
    println!("# ListInProgress sweep");
    println!("tenant: {}; page size 100; {latency_ms} ms added latency per Graph request; GRAPH_MAX_CONCURRENCY={CONCURRENCY}\n", if smoke { SMOKE } else { FULL });

    // 1. The handler's sweep, and the floor its call graph allows.
    let settings = Settings {
        page_size: 100,
        latency_ms,
        ..Settings::default()
    };
    let sweep = handler_sweep(&binary, tenant.clone(), settings.clone(), TASKS_ONLY).await?;
    let floor_calls =
        1 + spec.workflows + spec.workflows * spec.custom_tasks + extensions_waiting(&tenant);
    let floor = Duration::from_millis(latency_ms)
        * (1 + (floor_calls as u32 - 1).div_ceil(CONCURRENCY as u32));
    println!("| run | wall time | Graph calls | found | lost | ratio |");
    println!("|---|---|---|---|---|---|");
    println!("| lower bound ({floor_calls} calls, {CONCURRENCY} at a time) | {} | {floor_calls} | | | 1.00× |", ms(floor));
    println!(
        "| resume-handler sweep | {} | {} | {} | {} | {:.2}× the bound |",
        ms(sweep.wall),
        sweep.graph_calls,
        sweep.found,
        sweep.expected - sweep.found,
        sweep.wall.as_secs_f64() / floor.as_secs_f64()
    );

    // 2. What runbooks and SDK samples do: every workflow, every user, every task list, in sequence.
    let subset = if smoke { spec.workflows } else { 5 };
    let naive = naive_sweep(tenant.clone(), settings.clone(), subset).await?;
    let per_workflow = naive.wall.as_secs_f64() / subset as f64;
    let projected = Duration::from_secs_f64(per_workflow * spec.workflows as f64);
    let naive_calls = naive.calls / subset as u64 * spec.workflows as u64 + 1;
    println!(
        "| naive sequential sweep, measured on {subset} workflows | {} | {} | {} | | |",
        ms(naive.wall),
        naive.calls,
        naive.found
    );
    println!(
        "| naive sequential sweep, all {} workflows (projected from the measured rate) | {} | {naive_calls} | | | {:.1}× slower than resume-handler |",
        spec.workflows,
        ms(projected),
        projected.as_secs_f64() / sweep.wall.as_secs_f64()
    );

    // 3. Under a rate limit of 50 requests per second.
    let limit = 50u32;
    let limited = Settings {
        rate_limit: Some(limit),
        ..settings.clone()
    };
    let throttled = handler_sweep(&binary, tenant.clone(), limited, TASKS_ONLY).await?;
    let achieved = throttled.successful as f64 / throttled.wall.as_secs_f64();
    println!(
        "| resume-handler sweep, emulator limited to {limit} req/s | {} | {} ({} answered 429) | {} | {} | {:.0}% of the limit achieved; at most {} retries of any one request |",
        ms(throttled.wall),
        throttled.graph_calls,
        throttled.throttled,
        throttled.found,
        throttled.expected - throttled.found,
        100.0 * achieved / f64::from(limit),
        throttled.max_retries
    );
    ensure!(
        sweep.found == sweep.expected && throttled.found == throttled.expected,
        "the sweep lost results"
    );

    // 4. Both kinds: the same tenant with access package requests, half of them waiting.
    let requests = if smoke { REQUESTS_SMOKE } else { REQUESTS_FULL };
    let both = GenerateSpec {
        requests,
        ..spec.clone()
    };
    let both_tenant = graph_emulator::generate(&both);
    let waiting = both_tenant
        .assignment_requests
        .iter()
        .filter(|r| r.status == "WaitingForCallback")
        .count();
    let pages = |n: usize| n.div_ceil(settings.page_size).max(1);
    // The access requests are swept beside the tasks: their pages (waiting requests, then
    // policies) follow one another while the tasks' stages run.
    let em_calls = pages(waiting) + pages(both_tenant.assignment_policies.len());
    let both_floor_calls = floor_calls + em_calls;
    let both_floor = floor.max(Duration::from_millis(latency_ms) * em_calls as u32);
    println!("\n{requests} access package requests added, {waiting} of them waiting, over {} access packages:\n", both_tenant.access_packages.len());
    println!("| run | wall time | Graph calls | found | lost | ratio |");
    println!("|---|---|---|---|---|---|");
    println!("| lower bound ({both_floor_calls} calls: the tasks' {floor_calls}, then {em_calls} for the requests beside them) | {} | {both_floor_calls} | | | 1.00× |", ms(both_floor));
    let against_bound = |label: &str, run: &SweepRun| {
        println!(
            "| {label} | {} | {} | {} | {} | {:.2}× the bound, {:+} calls |",
            ms(run.wall),
            run.graph_calls,
            run.found,
            run.expected - run.found,
            run.wall.as_secs_f64() / both_floor.as_secs_f64(),
            run.graph_calls as i64 - both_floor_calls as i64
        )
    };
    let run = handler_sweep(&binary, both_tenant.clone(), settings.clone(), BOTH_KINDS).await?;
    against_bound("resume-handler sweep, both kinds", &run);
    let documented_only = Settings {
        request_filters: vec![
            "state".into(),
            "createdDateTime".into(),
            "accessPackage/id".into(),
        ],
        ..settings.clone()
    };
    let fallback = handler_sweep(&binary, both_tenant.clone(), documented_only, BOTH_KINDS).await?;
    against_bound(
        &format!(
            "resume-handler sweep, both kinds, Graph refusing the status filter (then every request of the last 90 days: {} pages of 100)",
            pages(requests)
        ),
        &fallback,
    );
    ensure!(
        run.found == run.expected && fallback.found == fallback.expected,
        "the sweep lost waiting work"
    );

    // 5. What the timer's look-back for what slipped adds (SLIPPED_LOOK_BACK, 1h by default),
    // after the sweep of what waits: the tasks' stages again for failed results, and the
    // requests of the last 90 days.
    let slipped = handler_sweep(
        &binary,
        both_tenant.clone(),
        settings.clone(),
        BOTH_KINDS_AND_SLIPPED,
    )
    .await?;
    println!("
The timer as deployed also looks back SLIPPED_LOOK_BACK for what slipped, after the sweep of what waits:
");
    println!("| run | wall time | Graph calls | against the sweep of what waits |");
    println!("|---|---|---|---|");
    println!(
        "| resume-handler sweep, both kinds, what waits only (SLIPPED_LOOK_BACK=0s) | {} | {} | 1.00× |",
        ms(run.wall),
        run.graph_calls
    );
    println!(
        "| resume-handler sweep, both kinds, and what slipped in the last hour (the default) | {} | {} | {:.2}× the wall time, {:+} calls |",
        ms(slipped.wall),
        slipped.graph_calls,
        slipped.wall.as_secs_f64() / run.wall.as_secs_f64(),
        slipped.graph_calls as i64 - run.graph_calls as i64
    );
    ensure!(
        slipped.found == slipped.expected,
        "the sweep lost waiting work"
    );
    Ok(())
}

fn extensions_waiting(tenant: &Tenant) -> usize {
    let mut extensions = BTreeSet::new();
    for workflow in &tenant.workflows {
        for upr in &workflow.user_processing_results {
            for result in upr
                .task_processing_results
                .iter()
                .filter(|r| r.processing_status == "inProgress")
            {
                let task = workflow
                    .tasks
                    .iter()
                    .find(|t| t.id == result.task_id)
                    .expect("task");
                extensions.extend(task.arguments.iter().map(|a| a.value.clone()));
            }
        }
    }
    extensions.len()
}

struct SweepRun {
    wall: Duration,
    graph_calls: u64,
    successful: u64,
    throttled: u64,
    expected: usize,
    found: usize,
    max_retries: usize,
}

/// The tasks only, as the rows that compare with a sweep of tasks; what waits only, as the
/// bound counts it.
const TASKS_ONLY: &[(&str, &str)] = &[
    ("LIST_IN_PROGRESS_KINDS", "task"),
    ("SLIPPED_LOOK_BACK", "0s"),
];
const BOTH_KINDS: &[(&str, &str)] = &[("SLIPPED_LOOK_BACK", "0s")];
/// As a deployment runs it: the timer also looks an hour back for what slipped.
const BOTH_KINDS_AND_SLIPPED: &[(&str, &str)] = &[("SLIPPED_LOOK_BACK", "1h")];

async fn handler_sweep(
    binary: &Path,
    tenant: Tenant,
    settings: Settings,
    env: &[(&str, &str)],
) -> Result<SweepRun> {
    let graph = Emulator::start(tenant, settings, 0).await?;
    // A task by its result's id, an access request by its waiting callout's.
    let expected: BTreeSet<String> = graph
        .task_results_with_status("inProgress")
        .into_iter()
        .map(|(_, _, r)| r)
        .chain(graph.waiting_callouts().into_iter().map(|(_, c, _)| c))
        .collect();
    let concurrency = CONCURRENCY.to_string();
    let mut all_env = vec![
        ("GRAPH_MAX_CONCURRENCY", concurrency.as_str()),
        ("GRAPH_RETRY_BUDGET", "120s"),
    ];
    all_env.extend_from_slice(env);
    let (handler, _) = Handler::start(binary, &graph, &all_env).await?;
    let started = Instant::now();
    let (status, answer) = handler.invoke("ListInProgress", &timer_payload()).await?;
    let wall = started.elapsed();
    ensure!(status == 200, "ListInProgress answered {status}: {answer}");
    let report = &answer["ReturnValue"];
    // An answer lists at most the 5,000 oldest items (README, *Limits*); the report's count
    // still covers every one, and that alone is the truncation's error.
    let truncated = report["errors"]
        .as_array()
        .is_some_and(|e| e.len() == 1 && e[0]["code"] == "answerTooLarge");
    ensure!(
        report["partial"] == false || truncated,
        "partial report: {}",
        report["errors"]
    );
    let items: Vec<&str> = report["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| {
            i["taskProcessingResultId"]
                .as_str()
                .or(i["customExtensionStageInstanceId"].as_str())
        })
        .collect();
    let unique: BTreeSet<String> = items.iter().map(|s| s.to_string()).collect();
    ensure!(unique.len() == items.len(), "a result was reported twice");
    ensure!(
        unique.is_subset(&expected),
        "work that is not waiting was reported"
    );
    let found = match truncated {
        true => report["count"].as_u64().unwrap_or(0) as usize,
        false => unique.len(),
    };
    let log = graph.requests();
    let mut throttled_per_url: BTreeMap<String, usize> = BTreeMap::new();
    for request in log.iter().filter(|r| r.status == 429) {
        *throttled_per_url
            .entry(format!("{}?{}", request.path, request.query))
            .or_default() += 1;
    }
    let stats = graph.stats();
    Ok(SweepRun {
        wall,
        graph_calls: stats.graph_requests,
        successful: log.iter().filter(|r| r.status == 200).count() as u64,
        throttled: stats.throttled,
        expected: expected.len(),
        found,
        max_retries: throttled_per_url.values().copied().max().unwrap_or(0),
    })
}

struct NaiveRun {
    wall: Duration,
    calls: u64,
    found: usize,
}

/// The sweep as runbooks write it: for each workflow, list its tasks and its user
/// processing results, then each user's task processing results, one request at a time,
/// and filter on the client.
async fn naive_sweep(tenant: Tenant, settings: Settings, workflows: usize) -> Result<NaiveRun> {
    let graph = Emulator::start(tenant, settings, 0).await?;
    let http = client();
    let token = emulator_token(&graph).await?;
    let list = |url: String| {
        let http = http.clone();
        let token = token.clone();
        async move {
            let mut items = Vec::new();
            let mut next = Some(url);
            while let Some(url) = next.take() {
                let page: Value = http
                    .get(&url)
                    .bearer_auth(&token)
                    .send()
                    .await?
                    .json()
                    .await?;
                items.extend(page["value"].as_array().cloned().unwrap_or_default());
                next = page["@odata.nextLink"].as_str().map(str::to_string);
            }
            anyhow::Ok(items)
        }
    };
    let root = format!(
        "{}/v1.0/identityGovernance/lifecycleWorkflows/workflows",
        graph.url()
    );
    let before = graph.stats().graph_requests;
    let started = Instant::now();
    let mut found = 0;
    for workflow in list(root.clone()).await?.iter().take(workflows) {
        let w = workflow["id"].as_str().unwrap_or_default();
        let tasks = list(format!("{root}/{w}/tasks")).await?;
        let custom: BTreeSet<&str> = tasks
            .iter()
            .filter(|t| t["taskDefinitionId"] == "4262b724-8dba-4fad-afc3-43fcbb497a0e")
            .filter_map(|t| t["id"].as_str())
            .collect();
        for user in list(format!("{root}/{w}/userProcessingResults")).await? {
            let u = user["id"].as_str().unwrap_or_default();
            for result in list(format!(
                "{root}/{w}/userProcessingResults/{u}/taskProcessingResults"
            ))
            .await?
            {
                if result["processingStatus"] == "inProgress"
                    && result["task"]["id"]
                        .as_str()
                        .is_some_and(|t| custom.contains(t))
                {
                    found += 1;
                }
            }
        }
    }
    Ok(NaiveRun {
        wall: started.elapsed(),
        calls: graph.stats().graph_requests - before,
        found,
    })
}
