//! `cargo run -p devhost`: the function app, locally, against the Graph emulator.
//!
//! 1. builds the handler and copies it to the app root, as `defaultExecutablePath` expects;
//! 2. serves the emulator's demo tenant on 127.0.0.1:7070, where `local.settings.json` points;
//! 3. with Azure Functions Core Tools on PATH, runs `func start`; without them, starts the
//!    handler exactly as the host does (app settings as environment, a port in
//!    `FUNCTIONS_CUSTOMHANDLER_PORT`, readiness on `GET /`), replays one invocation of each
//!    function in the host's own payload format, prints the outcomes and the emulator's
//!    state, and keeps both serving until Ctrl+C (`--replay-only` stops after the replay,
//!    and fails if any invocation answered other than the demo expects).
use anyhow::{bail, Context, Result};
use graph_emulator::{Emulator, Running, Settings};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const EMULATOR_PORT: u16 = 7070;

#[tokio::main]
async fn main() -> Result<()> {
    let root = app_root()?;
    build_handler(&root)?;
    let emulator = Emulator::start(graph_emulator::demo(), Settings { page_size: 5, ..Settings::default() }, EMULATOR_PORT)
        .await
        .with_context(|| format!("Failed to serve the Graph emulator on 127.0.0.1:{EMULATOR_PORT} (is one already running?)"))?;
    println!("Graph emulator (demo tenant) on {}", emulator.url());
    if which("func").is_some() && std::env::var_os("DEVHOST_NO_FUNC").is_none() {
        println!("Azure Functions Core Tools found: running `func start` (Ctrl+C to stop)");
        let status = tokio::process::Command::new("func")
            .arg("start")
            .current_dir(&root)
            .status()
            .await?;
        std::process::exit(status.code().unwrap_or(1));
    }
    println!("Azure Functions Core Tools not found: standing in for the host");
    let port = host_sim::free_port();
    let mut handler = tokio::process::Command::new(root.join("resume-handler"))
        .current_dir(&root)
        .envs(app_settings(&root)?)
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("FUNCTIONS_WORKER_RUNTIME", "custom")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("Failed to start ./resume-handler")?;
    let host = Host(host_sim::Host::new(port));
    host.0
        .wait_until_ready(Duration::from_millis(25), Duration::from_secs(30))
        .await
        .map_err(anyhow::Error::msg)?;
    replay(&host, &emulator).await?;
    println!(
        "\nEmulator state: {}",
        reqwest::Client::new()
            .get(format!("{}/_emulator/state", emulator.url()))
            .send()
            .await?
            .text()
            .await?
    );
    if std::env::args().any(|a| a == "--replay-only") {
        return Ok(());
    }
    println!(
        "\nThe handler serves invocations on {} (POST /{{FunctionName}} with the host's payload);",
        host.0.url("")
    );
    println!(
        "the emulator serves Graph on {}. Ctrl+C stops both.",
        emulator.url()
    );
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        status = handler.wait() => bail!("the handler stopped: {status:?}"),
    }
    Ok(())
}

fn app_root() -> Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("devhost lives in the repo")?
        .to_path_buf();
    if !root.join("host.json").exists() {
        bail!("no host.json in {}", root.display());
    }
    Ok(root)
}

/// The local build step: `cargo build`, then the binary to the app root (git ignores it).
fn build_handler(root: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "-p", "resume-handler", "--bin", "resume-handler"])
        .current_dir(root)
        .status()
        .context("Failed to run cargo build")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    std::fs::copy(
        target.join("debug/resume-handler"),
        root.join("resume-handler"),
    )
    .context("Failed to copy the handler to the app root")?;
    Ok(())
}

