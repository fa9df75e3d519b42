//! `bench faults`, odd data: shapes Graph really produces, at sizes tenants reach, swept by
//! `InProgress` on the release handler, a fresh handler per row. Each row prints the waiting
//! items reported, the Graph requests, the wall time, the peak RSS beside its goal (32 MiB,
//! under a 512 MB instance) and the answer's size per item.
use crate::common::*;
use anyhow::{ensure, Result};
use graph_emulator::model::{CalloutInstance, Tenant};
use graph_emulator::{Emulator, GenerateSpec, Settings};
use std::path::Path;
use std::time::Instant;

const MAX_RSS_KIB: u64 = 32 * 1024;

struct Case {
    name: String,
    tenant: Tenant,
    /// An emulator fault for the row, if any.
    fault: Option<String>,
}

/// One request whose `callouts` callouts all wait: one Graph page holds them all.
fn callouts_on_one_request(callouts: usize) -> Case {
    let spec: GenerateSpec = "workflows=1,tasks=1,customTasks=0,users=1,requests=4,seed=3"
        .parse()
        .expect("spec");
    let mut tenant = graph_emulator::generate(&spec);
    let template = tenant
        .assignment_requests
        .iter()
        .flat_map(|r| r.custom_extension_callout_instances.iter())
        .find(|c| !c.custom_extension_id.is_empty())
        .cloned()
        .expect("a generated callout");
    let request = &mut tenant.assignment_requests[0];
    request.status = "WaitingForCallback".into();
    request.state = "submitted".into();
    request.custom_extension_callout_instances = (0..callouts)
        .map(|n| CalloutInstance {
            id: format!("00000000-0000-4000-8000-{n:012}"),
            status: "waitingForCallback".into(),
            ..template.clone()
        })
        .collect();
    Case {
        name: format!("{callouts} waiting callouts on one request"),
        tenant,
        fault: None,
    }
}

/// A workflow whose name is `name_kib` KiB, with `users` waiting results.
fn long_workflow_name(name_kib: usize, users: usize) -> Case {
    let spec: GenerateSpec =
        format!("workflows=1,tasks=1,customTasks=1,users={users},inProgress=1,requests=0,seed=4")
            .parse()
            .expect("spec");
    let mut tenant = graph_emulator::generate(&spec);
    tenant.workflows[0].display_name = "W".repeat(name_kib * 1024);
    Case {
        name: format!("a {name_kib} KiB workflow name, {users} waiting results"),
        tenant,
        fault: None,
    }
}

/// A listing of requests that links on forever, each page at a new URL, each request
/// padded to `item_bytes`.
fn endless_listing(item_bytes: usize) -> Case {
    let spec: GenerateSpec =
        "workflows=1,tasks=1,customTasks=1,users=2,inProgress=1,requests=100,seed=5"
            .parse()
            .expect("spec");
    Case {
        name: format!("nextLink to a new page forever, {item_bytes} B requests"),
        tenant: graph_emulator::generate(&spec),
        fault: Some(format!(
            "endless:bytes={item_bytes},match=/assignmentRequests"
        )),
    }
}

/// A tenant where `results` task processing results wait (10 workflows, 5 custom tasks each).
fn big_backlog(results: usize) -> Case {
    let users = results / 50;
    let spec: GenerateSpec =
        format!("workflows=10,tasks=5,customTasks=5,users={users},inProgress=1,requests=0,seed=7")
            .parse()
            .expect("spec");
    Case {
        name: format!("{} waiting results", users * 50),
        tenant: graph_emulator::generate(&spec),
        fault: None,
    }
}

pub async fn run(binary: &Path, smoke: bool) -> Result<()> {
    let scale = |full: usize, small: usize| if smoke { small } else { full };
    let cases = [
        callouts_on_one_request(scale(1_000, 100)),
        callouts_on_one_request(scale(4_000, 200)),
        long_workflow_name(100, scale(2_000, 100)),
        endless_listing(1_000),
        big_backlog(scale(50_000, 1_000)),
    ];
    let rows = cases.len();
    println!("### Odd data and big tenants (InProgress; a fresh release handler per row)\n");
    println!("| case | items reported | Graph requests | wall time | peak RSS | < 32 MiB | answer | per item | outcome |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let mut missed = 0;
    for case in cases {
        let graph = Emulator::start(case.tenant, Settings::default(), 0).await?;
        let (handler, _) = Handler::start(binary, &graph, &[]).await?;
        if let Some(fault) = &case.fault {
            graph.add_fault(fault).map_err(anyhow::Error::msg)?;
        }
        let started = Instant::now();
        let (status, answer) = handler
            .invoke(
                "InProgress",
                &host_sim::http_payload("InProgress", "GET", None),
            )
            .await?;
        let wall = started.elapsed();
        ensure!(status == 200, "InProgress: {status} {answer}");
        let (peak_kib, _) = memory_kib(handler.pid())?;
        let body = &answer["Outputs"]["res"]["body"];
        let size = body.to_string().len();
        let count = body["count"].as_u64().unwrap_or(0);
        let met = peak_kib < MAX_RSS_KIB && count > 0;
        missed += usize::from(!met);
        let codes: Vec<&str> = body["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["code"].as_str())
            .collect();
        let outcome = match body["partial"].as_bool() {
            Some(true) => format!("partial ({})", codes.join(", ")),
            _ => "listed".to_string(),
        };
        let items = body["items"].as_array().map_or(0, Vec::len);
        println!(
            "| {} | {items} of {count} | {} | {:.2} s | {:.1} MiB | {} | {:.1} KiB | {} B | {outcome} |",
            case.name,
            graph.stats().graph_requests,
            wall.as_secs_f64(),
            peak_kib as f64 / 1024.0,
            if peak_kib < MAX_RSS_KIB { "yes" } else { "no" },
            size as f64 / 1024.0,
            size as u64 / (items as u64).max(1),
        );
    }
    println!("\n{} of {rows} rows under 32 MiB.\n", rows - missed);
    concurrent(binary, scale(50_000, 1_000)).await
}

/// Four `InProgress` calls and the timer at once on a big backlog: what the process holds.
async fn concurrent(binary: &Path, results: usize) -> Result<()> {
    let case = big_backlog(results);
    let graph = Emulator::start(case.tenant, Settings::default(), 0).await?;
    let (handler, _) = Handler::start(binary, &graph, &[]).await?;
    let get = host_sim::http_payload("InProgress", "GET", None);
    let tick = timer_payload();
    let started = Instant::now();
    let calls = (0..4).map(|_| handler.invoke("InProgress", &get));
    let (answers, timer) = tokio::join!(
        futures::future::join_all(calls),
        handler.invoke("ListInProgress", &tick)
    );
    let wall = started.elapsed();
    for answer in answers {
        let (status, _) = answer?;
        ensure!(status == 200, "InProgress: {status}");
    }
    ensure!(timer?.0 == 200, "the timer failed");
    let (peak_kib, _) = memory_kib(handler.pid())?;
    println!(
        "| concurrent callers | {} | Graph requests | wall time | peak RSS | < 32 MiB |",
        case.name
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| 4 InProgress + the timer | one shared sweep | {} | {:.2} s | {:.1} MiB | {} |\n",
        graph.stats().graph_requests,
        wall.as_secs_f64(),
        peak_kib as f64 / 1024.0,
        if peak_kib < MAX_RSS_KIB { "yes" } else { "no" },
    );
    Ok(())
}
