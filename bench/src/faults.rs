//! `bench faults`: each way Graph, the identity endpoint or the network can misbehave,
//! played by the emulator against the release handler, one fresh handler per row. Each row
//! prints what the invocation cost (Graph and token requests, wall time, peak RSS) and how
//! it ended, beside its goal:
//! - requests ≤ the retry cap + 1 (4 + 1: a read-back or a token renewal);
//! - wall time ≤ the budget + one attempt timeout; a held queue delivery spends its budget;
//! - peak RSS under 32 MiB, whatever size the answers claim;
//! - the documented outcome, and nothing the upstream wrote in the answer.
use crate::common::*;
use anyhow::{ensure, Result};
use futures::stream::{self, StreamExt};
use graph_emulator::msi::SECRET_IN_ERROR;
use graph_emulator::{Emulator, GenerateSpec, Settings};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

const TENANT: &str = "workflows=3,tasks=3,customTasks=2,users=5,inProgress=1,requests=0,seed=9";
const MAX_REQUESTS: u64 = 4 + 1;
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_RSS_KIB: u64 = 32 * 1024;

#[derive(Clone, Copy, PartialEq)]
enum Trigger {
    Http,
    Queue,
    Timer,
}

struct Case {
    name: &'static str,
    faults: &'static [&'static str],
    trigger: Trigger,
    /// The outcome the README documents: an HTTP status and code, or the queue's answer.
    expected: &'static str,
}

const CASES: &[Case] = &[
    Case {
        name: "503, Retry-After: 0",
        faults: &["503:match=/resume,retry-after=0"],
        trigger: Trigger::Http,
        expected: "503 graphUnavailable",
    },
    Case {
        name: "503, Retry-After: 0",
        faults: &["503:match=/resume,retry-after=0"],
        trigger: Trigger::Queue,
        expected: "held, failed graphUnavailable",
    },
    Case {
        name: "503, Retry-After in the past",
        faults: &["503:match=/resume,retry-after=past"],
        trigger: Trigger::Http,
        expected: "503 graphUnavailable",
    },
    Case {
        name: "503, Retry-After: 90 (beyond the budget)",
        faults: &["503:match=/resume,retry-after=90"],
        trigger: Trigger::Queue,
        expected: "held, failed graphUnavailable",
    },
    Case {
        name: "429, Retry-After: 100000000000",
        faults: &["429:match=/resume,retry-after=100000000000"],
        trigger: Trigger::Http,
        expected: "503 graphUnavailable",
    },
    Case {
        name: "429, Retry-After: 18446744073709551615",
        faults: &["429:match=/resume,retry-after=18446744073709551615"],
        trigger: Trigger::Http,
        expected: "503 graphUnavailable",
    },
    Case {
        name: "408 every time",
        faults: &["408:match=/resume"],
        trigger: Trigger::Http,
        expected: "503 graphUnavailable",
    },
    Case {
        name: "500 every time",
        faults: &["500:match=/resume"],
        trigger: Trigger::Http,
        expected: "502 graphError",
    },
    Case {
        name: "502 every time",
        faults: &["502:match=/resume"],
        trigger: Trigger::Queue,
        expected: "held, failed graphError",
    },
    Case {
        name: "answer lost once (connection dropped)",
        faults: &["drop:match=/resume,times=1"],
        trigger: Trigger::Queue,
        expected: "alreadyResumed",
    },
    Case {
        name: "Graph accepts and never answers",
        faults: &["hang:match=/resume"],
        trigger: Trigger::Http,
        expected: "503 graphUnavailable",
    },
    Case {
        name: "answer dripped, 1 byte / 100 ms",
        faults: &["drip:ms=100,match=/lifecycleWorkflows/workflows"],
        trigger: Trigger::Timer,
        expected: "partial",
    },
    Case {
        name: "nextLink to the same page",
        faults: &["self-link"],
        trigger: Trigger::Timer,
        expected: "partial",
    },
    Case {
        name: "800 MB success body",
        faults: &["huge-body:match=/lifecycleWorkflows/workflows,method=GET,bytes=800000000"],
        trigger: Trigger::Timer,
        expected: "partial",
    },
    Case {
        name: "800 MB error body (500)",
        faults: &["huge-body:match=/resume,status=500,bytes=800000000"],
        trigger: Trigger::Http,
        expected: "502 graphError",
    },
    Case {
        name: "401 that a fresh token does not cure",
        faults: &["401:match=/resume"],
        trigger: Trigger::Http,
        expected: "403 forbidden",
    },
    Case {
        name: "token endpoint hangs",
        faults: &["hang:match=/msi/token"],
        trigger: Trigger::Http,
        expected: "503 graphUnavailable",
    },
    Case {
        name: "token endpoint: 500 with a secret in its body",
        faults: &["500:match=/msi/token"],
        trigger: Trigger::Http,
        expected: "503 graphUnavailable",
    },
];

