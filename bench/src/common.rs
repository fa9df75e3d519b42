//! What every benchmark needs: the release handler, started as the Functions host starts
//! it, the host's payloads, and process memory from /proc.
use anyhow::{bail, Context, Result};
use graph_emulator::Running;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench lives in the repo")
        .to_path_buf()
}

/// Builds the handler as it is deployed (release); or, when `RESUME_HANDLER_BINARY` names
/// one (CI passes the binary `infra/package.sh` built), uses that.
pub fn build_release_handler() -> Result<PathBuf> {
    match std::env::var_os("RESUME_HANDLER_BINARY") {
        Some(path) => Ok(PathBuf::from(path)),
        None => build_binary("resume-handler", "resume-handler", true),
    }
}

/// Builds a helper binary of the workspace (the floor server, the emulator) in the profile
/// this benchmark was built with: release for real numbers, debug for a CI smoke run that
/// reuses the test build.
pub fn build_helper(package: &str, bin: &str) -> Result<PathBuf> {
    build_binary(package, bin, !cfg!(debug_assertions))
}

fn build_binary(package: &str, bin: &str, release: bool) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.args(["build", "-q", "-p", package, "--bin", bin]);
    if release {
        command.arg("--release");
    }
    let status = command
        .current_dir(repo_root())
        .status()
        .context("Failed to run cargo build")?;
    if !status.success() {
        bail!("cargo build -p {package} failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join(bin))
}

use host_sim::free_port;

/// A running handler process, and the host's side of it.
pub struct Handler {
    pub child: tokio::process::Child,
    host: host_sim::Host,
}

impl Handler {
    /// Spawns the handler wired to `graph`; returns once `GET /` answers, and how long that took.
    pub async fn start(
        binary: &Path,
        graph: &Running,
        env: &[(&str, &str)],
    ) -> Result<(Self, Duration)> {
        let port = free_port();
        let started = Instant::now();
        let child = spawn(binary, port, graph, env)?;
        let handler = Self {
            child,
            host: host_sim::Host::new(port),
        };
        handler.wait_until_ready().await?;
        Ok((handler, started.elapsed()))
    }

    /// Polls `GET /` every millisecond (the host polls every 25 ms: finer, to measure).
    pub async fn wait_until_ready(&self) -> Result<()> {
        self.host
            .wait_until_ready(Duration::from_millis(1), Duration::from_secs(30))
            .await
            .map(|_| ())
            .map_err(anyhow::Error::msg)
    }

    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<(u16, Value)> {
        self.host
            .invoke(function, payload)
            .await
            .map_err(anyhow::Error::msg)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client")
}

pub fn spawn(
    binary: &Path,
    port: u16,
    graph: &Running,
    env: &[(&str, &str)],
) -> Result<tokio::process::Child> {
    let emulator = graph.handler_settings();
    let mut settings: Vec<(&str, &str)> = emulator.iter().map(|(k, v)| (*k, v.as_str())).collect();
    settings.push(("RUST_LOG", "warn"));
    settings.extend(env.iter().copied());
    let mut command =
        tokio::process::Command::from(host_sim::handler_command(binary, port, settings));
    command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("Failed to start the handler")
}

pub fn timer_payload() -> Value {
    host_sim::timer_payload(false)
}

/// A Service Bus invocation, the message JSON-encoded twice as the host sends it.
pub fn queue_payload(message: &Value, message_id: &str) -> Value {
    queue_delivery(message, message_id, 1)
}

/// Delivery number `delivery` of a Service Bus message.
pub fn queue_delivery(message: &Value, message_id: &str, delivery: u32) -> Value {
    host_sim::queue_payload(
        "ResumeTaskQueue",
        message,
        host_sim::Encoding::Double,
        message_id,
        delivery,
    )
}

pub fn resume_command((w, t, r): &(String, String, String)) -> Value {
    json!({"workflowId": w, "taskId": t, "taskProcessingResultId": r, "operationStatus": "completed"})
}

/// `VmHWM` (peak) and `VmRSS` (current) of a process, in KiB.
pub fn memory_kib(pid: u32) -> Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((field("VmHWM:"), field("VmRSS:")))
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A token from the emulator's managed identity endpoint, for requests sent straight to it.
pub async fn emulator_token(graph: &Running) -> Result<String> {
    let answer: Value = client()
        .get(format!(
            "{}?api-version=2019-08-01&resource=https://graph.microsoft.com",
            graph.identity_endpoint()
        ))
        .header("X-IDENTITY-HEADER", "local-dev")
        .send()
        .await?
        .json()
        .await?;
    Ok(answer["access_token"]
        .as_str()
        .context("the emulator issued no token")?
        .to_string())
}
