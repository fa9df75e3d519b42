//! `bench all`: the handler against its floors, each measured in the same run.
use crate::common::*;
use anyhow::{ensure, Result};
use futures::stream::{self, StreamExt};
use graph_emulator::{Emulator, GenerateSpec, Running, Settings};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct Sizes {
    pub cold_starts: usize,
    pub invocations: usize,
    pub concurrency: usize,
    pub rate_limit: u32,
    pub throttled_resumes: usize,
}

impl Sizes {
    pub fn new(smoke: bool) -> Self {
        if smoke {
            Self {
                cold_starts: 3,
                invocations: 200,
                concurrency: 16,
                rate_limit: 100,
                throttled_resumes: 150,
            }
        } else {
            Self {
                cold_starts: 20,
                invocations: 10_000,
                concurrency: 16,
                rate_limit: 200,
                throttled_resumes: 1_000,
            }
        }
    }
}

/// A tenant where every resume of the run is a real state change.
fn resumable_tenant(resumes: usize) -> GenerateSpec {
    let users = resumes.div_ceil(20).max(1);
    format!("workflows=10,tasks=2,customTasks=2,users={users},inProgress=1,requests=0")
        .parse()
        .expect("spec")
}

fn floor_binary() -> Result<PathBuf> {
    build_helper("bench", "floor")
}