pub async fn run(binary: &Path, smoke: bool) -> Result<()> {
    let budget = Duration::from_secs(if smoke { 2 } else { 5 });
    let budget_setting = format!("{}s", budget.as_secs());
    println!(
        "## Graph misbehaving (GRAPH_RETRY_BUDGET={budget_setting}; a fresh release handler per row)\n"
    );
    println!("| fault | trigger | Graph requests (+ token) | ≤ {MAX_REQUESTS} | wall time | goal | peak RSS | < 32 MiB | outcome | documented | met |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut missed = 0;
    for case in CASES {
        let spec: GenerateSpec = TENANT.parse().expect("spec");
        let settings = Settings {
            page_size: 2,
            ..Settings::default()
        };
        let graph = Emulator::start(graph_emulator::generate(&spec), settings, 0).await?;
        let (handler, _) =
            Handler::start(binary, &graph, &[("GRAPH_RETRY_BUDGET", &budget_setting)]).await?;
        for fault in case.faults {
            graph.add_fault(fault).map_err(anyhow::Error::msg)?;
        }
        let ids = graph.task_results_with_status("inProgress").remove(0);
        let started = Instant::now();
        let (function, payload) = match case.trigger {
            Trigger::Http => (
                "ResumeTask",
                host_sim::http_payload(
                    "ResumeTask",
                    "POST",
                    Some(&resume_command(&ids).to_string()),
                ),
            ),
            Trigger::Queue => (
                "ResumeTaskQueue",
                queue_payload(&resume_command(&ids), "fault-1"),
            ),
            Trigger::Timer => ("ListInProgress", timer_payload()),
        };
        let (status, answer) = handler.invoke(function, &payload).await?;
        let wall = started.elapsed();
        let (peak_kib, _) = memory_kib(handler.pid())?;
        let stats = graph.stats();
        let outcome = describe(case.trigger, status, &answer, wall >= budget);
        let leaked = answer.to_string().contains(SECRET_IN_ERROR);
        let wall_goal = budget + ATTEMPT_TIMEOUT;
        let held_ok = !case.expected.starts_with("held") || wall >= budget;
        let met = stats.graph_requests <= MAX_REQUESTS
            && stats.token_requests <= 1 + MAX_REQUESTS
            && wall <= wall_goal
            && held_ok
            && peak_kib < MAX_RSS_KIB
            && outcome == case.expected
            && !leaked;
        missed += usize::from(!met);
        println!(
            "| {} | {} | {} (+{}) | {} | {:.2} s | ≤ {} s{} | {:.1} MiB | {} | {}{} | {} | {} |",
            case.name,
            match case.trigger {
                Trigger::Http => "HTTP",
                Trigger::Queue => "queue",
                Trigger::Timer => "timer",
            },
            stats.graph_requests,
            stats.token_requests,
            yes(stats.graph_requests <= MAX_REQUESTS),
            wall.as_secs_f64(),
            wall_goal.as_secs(),
            if case.expected.starts_with("held") {
                format!(", ≥ {} s", budget.as_secs())
            } else {
                String::new()
            },
            peak_kib as f64 / 1024.0,
            yes(peak_kib < MAX_RSS_KIB),
            outcome,
            if leaked {
                " **(upstream secret in the answer)**"
            } else {
                ""
            },
            case.expected,
            yes(met),
        );
    }
    println!(
        "\n{} of {} rows meet every goal.\n",
        CASES.len() - missed,
        CASES.len()
    );
    ride_out(binary, smoke).await?;
    crate::odd_data::run(binary, smoke).await
}

/// An outage across many deliveries, scaled down from hours to seconds: this benchmark
/// plays Service Bus (a failed delivery comes back at once, up to `maxDeliveryCount`, then
/// is dead-lettered) with the count the template derives from the budget and the outage.
async fn ride_out(binary: &Path, smoke: bool) -> Result<()> {
    let (budget, outage, messages) = if smoke {
        (Duration::from_secs(1), Duration::from_secs(5), 20usize)
    } else {
        (Duration::from_secs(3), Duration::from_secs(45), 64)
    };
    // main.bicep: maxDeliveryCount = ⌈outageRideOut / budget⌉, with the ride-out a fifth
    // longer than the outage (200 minutes for a 3-hour callback timeout).
    let ride_out = outage + outage / 5;
    let max_deliveries = ride_out.as_secs().div_ceil(budget.as_secs()) as u32;
    let spec: GenerateSpec = format!(
        "workflows=4,tasks=2,customTasks=2,users={},inProgress=1,requests=0",
        messages.div_ceil(8)
    )
    .parse()
    .expect("spec");
    let graph = Emulator::start(graph_emulator::generate(&spec), Settings::default(), 0).await?;
    let budget_setting = format!("{}s", budget.as_secs());
    let (handler, _) =
        Handler::start(binary, &graph, &[("GRAPH_RETRY_BUDGET", &budget_setting)]).await?;
    let waiting: Vec<_> = graph
        .task_results_with_status("inProgress")
        .into_iter()
        .take(messages)
        .collect();
    ensure!(
        waiting.len() == messages,
        "the tenant has too few waiting results"
    );

    graph
        .add_fault("503:match=/resume,retry-after=0")
        .map_err(anyhow::Error::msg)?;
    let cpu_before = cpu_ms(handler.pid())?;
    let started = Instant::now();
    let lift = async {
        tokio::time::sleep(outage).await;
        graph.clear_faults();
    };
    // As the trigger does: 16 messages at a time (host.json's maxConcurrentCalls).
    let deliver = stream::iter(waiting.iter().enumerate())
        .map(|(n, ids)| {
            let handler = &handler;
            async move {
                for delivery in 1..=max_deliveries {
                    let payload =
                        queue_delivery(&resume_command(ids), &format!("outage-{n}"), delivery);
                    let (status, answer) = handler.invoke("ResumeTaskQueue", &payload).await?;
                    if status == 200 {
                        let outcome = answer["ReturnValue"]["outcome"].as_str().unwrap_or("?");
                        return Ok::<_, anyhow::Error>((Some(outcome.to_string()), delivery));
                    }
                }
                Ok((None, max_deliveries))
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>();
    let ((), results) = tokio::join!(lift, deliver);
    let wall = started.elapsed();
    let cpu = cpu_ms(handler.pid())? - cpu_before;
    let results: Vec<(Option<String>, u32)> = results.into_iter().collect::<Result<_>>()?;

    let dead_lettered = results.iter().filter(|(o, _)| o.is_none()).count();
    let lost = waiting
        .iter()
        .filter(|(_, _, r)| {
            graph
                .task_processing_result(r)
                .is_none_or(|r| r.processing_status != "completed")
        })
        .count();
    let applied = graph.stats().resumes_applied as usize;
    let most_deliveries = results.iter().map(|(_, d)| *d).max().unwrap_or(0);
    let posts = graph
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    let met = dead_lettered == 0 && lost == 0 && applied == messages;
    println!("### An outage across deliveries (scaled: seconds for hours)\n");
    println!("| outage | GRAPH_RETRY_BUDGET | maxDeliveryCount (template formula) | messages, 16 at a time | dead-lettered | lost | applied twice | most deliveries of one message | Graph requests per message | handler CPU for the whole run | met |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {} s | {} s | {} | {} | {} | {} | {} | {} | {:.1} (at most 4 per delivery) | {} ms in {:.1} s | {} |\n",
        outage.as_secs(),
        budget.as_secs(),
        max_deliveries,
        messages,
        dead_lettered,
        lost,
        applied.saturating_sub(messages),
        most_deliveries,
        posts as f64 / messages as f64,
        cpu,
        wall.as_secs_f64(),
        yes(met),
    );
    Ok(())
}

/// User and system CPU time of a process so far, in milliseconds.
fn cpu_ms(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime, fields 14 and 15 of the line: 11 and 12 after the name (the state is 0),
    // in clock ticks of 10 ms (Linux's USER_HZ).
    Ok((ticks(11) + ticks(12)) * 10)
}

fn yes(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "**no**"
    }
}

/// The outcome as the README's Outcomes table names it.
fn describe(trigger: Trigger, status: u16, answer: &Value, spent_budget: bool) -> String {
    match trigger {
        Trigger::Http => {
            let res = &answer["Outputs"]["res"];
            let body = &res["body"];
            let name = body["outcome"]
                .as_str()
                .or_else(|| body["error"]["code"].as_str())
                .unwrap_or("?");
            match res["statusCode"].as_u64() {
                Some(200) => name.to_string(),
                Some(code) => format!("{code} {name}"),
                None => format!("invocation {status}"),
            }
        }
        Trigger::Queue if status == 200 => answer["ReturnValue"]["outcome"]
            .as_str()
            .unwrap_or("?")
            .to_string(),
        Trigger::Queue => format!(
            "{}failed {}",
            if spent_budget { "held, " } else { "" },
            answer["error"]["code"].as_str().unwrap_or("?")
        ),
        Trigger::Timer => {
            if answer["ReturnValue"]["partial"] == true {
                "partial".into()
            } else {
                "listed".into()
            }
        }
    }
}
