//! `cargo run -p devhost`: the function app, locally, against the Graph emulator.
//!
//! 1. builds the handler and puts it in the app root, as `defaultExecutablePath` expects;
//! 2. serves the emulator's demo tenant on 127.0.0.1:7070, where `local.settings.json` points;
//! 3. with Azure Functions Core Tools on PATH, runs `func start`; without them, starts the
//!    handler exactly as the host does (app settings as environment, a port in
//!    `FUNCTIONS_CUSTOMHANDLER_PORT`, readiness on `GET /`), replays one invocation of each
//!    function in the host's own payload format and says whether each answered as the demo
//!    expects, then serves the local Functions front on 127.0.0.1:7071 (the HTTP functions
//!    under `/api`, and the queues: `POST /{queue}/messages`, `GET /{queue}`) until Ctrl+C.
//!    `--replay-only` stops after the replay, and fails if any invocation answered other than
//!    the demo expects.
use anyhow::{bail, Context, Result};
use devhost::app::FunctionApp;
use devhost::front::Front;
use graph_emulator::{Emulator, Running, Settings};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const EMULATOR_PORT: u16 = 7070;
/// Where `func start` serves the function app, so that the same URLs work with either.
const FRONT_PORT: u16 = 7071;

#[tokio::main]
async fn main() -> Result<()> {
    let root = app_root()?;
    build_handler(&root)?;
    let emulator = Emulator::start(
        graph_emulator::demo(),
        Settings {
            page_size: 5,
            ..Settings::default()
        },
        EMULATOR_PORT,
    )
    .await
    .map_err(|e| busy(EMULATOR_PORT, "the Graph emulator", &e))?;
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
    let settings = app_settings(&root)?;
    let port = host_sim::free_port();
    let mut handler = tokio::process::Command::new(root.join("resume-handler"))
        .current_dir(&root)
        .envs(settings.iter().cloned())
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("FUNCTIONS_WORKER_RUNTIME", "custom")
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("Failed to start ./resume-handler")?;
    let host = Host::new(port);
    host.0
        .wait_until_ready(Duration::from_millis(25), Duration::from_secs(30))
        .await
        .map_err(anyhow::Error::msg)?;
    let tally = replay(&host, &emulator).await?;
    println!("\nEmulator state:\n{}", emulator_state(&emulator).await?);
    println!("\n{tally}");
    if !tally.all_as_expected() {
        bail!("the replay did not go as the demo expects");
    }
    if std::env::args().any(|a| a == "--replay-only") {
        return Ok(());
    }
    let app = FunctionApp::read(&root)?;
    let front = Front::new(app, host_sim::Host::new(port))
        .serve(FRONT_PORT)
        .await
        .map_err(|e| busy(FRONT_PORT, "the local Functions front", &e))?;
    print_next_steps(&front, &emulator, &settings);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        status = handler.wait() => bail!("the handler stopped: {status:?}"),
    }
    Ok(())
}

/// A port this run needs is taken: most often by another devhost.
fn busy(port: u16, what: &str, error: &std::io::Error) -> anyhow::Error {
    if error.kind() == std::io::ErrorKind::AddrInUse {
        anyhow::anyhow!(
            "127.0.0.1:{port} is in use, so {what} cannot start there: is another devhost (or `func start`) running? Stop it (Ctrl+C in its terminal) and run this again"
        )
    } else {
        anyhow::anyhow!("Failed to serve {what} on 127.0.0.1:{port}: {error}")
    }
}

async fn emulator_state(emulator: &Running) -> Result<String> {
    let state: Value = reqwest::Client::new()
        .get(format!("{}/_emulator/state", emulator.url()))
        .send()
        .await?
        .json()
        .await?;
    Ok(serde_json::to_string_pretty(&state)?)
}

