//! The peer: the same resumes and the same sweep with Microsoft's Python Graph SDK
//! (`msgraph-sdk` + `azure-identity`), installed into a venv by the benchmark itself.
use crate::common::*;
use crate::handler::Throughput;
use anyhow::{bail, ensure, Context, Result};
use graph_emulator::{Emulator, Settings};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PACKAGES: [&str; 2] = ["msgraph-sdk==1.65.0", "azure-identity==1.27.0"];

/// `target/bench-venv`, created and filled on first use.
pub(crate) fn venv_python() -> Result<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let venv = target.join("bench-venv");
    let python = venv.join("bin/python");
    let marker = venv.join(PACKAGES.join(" ").replace(['=', ' '], "_"));
    if !marker.exists() {
        println!(
            "(installing {} into {} …)",
            PACKAGES.join(", "),
            venv.display()
        );
        let created = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .context("python3 is needed for the peer")?;
        ensure!(created.success(), "python3 -m venv failed");
        let installed = std::process::Command::new(&python)
            .args(["-m", "pip", "install", "-q"])
            .args(PACKAGES)
            .status()?;
        ensure!(installed.success(), "pip install failed");
        std::fs::write(&marker, "")?;
    }
    Ok(python)
}

fn script() -> PathBuf {
    repo_root().join("bench/peer/peer.py")
}

pub(crate) async fn run_peer(
    python: &Path,
    graph: &graph_emulator::Running,
    args: &[&str],
) -> Result<(Value, Duration)> {
    let started = Instant::now();
    let output = tokio::process::Command::new(python)
        .arg(script())
        .arg(args[0])
        .arg(graph.url())
        .args(&args[1..])
        .env("IDENTITY_ENDPOINT", graph.identity_endpoint())
        .env("IDENTITY_HEADER", "local-dev")
        .output()
        .await?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        bail!(
            "the peer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let line = String::from_utf8_lossy(&output.stdout);
    Ok((
        serde_json::from_str(line.lines().last().unwrap_or_default())?,
        elapsed,
    ))
}

pub struct Ours {
    pub throughput: Throughput,
    pub peak_rss_kib: u64,
    pub cold_resume: Duration,
}

pub async fn compare(binary: &Path, ours: &Ours, concurrency: usize) -> Result<()> {
    let python = venv_python()?;
    let resumes = 2_000;
    let spec = format!(
        "workflows=10,tasks=2,customTasks=2,users={},inProgress=1,requests=0",
        resumes / 20 + 10
    )
    .parse()
    .map_err(anyhow::Error::msg)?;
    let graph = Emulator::start(graph_emulator::generate(&spec), Settings::default(), 0).await?;
    let waiting = graph.task_results_with_status("inProgress");
    let ids_file =
        std::env::temp_dir().join(format!("resume-handler-bench-{}.json", std::process::id()));
    let items: Vec<[&String; 3]> = waiting
        .iter()
        .take(resumes)
        .map(|(w, t, r)| [w, t, r])
        .collect();
    std::fs::write(&ids_file, serde_json::to_string(&items)?)?;
    let (peer, _) = run_peer(
        &python,
        &graph,
        &[
            "resume",
            ids_file.to_str().unwrap(),
            &concurrency.to_string(),
        ],
    )
    .await?;
    ensure!(
        graph.stats().resumes_applied == resumes as u64,
        "the peer's resumes were all applied"
    );

    // Cold start: a fresh interpreter → first resume completed (imports and token included).
    let mut colds = Vec::new();
    for n in 0..5 {
        let rest: Vec<_> = waiting
            .iter()
            .skip(resumes + n)
            .take(1)
            .map(|(w, t, r)| [w, t, r])
            .collect();
        std::fs::write(&ids_file, serde_json::to_string(&rest)?)?;
        let (_, elapsed) = run_peer(&python, &graph, &["cold", ids_file.to_str().unwrap()]).await?;
        colds.push(elapsed);
    }
    colds.sort();
    let peer_cold = percentile(&colds, 0.5);
    let _ = std::fs::remove_file(&ids_file);

    // The same sweep, on the same tenant.
    let sweep_spec = "workflows=20,tasks=10,customTasks=2,users=50,inProgress=0.2,requests=0"
        .parse()
        .map_err(anyhow::Error::msg)?;
    let tenant = graph_emulator::generate(&sweep_spec);
    let graph = Emulator::start(tenant.clone(), Settings::default(), 0).await?;
    let expected = graph.task_results_with_status("inProgress").len();
    let (peer_sweep, _) = run_peer(&python, &graph, &["sweep", "8"]).await?;
    let (handler, _) = Handler::start(binary, &graph, &[]).await?;
    let started = Instant::now();
    let (_, answer) = handler.invoke("ListInProgress", &timer_payload()).await?;
    let our_sweep = started.elapsed();
    ensure!(
        answer["ReturnValue"]["count"] == expected && peer_sweep["found"] == expected,
        "both sweeps find everything"
    );

    let peer_rate = peer["perSecond"].as_f64().unwrap_or(0.0);
    let peer_rss = peer["peakRssKiB"].as_f64().unwrap_or(0.0);
    println!("## Against Microsoft's Python Graph SDK (msgraph-sdk 1.65, azure-identity 1.27, {concurrency} concurrent)\n");
    let peer_p50 = peer["p50Ms"].as_f64().unwrap_or(0.0);
    let peer_sweep_ms = peer_sweep["wallMs"].as_f64().unwrap_or(0.0);
    let our_rss = ours.peak_rss_kib as f64;
    println!("| measure | resume-handler | Python SDK | resume-handler's advantage |");
    println!("|---|---|---|---|");
    println!(
        "| resumes/s | {:.0} | {peer_rate:.0} | {:.1}× the throughput (goal ≥ 10×) |",
        ours.throughput.per_second,
        ours.throughput.per_second / peer_rate
    );
    println!(
        "| p50 / p99 latency | {} / {} | {peer_p50:.1} ms / {:.1} ms | {:.0}× lower p50 |",
        ms(ours.throughput.p50),
        ms(ours.throughput.p99),
        peer["p99Ms"].as_f64().unwrap_or(0.0),
        peer_p50 / (ours.throughput.p50.as_secs_f64() * 1000.0)
    );
    println!(
        "| peak RSS | {:.1} MiB | {:.1} MiB | {:.2}× the memory (goal ≤ 0.10×) |",
        our_rss / 1024.0,
        peer_rss / 1024.0,
        our_rss / peer_rss
    );
    println!(
        "| spawn → first resume completed | {} | {} | {:.0}× faster |",
        ms(ours.cold_resume),
        ms(peer_cold),
        peer_cold.as_secs_f64() / ours.cold_resume.as_secs_f64()
    );
    println!(
        "| in-progress sweep, {expected} waiting results (20 workflows × 10 tasks × 50 users, 8 concurrent) | {} | {peer_sweep_ms:.1} ms | {:.0}× faster |\n",
        ms(our_sweep),
        peer_sweep_ms / (our_sweep.as_secs_f64() * 1000.0)
    );
    Ok(())
}
