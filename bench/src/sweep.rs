//! `bench sweep`: ListInProgress on the largest tenant Graph allows, against the lower
//! bound its call graph allows, against a naive sequential sweep, and under a rate limit.
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
    let sweep = handler_sweep(&binary, tenant.clone(), settings.clone()).await?;
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
        ..settings
    };
    let throttled = handler_sweep(&binary, tenant, limited).await?;
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

async fn handler_sweep(binary: &Path, tenant: Tenant, settings: Settings) -> Result<SweepRun> {
    let graph = Emulator::start(tenant, settings, 0).await?;
    let expected: BTreeSet<String> = graph
        .task_results_with_status("inProgress")
        .into_iter()
        .map(|(_, _, r)| r)
        .collect();
    let concurrency = CONCURRENCY.to_string();
    let (handler, _) = Handler::start(
        binary,
        &graph,
        &[
            ("GRAPH_MAX_CONCURRENCY", &concurrency),
            ("GRAPH_RETRY_BUDGET", "120s"),
        ],
    )
    .await?;
    let started = Instant::now();
    let (status, answer) = handler.invoke("ListInProgress", &timer_payload()).await?;
    let wall = started.elapsed();
    ensure!(status == 200, "ListInProgress answered {status}: {answer}");
    let report = &answer["ReturnValue"];
    ensure!(
        report["partial"] == false,
        "partial report: {}",
        report["errors"]
    );
    let items: Vec<&str> = report["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["taskProcessingResultId"].as_str())
        .collect();
    let unique: BTreeSet<String> = items.iter().map(|s| s.to_string()).collect();
    ensure!(unique.len() == items.len(), "a result was reported twice");
    ensure!(
        unique.is_subset(&expected),
        "a result that is not waiting was reported"
    );
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
        found: unique.len(),
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
