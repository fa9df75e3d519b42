//! `bench bulk`: an incident's backlog cleared from a terminal. The operator command
//! `resume --from-report --yes` (sweep, then resumes `GRAPH_MAX_CONCURRENCY` at a time)
//! against the same resumes sent one at a time through Microsoft's Python Graph SDK, the
//! pattern of the PowerShell cmdlets, which also take one item per call. Each side gets a
//! fresh emulator with the same tenant; the SDK is handed the ids (it does no listing).
use crate::peer::{run_peer, venv_python};
use anyhow::{ensure, Result};
use graph_emulator::{Emulator, GenerateSpec, Running, Settings};
use std::path::Path;
use std::time::{Duration, Instant};

/// Every Graph answer this late, as a network between a terminal and Graph adds.
const LATENCY_MS: u64 = 20;

async fn backlog(results: usize, latency_ms: u64) -> Result<Running> {
    // 10 workflows × 2 custom tasks × users, every result waiting.
    let spec: GenerateSpec = format!(
        "workflows=10,tasks=2,customTasks=2,users={},inProgress=1,requests=0",
        results / 20
    )
    .parse()
    .map_err(anyhow::Error::msg)?;
    let settings = Settings {
        latency_ms,
        ..Settings::default()
    };
    let graph = Emulator::start(graph_emulator::generate(&spec), settings, 0).await?;
    ensure!(graph.task_results_with_status("inProgress").len() == results);
    Ok(graph)
}

pub async fn run(binary: &Path, smoke: bool) -> Result<()> {
    let (results, latency_ms) = if smoke { (60, 0) } else { (1_000, LATENCY_MS) };
    println!(
        "# Bulk resume of {results} waiting results from a terminal ({latency_ms} ms added to every Graph answer)\n"
    );

    let graph = backlog(results, latency_ms).await?;
    let started = Instant::now();
    let output = tokio::process::Command::new(binary)
        .args(["resume", "--from-report", "--status", "completed", "--yes"])
        .env_clear()
        .envs(graph.handler_settings())
        .output()
        .await?;
    let ours = started.elapsed();
    ensure!(
        output.status.success(),
        "the bulk resume failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    ensure!(
        graph.stats().resumes_applied == results as u64,
        "every result resumed once"
    );
    let our_calls = graph.stats().graph_requests;

    println!("| path | wall time | Graph requests | resumes/s |");
    println!("|---|---|---|---|");
    row(
        "`resume-handler resume --from-report --yes` (report, then 8 at a time)",
        ours,
        our_calls,
        results,
    );
    if smoke {
        println!("\n(--smoke: the Python SDK peer is skipped)\n");
        return Ok(());
    }
    let graph = backlog(results, latency_ms).await?;
    let waiting = graph.task_results_with_status("inProgress");
    let ids: Vec<[&String; 3]> = waiting.iter().map(|(w, t, r)| [w, t, r]).collect();
    let ids_file =
        std::env::temp_dir().join(format!("resume-handler-bulk-{}.json", std::process::id()));
    std::fs::write(&ids_file, serde_json::to_string(&ids)?)?;
    let python = venv_python()?;
    let (_, theirs) = run_peer(
        &python,
        &graph,
        &["resume", ids_file.to_str().unwrap(), "1"],
    )
    .await?;
    let _ = std::fs::remove_file(&ids_file);
    ensure!(
        graph.stats().resumes_applied == results as u64,
        "the peer resumed every result once"
    );
    row(
        "Python Graph SDK, one resume at a time, ids given",
        theirs,
        graph.stats().graph_requests,
        results,
    );
    println!(
        "\nresume-handler: {:.1}× faster, listing included.\n",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    Ok(())
}

fn row(path: &str, wall: Duration, calls: u64, results: usize) {
    println!(
        "| {path} | {:.2} s | {calls} | {:.0} |",
        wall.as_secs_f64(),
        results as f64 / wall.as_secs_f64()
    );
}