/// What to try next: the URLs the front serves, with a command for work that still waits,
/// and the settings that point the CLI at the emulator, as the handler has them from
/// local.settings.json.
fn print_next_steps(
    front: &devhost::front::RunningFront,
    emulator: &Running,
    settings: &[(String, String)],
) {
    let url = |path: &str| front.url(path);
    let setting = |name: &str| {
        settings
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let waiting = emulator.task_results_with_status("inProgress");
    println!(
        "\nReady. The local Functions front serves on {} (as `func start` would; docs/local.md):",
        url("")
    );
    println!("  the HTTP functions:");
    println!("    curl -s {}", url("/api/InProgress"));
    if let Some((workflow, task, result)) = waiting.first() {
        let command = json!({"workflowId": workflow, "taskId": task, "taskProcessingResultId": result, "operationStatus": "completed"});
        println!(
            "    curl -s -X POST {} -d '{command}'",
            url("/api/ResumeTask")
        );
    }
    println!("  the queues (sent to as the starters send, delivered as the host delivers):");
    if let Some((workflow, task, result)) = waiting.get(1) {
        let command = json!({"workflowId": workflow, "taskId": task, "taskProcessingResultId": result, "operationStatus": "failed"});
        println!(
            "    curl -s -X POST {} -H 'BrokerProperties: {{\"MessageId\":\"{result}\"}}' -d '{command}'",
            url("/resume-task/messages")
        );
    }
    println!(
        "    curl -s -X POST {} -d '{}'    (the smoke message: answered without Graph)",
        url("/resume-access-request/messages"),
        json!({"stage": "CustomExtensionConnectionTest"})
    );
    for queue in front.front.queues() {
        println!(
            "    curl -s {}    (messages, locks, deliveries, dead letters after {} deliveries)",
            url(&format!("/{}", queue.name)),
            queue.properties.max_delivery_count
        );
    }
    println!("  the operator commands, against the emulator (from the repo root):");
    println!(
        "    export GRAPH_BASE_URL={} ARM_BASE_URL={} IDENTITY_ENDPOINT={} IDENTITY_HEADER={}",
        setting("GRAPH_BASE_URL"),
        // The emulator plays Resource Manager on the same port, for `doctor`.
        setting("GRAPH_BASE_URL"),
        setting("IDENTITY_ENDPOINT"),
        setting("IDENTITY_HEADER"),
    );
    println!("    ./resume-handler report");
    println!(
        "    ./resume-handler doctor --subscription {} --resource-group {}",
        graph_emulator::generate::SUBSCRIPTION_ID,
        graph_emulator::generate::RESOURCE_GROUP
    );
    println!(
        "The emulator serves Graph on {}. Ctrl+C stops everything.",
        emulator.url()
    );
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
    // Through a new file renamed over the old one: a running handler (another devhost's)
    // keeps its own copy, and the copy never fails with "Text file busy".
    let staged = root.join(".resume-handler.new");
    std::fs::copy(target.join("debug/resume-handler"), &staged)
        .context("Failed to copy the handler to the app root")?;
    std::fs::rename(&staged, root.join("resume-handler"))
        .context("Failed to put the handler in the app root")?;
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

/// The host's side of the replay: each function invoked as the host would, and what each
/// answered against what the demo expects.
struct Host(host_sim::Host, std::sync::Mutex<Tally>);

/// What the replay expects of one invocation: its outcome (or error code), and, for a
/// failure on purpose, what it shows.
struct Expect {
    outcome: &'static str,
    deliberate: Option<&'static str>,
}

const fn expect(outcome: &'static str) -> Expect {
    Expect {
        outcome,
        deliberate: None,
    }
}

/// How the replay went.
#[derive(Default)]
struct Tally {
    ran: usize,
    as_expected: usize,
    deliberate: Vec<&'static str>,
}

impl Tally {
    fn all_as_expected(&self) -> bool {
        self.ran > 0 && self.as_expected == self.ran
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "replay: {} of {} invocations answered as the demo expects",
            self.as_expected, self.ran
        )?;
        if !self.deliberate.is_empty() {
            write!(
                f,
                " ({} failure{} on purpose: {})",
                self.deliberate.len(),
                if self.deliberate.len() == 1 { "" } else { "s" },
                self.deliberate.join("; ")
            )?;
        }
        Ok(())
    }
}

impl Host {
    fn new(port: u16) -> Self {
        Self(host_sim::Host::new(port), Default::default())
    }

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
        expect: Expect,
    ) -> Result<()> {
        announce(&expect);
        let body = body.map(|b| b.to_string());
        let payload = host_sim::http_payload(function, method, body.as_deref());
        let (status, answer) = self.invoke(function, &payload).await?;
        let res = &answer["Outputs"]["res"];
        println!(
            "{function:<26} invocation {status}, HTTP {} {}",
            res["statusCode"],
            summarize(&res["body"])
        );
        self.check(&res["body"], expect);
        Ok(())
    }

    /// A Service Bus trigger: the message JSON-encoded twice, MessageId encoded again.
    async fn queue(
        &self,
        function: &str,
        message: Value,
        message_id: &str,
        delivery: u32,
        expect: Expect,
    ) -> Result<()> {
        announce(&expect);
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
        self.check(&answer["ReturnValue"], expect);
        Ok(())
    }

    async fn timer(&self, function: &str, expect: Expect) -> Result<()> {
        let (status, answer) = self
            .invoke(function, &host_sim::timer_payload(false))
            .await?;
        println!(
            "{function:<26} invocation {status} {}",
            summarize(&answer["ReturnValue"])
        );
        self.check(&answer["ReturnValue"], expect);
        Ok(())
    }

    /// Counts the answer against the outcome (or error code) expected, and says which it was;
    /// a report counts as `listed`.
    fn check(&self, answer: &Value, expect: Expect) {
        let got = match answer.get("items") {
            Some(_) => "listed",
            None => answer["outcome"]
                .as_str()
                .or(answer["error"]["code"].as_str())
                .unwrap_or("nothing"),
        };
        let mut tally = self.1.lock().expect("not poisoned");
        tally.ran += 1;
        if got == expect.outcome {
            tally.as_expected += 1;
            match expect.deliberate {
                Some(what) => {
                    tally.deliberate.push(what);
                    println!("{:<26} as expected: {got}, on purpose", "");
                }
                None => println!("{:<26} as expected: {got}", ""),
            }
        } else {
            println!(
                "{:<26} NOT AS EXPECTED: {got}, where the demo expects {}",
                "", expect.outcome
            );
        }
    }

    fn tally(&self) -> Tally {
        std::mem::take(&mut *self.1.lock().expect("not poisoned"))
    }
}

