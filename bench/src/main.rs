//! `cargo run --release -p bench -- <all|emulator|handler|sweep|faults|odd-data|bulk> [--smoke]`: benchmarks that print
//! each number beside the reference it is measured against, in the same run. `--smoke` runs
//! a small version of each (for CI, to keep them from rotting; it skips the Python peer and
//! asserts nothing about speed).
//!
//! - `handler`: cold start, memory, throughput and latency, throttling, and the Python SDK peer;
//! - `sweep`: ListInProgress at tenant scale (issue: the in-progress report);
//! - `emulator`: the Graph emulator's own throughput and memory;
//! - `faults`: each way Graph or the identity endpoint misbehaves, a row each, beside its goals,
//!   then odd data and big tenants (peak RSS and answer size; alone: `odd-data`);
//! - `bulk`: a backlog resumed with the operator command, against the Python SDK one at a time;
//! - `all`: all five.
mod bulk;
mod common;
mod emulator;
mod faults;
mod handler;
mod odd_data;
mod peer;
mod sweep;

use anyhow::{bail, Result};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    match args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(String::as_str)
    {
        Some("sweep") => sweep::run(smoke).await,
        Some("emulator") => emulator::run(smoke).await,
        Some("handler") => run_handler(smoke).await,
        Some("faults") => faults::run(&common::build_release_handler()?, smoke).await,
        Some("odd-data") => odd_data::run(&common::build_release_handler()?, smoke).await,
        Some("bulk") => bulk::run(&common::build_release_handler()?, smoke).await,
        Some("all") => {
            emulator::run(smoke).await?;
            run_handler(smoke).await?;
            sweep::run(smoke).await?;
            faults::run(&common::build_release_handler()?, smoke).await?;
            bulk::run(&common::build_release_handler()?, smoke).await
        }
        other => {
            bail!("usage: bench <all|emulator|handler|sweep|faults|odd-data|bulk> [--smoke] (got {other:?})")
        }
    }
}

async fn run_handler(smoke: bool) -> Result<()> {
    let binary = common::build_release_handler()?;
    let sizes = handler::Sizes::new(smoke);
    println!("# resume-handler against its floors\n");
    let cold_resume = handler::cold_start(&binary, &sizes).await?;
    let (throughput, peak_rss_kib) = handler::throughput_and_memory(&binary, &sizes).await?;
    handler::throttled(&binary, &sizes).await?;
    if smoke {
        println!("(--smoke: the Python SDK peer is skipped)\n");
        return Ok(());
    }
    let ours = peer::Ours {
        throughput,
        peak_rss_kib,
        cold_resume,
    };
    peer::compare(&binary, &ours, sizes.concurrency).await
}