/// Returns the median time from spawn to the first resume completed.
pub async fn cold_start(binary: &Path, sizes: &Sizes) -> Result<Duration> {
    let graph = Emulator::start(
        graph_emulator::generate(&resumable_tenant(sizes.cold_starts * 2)),
        Settings::default(),
        0,
    )
    .await?;
    let floor = floor_binary()?;
    let invalid = json!({"Data": {"req": {"Method": "POST", "Body": "{\"workflowId\": \"../x\"}"}}, "Metadata": {}});
    let (mut ready_h, mut first_h, mut ready_f, mut first_f, mut resumed) =
        (vec![], vec![], vec![], vec![], vec![]);
    let waiting = graph.task_results_with_status("inProgress");
    for (n, first_resume) in waiting.iter().take(sizes.cold_starts).enumerate() {
        for (bin, ready, first) in [
            (binary, &mut ready_h, &mut first_h),
            (floor.as_path(), &mut ready_f, &mut first_f),
        ] {
            let (handler, to_ready) = Handler::start(bin, &graph, &[]).await?;
            ready.push(to_ready);
            let started = Instant::now();
            let (status, _) = handler.invoke("ResumeTask", &invalid).await?;
            ensure!(status == 200, "the first invocation failed");
            first.push(to_ready + started.elapsed());
        }
        // Spawn → first resume completed, token fetch included.
        let started = Instant::now();
        let (handler, _) = Handler::start(binary, &graph, &[]).await?;
        let (status, answer) = handler
            .invoke(
                "ResumeTaskQueue",
                &queue_payload(&resume_command(first_resume), &format!("cold-{n}")),
            )
            .await?;
        ensure!(
            status == 200 && answer["ReturnValue"]["outcome"] == "resumed",
            "the first resume failed: {answer}"
        );
        resumed.push(started.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        percentile(v, 0.5)
    };
    let (rh, fh, rf, ff, res) = (
        median(&mut ready_h),
        median(&mut first_h),
        median(&mut ready_f),
        median(&mut first_f),
        median(&mut resumed),
    );
    println!("## Cold start (median of {} spawns)\n", sizes.cold_starts);
    println!("| step | resume-handler | floor (minimal warp server) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| spawn → `GET /` answered | {} | {} | {:.2}× |",
        ms(rh),
        ms(rf),
        rh.as_secs_f64() / rf.as_secs_f64()
    );
    println!(
        "| spawn → first invocation answered (invalid command, no Graph call) | {} | {} | {:.2}× |",
        ms(fh),
        ms(ff),
        fh.as_secs_f64() / ff.as_secs_f64()
    );
    println!(
        "| spawn → first resume completed (token fetch included) | {} | | |\n",
        ms(res)
    );
    Ok(res)
}

/// Resumes through the handler (host payload in → Graph → response), `concurrency` at a time.
async fn through_handler(
    handler: &Handler,
    items: &[(String, String, String)],
    concurrency: usize,
) -> Result<Vec<Duration>> {
    let latencies = stream::iter(items.iter().enumerate())
        .map(|(n, ids)| async move {
            let payload = queue_payload(&resume_command(ids), &format!("bench-{n}"));
            let started = Instant::now();
            let (status, answer) = handler.invoke("ResumeTaskQueue", &payload).await?;
            ensure!(
                status == 200 && answer["ReturnValue"]["outcome"] == "resumed",
                "resume {n} answered {status}: {answer}"
            );
            Ok(started.elapsed())
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<Result<Duration>>>()
        .await;
    latencies.into_iter().collect()
}

/// The same resumes straight to the emulator: the floor, one Graph call each.
async fn direct(
    graph: &Running,
    items: &[(String, String, String)],
    concurrency: usize,
) -> Result<Vec<Duration>> {
    let http = client();
    let token = emulator_token(graph).await?;
    let root = format!(
        "{}/v1.0/identityGovernance/lifecycleWorkflows/workflows",
        graph.url()
    );
    let latencies = stream::iter(items.iter())
        .map(|(w, t, r)| {
            let (http, token, url) = (http.clone(), token.clone(), format!("{root}/{w}/tasks/{t}/taskProcessingResults/{r}/resume"));
            async move {
                let started = Instant::now();
                let body = json!({"source": "bench", "type": "lifecycleEvent", "data": {"operationStatus": "completed"}});
                let status = http.post(&url).bearer_auth(&token).json(&body).send().await?.status();
                ensure!(status == 204, "direct resume answered {status}");
                Ok(started.elapsed())
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<Result<Duration>>>()
        .await;
    latencies.into_iter().collect()
}

pub struct Throughput {
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

fn summarize(mut latencies: Vec<Duration>, wall: Duration) -> Throughput {
    latencies.sort();
    Throughput {
        per_second: latencies.len() as f64 / wall.as_secs_f64(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
    }
}

/// Returns the concurrent throughput through the handler and the handler's peak RSS (KiB).
pub async fn throughput_and_memory(binary: &Path, sizes: &Sizes) -> Result<(Throughput, u64)> {
    let n = sizes.invocations;
    let spec = resumable_tenant(n);
    // Through the handler, one at a time: peak RSS after n invocations.
    let graph = Emulator::start(graph_emulator::generate(&spec), Settings::default(), 0).await?;
    let items: Vec<_> = graph
        .task_results_with_status("inProgress")
        .into_iter()
        .take(n)
        .collect();
    ensure!(
        items.len() == n,
        "the tenant has {} resumable results, not {n}",
        items.len()
    );
    let (handler, _) = Handler::start(binary, &graph, &[]).await?;
    let (idle_peak, _) = memory_kib(handler.pid())?;
    let started = Instant::now();
    let sequential = summarize(
        through_handler(&handler, &items, 1).await?,
        started.elapsed(),
    );
    let (peak_sequential, rss_after) = memory_kib(handler.pid())?;
    ensure!(
        graph.stats().resumes_applied == n as u64,
        "every resume applied"
    );
    drop(handler);
    drop(graph);

    // Concurrently, through the handler and straight to the emulator, each on a fresh
    // tenant, in alternating rounds so that drift in the machine's load hits both alike.
    let c = sizes.concurrency;
    let rounds = 5;
    let via_graph =
        Emulator::start(graph_emulator::generate(&spec), Settings::default(), 0).await?;
    let floor_graph =
        Emulator::start(graph_emulator::generate(&spec), Settings::default(), 0).await?;
    let via_items: Vec<_> = via_graph
        .task_results_with_status("inProgress")
        .into_iter()
        .take(n)
        .collect();
    let floor_items: Vec<_> = floor_graph
        .task_results_with_status("inProgress")
        .into_iter()
        .take(n)
        .collect();
    let (handler, _) = Handler::start(binary, &via_graph, &[]).await?;
    let chunk = n.div_ceil(rounds);
    let (mut via_rounds, mut floor_rounds) = (Vec::new(), Vec::new());
    for (via_chunk, floor_chunk) in via_items.chunks(chunk).zip(floor_items.chunks(chunk)) {
        let started = Instant::now();
        via_rounds.push(summarize(
            through_handler(&handler, via_chunk, c).await?,
            started.elapsed(),
        ));
        let started = Instant::now();
        floor_rounds.push(summarize(
            direct(&floor_graph, floor_chunk, c).await?,
            started.elapsed(),
        ));
    }
    let (peak_concurrent, _) = memory_kib(handler.pid())?;
    let via = median_round(via_rounds);
    let floor = median_round(floor_rounds);

    println!("## Memory of the handler process\n");
    println!("| when | peak RSS (VmHWM) | goal |");
    println!("|---|---|---|");
    println!(
        "| idle after start | {:.1} MiB | |",
        idle_peak as f64 / 1024.0
    );
    println!(
        "| after {n} invocations, one at a time | {:.1} MiB (RSS now {:.1} MiB) | < 16 MiB |",
        peak_sequential as f64 / 1024.0,
        rss_after as f64 / 1024.0
    );
    println!(
        "| after {n} more, {c} concurrent | {:.1} MiB | < 16 MiB |\n",
        peak_concurrent as f64 / 1024.0
    );
    println!("## Resume throughput and latency ({n} resumes per path, each a real state change; concurrent rows: median of {rounds} alternating rounds)\n");
    println!("| path | resumes/s | p50 | p99 |");
    println!("|---|---|---|---|");
    println!(
        "| through the handler, one at a time | {:.0} | {} | {} |",
        sequential.per_second,
        ms(sequential.p50),
        ms(sequential.p99)
    );
    println!(
        "| through the handler, {c} concurrent | {:.0} | {} | {} |",
        via.per_second,
        ms(via.p50),
        ms(via.p99)
    );
    println!(
        "| straight to the emulator, {c} concurrent (the floor) | {:.0} | {} | {} |",
        floor.per_second,
        ms(floor.p50),
        ms(floor.p99)
    );
    println!(
        "| handler ÷ floor | {:.0}% | | |\n",
        100.0 * via.per_second / floor.per_second
    );
    Ok((via, peak_concurrent))
}

/// The round with the median throughput.
fn median_round(mut rounds: Vec<Throughput>) -> Throughput {
    rounds.sort_by(|a, b| a.per_second.total_cmp(&b.per_second));
    rounds.swap_remove(rounds.len() / 2)
}

pub async fn throttled(binary: &Path, sizes: &Sizes) -> Result<()> {
    let n = sizes.throttled_resumes;
    let limit = sizes.rate_limit;
    let settings = Settings {
        rate_limit: Some(limit),
        ..Settings::default()
    };
    let graph =
        Emulator::start(graph_emulator::generate(&resumable_tenant(n)), settings, 0).await?;
    let items: Vec<_> = graph
        .task_results_with_status("inProgress")
        .into_iter()
        .take(n)
        .collect();
    let (handler, _) = Handler::start(binary, &graph, &[("GRAPH_RETRY_BUDGET", "120s")]).await?;
    // Empty the emulator's bucket first, so the rate measured is the steady one, not a burst.
    let (http, token) = (client(), emulator_token(&graph).await?);
    while graph.stats().throttled == 0 {
        http.get(format!(
            "{}/v1.0/identityGovernance/lifecycleWorkflows/workflows?$select=id",
            graph.url()
        ))
        .bearer_auth(&token)
        .send()
        .await?;
    }
    let throttled_before = graph.stats().throttled;
    let started = Instant::now();
    through_handler(&handler, &items, sizes.concurrency).await?;
    let wall = started.elapsed();
    let applied = graph.stats().resumes_applied;
    let lost = n as u64 - applied;
    println!(
        "## Under throttling (emulator limited to {limit} requests/s, {} concurrent)\n",
        sizes.concurrency
    );
    println!("| resumes | completed/s | of the limit | answered 429 | lost |");
    println!("|---|---|---|---|---|");
    println!(
        "| {n} | {:.0} | {:.0}% | {} | {lost} |\n",
        applied as f64 / wall.as_secs_f64(),
        100.0 * applied as f64 / wall.as_secs_f64() / f64::from(limit),
        graph.stats().throttled - throttled_before
    );
    ensure!(lost == 0, "resumes were lost under throttling");
    Ok(())
}