/// Before a failure on purpose, says so: the handler logs it as an error.
fn announce(expect: &Expect) {
    if let Some(what) = expect.deliberate {
        println!("Next, on purpose, {what}; the handler logs it as an ERROR:");
    }
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

async fn replay(host: &Host, emulator: &Running) -> Result<Tally> {
    println!("\nReplaying one invocation of each function:");
    host.http("InProgress", "GET", None, expect("listed"))
        .await?;
    host.timer("ListInProgress", expect("listed")).await?;

    let waiting = emulator.task_results_with_status("inProgress");
    let [first, second, ..] = waiting.as_slice() else {
        bail!("the demo tenant has too few waiting tasks")
    };
    let task = |(w, t, r): &(String, String, String), status: &str| json!({"workflowId": w, "taskId": t, "taskProcessingResultId": r, "operationStatus": status});
    host.http(
        "ResumeTask",
        "POST",
        Some(task(first, "completed")),
        expect("resumed"),
    )
    .await?;
    host.queue(
        "ResumeTaskQueue",
        task(second, "failed"),
        "demo-message-1",
        1,
        expect("resumed"),
    )
    .await?;
    host.queue(
        "ResumeTaskQueue",
        task(second, "failed"),
        "demo-message-1",
        2,
        expect("alreadyResumed"),
    )
    .await?;
    let invalid = json!({"workflowId": "../users", "operationStatus": "completed"});
    let refused = Expect {
        outcome: "invalidCommand",
        deliberate: Some(
            "an invalid command (workflowId '../users') is refused before any Graph call",
        ),
    };
    host.http("ResumeTask", "POST", Some(invalid), refused)
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
            expect("resumed"),
        )
        .await?;
    }
    if let Some(request) = requests.next() {
        host.queue(
            "ResumeAccessRequestQueue",
            access(request),
            "demo-message-2",
            1,
            expect("resumed"),
        )
        .await?;
    }
    let test = json!({"Stage": "CustomExtensionConnectionTest"});
    host.queue(
        "ResumeAccessRequestQueue",
        test,
        "demo-message-3",
        1,
        expect("connectionTest"),
    )
    .await?;
    Ok(host.tally())
}