/// `local.settings.json` Values, as the host passes app settings: as environment variables.
fn app_settings(root: &Path) -> Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(root.join("local.settings.json"))
        .context("Failed to read local.settings.json")?;
    let settings: Value = serde_json::from_str(&text).context("local.settings.json is not JSON")?;
    Ok(settings["Values"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect())
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The host's side of the replay: each function invoked as the host would.
struct Host(host_sim::Host);

impl Host {
    async fn invoke(&self, function: &str, payload: &Value) -> Result<(u16, Value)> {
        self.0
            .invoke(function, payload)
            .await
            .map_err(anyhow::Error::msg)
    }

    /// An HTTP trigger: the body as the host sends it, a string in `Data.req.Body`.
    async fn http(
        &self,
        function: &str,
        method: &str,
        body: Option<Value>,
        expect: &str,
    ) -> Result<()> {
        let body = body.map(|b| b.to_string());
        let payload = host_sim::http_payload(function, method, body.as_deref());
        let (status, answer) = self.invoke(function, &payload).await?;
        let res = &answer["Outputs"]["res"];
        println!(
            "{function:<26} invocation {status}, HTTP {} {}",
            res["statusCode"],
            summarize(&res["body"])
        );
        check(function, &res["body"], expect)
    }

    /// A Service Bus trigger: the message JSON-encoded twice, MessageId encoded again.
    async fn queue(
        &self,
        function: &str,
        message: Value,
        message_id: &str,
        delivery: u32,
        expect: &str,
    ) -> Result<()> {
        let payload = host_sim::queue_payload(
            function,
            &message,
            host_sim::Encoding::Double,
            message_id,
            delivery,
        );
        let (status, answer) = self.invoke(function, &payload).await?;
        let shown = if status == 200 {
            &answer["ReturnValue"]
        } else {
            &answer["error"]
        };
        println!(
            "{function:<26} invocation {status} (message {message_id}, delivery {delivery}) {}",
            summarize(shown)
        );
        check(function, &answer["ReturnValue"], expect)
    }
}

/// The outcome (or error code) the demo expects; a report counts as `listed`.
fn check(function: &str, answer: &Value, expect: &str) -> Result<()> {
    let got = match answer.get("items") {
        Some(_) => "listed",
        None => answer["outcome"]
            .as_str()
            .or(answer["error"]["code"].as_str())
            .unwrap_or("nothing"),
    };
    if got != expect {
        bail!("{function} answered {got}, expected {expect}");
    }
    Ok(())
}

fn summarize(value: &Value) -> String {
    match value.get("items") {
        Some(_) => format!(
            "count={} staleCount={} partial={} graphCalls={}",
            value["count"], value["staleCount"], value["partial"], value["graphCalls"]
        ),
        None => value.to_string(),
    }
}

async fn replay(host: &Host, emulator: &Running) -> Result<()> {
    println!("\nReplaying one invocation of each function:");
    host.http("InProgress", "GET", None, "listed").await?;
    let (status, answer) = host
        .invoke("ListInProgress", &host_sim::timer_payload(false))
        .await?;
    println!(
        "{:<26} invocation {status} {}",
        "ListInProgress",
        summarize(&answer["ReturnValue"])
    );
    check("ListInProgress", &answer["ReturnValue"], "listed")?;

    let waiting = emulator.task_results_with_status("inProgress");
    let [first, second, ..] = waiting.as_slice() else {
        bail!("the demo tenant has too few waiting tasks")
    };
    let task = |(w, t, r): &(String, String, String), status: &str| json!({"workflowId": w, "taskId": t, "taskProcessingResultId": r, "operationStatus": status});
    host.http(
        "ResumeTask",
        "POST",
        Some(task(first, "completed")),
        "resumed",
    )
    .await?;
    host.queue(
        "ResumeTaskQueue",
        task(second, "failed"),
        "demo-message-1",
        1,
        "resumed",
    )
    .await?;
    host.queue(
        "ResumeTaskQueue",
        task(second, "failed"),
        "demo-message-1",
        2,
        "alreadyResumed",
    )
    .await?;
    let invalid = json!({"workflowId": "../users", "operationStatus": "completed"});
    host.http("ResumeTask", "POST", Some(invalid), "invalidCommand")
        .await?;

    let tenant = emulator.tenant();
    let mut requests = tenant
        .assignment_requests
        .iter()
        .filter(|r| r.status == "WaitingForCallback");
    let access = |r: &graph_emulator::model::AssignmentRequest| {
        let instance = &r.custom_extension_callout_instances[0];
        json!({"assignmentRequestId": r.id, "stage": instance.stage, "customExtensionStageInstanceId": instance.id})
    };
    if let Some(request) = requests.next() {
        host.http(
            "ResumeAccessRequest",
            "POST",
            Some(access(request)),
            "resumed",
        )
        .await?;
    }
    if let Some(request) = requests.next() {
        host.queue(
            "ResumeAccessRequestQueue",
            access(request),
            "demo-message-2",
            1,
            "resumed",
        )
        .await?;
    }
    let test = json!({"Stage": "CustomExtensionConnectionTest"});
    host.queue(
        "ResumeAccessRequestQueue",
        test,
        "demo-message-3",
        1,
        "connectionTest",
    )
    .await?;
    Ok(())
}
