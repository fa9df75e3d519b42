//! `bench emulator`: the emulator's own throughput and memory, so it is known never to be
//! the bottleneck of the other benchmarks.
use crate::common::*;
use anyhow::{Context, Result};
use futures::stream::{self, StreamExt};
use std::process::Stdio;
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, BufReader};

const TENANT: &str = "workflows=100,tasks=25,customTasks=5,users=100,inProgress=0.2,requests=100";

pub async fn run(smoke: bool) -> Result<()> {
    let binary = build_helper("graph-emulator", "graph-emulator")?;
    let tenant = if smoke {
        "workflows=5,tasks=5,customTasks=2,users=10"
    } else {
        TENANT
    };
    let mut child = tokio::process::Command::new(&binary)
        .args(["--port", "0", "--generate", tenant])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let line = lines
        .next_line()
        .await?
        .context("the emulator printed nothing")?;
    let url = line
        .rsplit(' ')
        .next()
        .context("listening line")?
        .to_string();
    let pid = child.id().context("pid")?;
    let (_, rss_loaded) = memory_kib(pid)?;
    let http = client();
    let token: serde_json::Value = http
        .get(format!(
            "{url}/msi/token?api-version=2019-08-01&resource=https://graph.microsoft.com"
        ))
        .header("X-IDENTITY-HEADER", "local-dev")
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"].as_str().context("token")?.to_string();
    let workflows: serde_json::Value = http
        .get(format!(
            "{url}/v1.0/identityGovernance/lifecycleWorkflows/workflows?$select=id"
        ))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let first = workflows["value"][0]["id"]
        .as_str()
        .context("a workflow")?
        .to_string();
    let requests = if smoke { 2_000 } else { 50_000 };
    let target = format!("{url}/v1.0/identityGovernance/lifecycleWorkflows/workflows/{first}");
    let started = Instant::now();
    let ok = stream::iter(0..requests)
        .map(|_| {
            let (http, token, target) = (http.clone(), token.clone(), target.clone());
            async move {
                http.get(&target)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            }
        })
        .buffer_unordered(16)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await;
    let wall = started.elapsed();
    let (peak, _) = memory_kib(pid)?;
    println!(
        "# The Graph emulator (its own process, {} build)\n",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!("| tenant | `{tenant}` |");
    println!(
        "| RSS with the tenant loaded | {:.1} MiB |",
        rss_loaded as f64 / 1024.0
    );
    println!(
        "| peak RSS after the load | {:.1} MiB |",
        peak as f64 / 1024.0
    );
    println!("| GET a workflow, 16 concurrent, {requests} requests | {:.0} requests/s ({ok} succeeded) |\n", ok as f64 / wall.as_secs_f64());
    Ok(())
}
