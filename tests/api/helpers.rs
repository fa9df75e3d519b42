//! Starting the emulator and the handler, and speaking the host's protocol to it.
use graph_emulator::{Emulator, GenerateSpec, Running, Settings};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SMALL_TENANT: &str =
    "workflows=2,tasks=3,customTasks=2,users=5,inProgress=0.6,requests=6,seed=11";

pub use host_sim::Encoding;

pub struct TestApp {
    pub graph: Running,
    pub port: u16,
    pub client: reqwest::Client,
    host: host_sim::Host,
    handler: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.handler.kill();
        let _ = self.handler.wait();
    }
}

pub struct Options {
    pub tenant: String,
    pub settings: Settings,
    pub env: Vec<(String, String)>,
    /// A change to the generated tenant before the emulator serves it.
    pub edit: Option<fn(&mut graph_emulator::Tenant)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            tenant: SMALL_TENANT.into(),
            settings: Settings::default(),
            env: Vec::new(),
            edit: None,
        }
    }
}

impl Options {
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn page_size(mut self, n: usize) -> Self {
        self.settings.page_size = n;
        self
    }

    pub fn tenant(mut self, spec: &str) -> Self {
        self.tenant = spec.into();
        self
    }

    pub fn edit(mut self, edit: fn(&mut graph_emulator::Tenant)) -> Self {
        self.edit = Some(edit);
        self
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let spec: GenerateSpec = options.tenant.parse().expect("tenant spec");
    let mut tenant = graph_emulator::generate(&spec);
    if let Some(edit) = options.edit {
        edit(&mut tenant);
    }
    let graph = Emulator::start(tenant, options.settings, 0)
        .await
        .expect("emulator starts");
    let port = host_sim::free_port();
    let emulator = graph.handler_settings();
    let mut settings: Vec<(&str, &str)> = emulator.iter().map(|(k, v)| (*k, v.as_str())).collect();
    settings.push(("GRAPH_RETRY_BUDGET", "5s"));
    // The timer sweeps only what waits, so that the Graph requests and the faults a test
    // counts are that sweep's; the tests of what slipped set a look-back of their own.
    settings.push(("SLIPPED_LOOK_BACK", "0s"));
    settings.extend(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut command = host_sim::handler_command(
        Path::new(env!("CARGO_BIN_EXE_resume-handler")),
        port,
        settings,
    );
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut handler = command.spawn().expect("handler starts");
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let pipe = handler.stderr.take().expect("stderr piped");
    let lines = stderr.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            lines.lock().unwrap().push(line);
        }
    });
    let app = TestApp {
        graph,
        port,
        client: reqwest::Client::new(),
        host: host_sim::Host::new(port),
        handler,
        stderr,
    };
    app.wait_until_ready().await;
    app
}

impl TestApp {
    /// Polls `GET /` as the host does (every 25 ms), for up to 20 s.
    async fn wait_until_ready(&self) {
        if let Err(e) = self
            .host
            .wait_until_ready(Duration::from_millis(25), Duration::from_secs(20))
            .await
        {
            panic!("{e}; stderr: {:?}", self.stderr());
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends a signal to the handler process, as the platform does when it stops a worker.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.handler.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits (at most `limit`) for the handler process to exit; its exit code.
    pub fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.handler.try_wait().expect("wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Requests Graph received with this method whose path contains `needle`.
    pub fn graph_requests_to(&self, method: &str, needle: &str) -> usize {
        self.graph
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(needle))
            .count()
    }

    /// Sends an invocation payload as the host does; returns the status and the JSON answer.
    pub async fn invoke(&self, function: &str, payload: &Value) -> (u16, Value) {
        let (status, body) = self.host.invoke(function, payload).await.unwrap();
        for key in ["Outputs", "Logs", "ReturnValue"] {
            assert!(body.get(key).is_some(), "the answer lacks {key}: {body}");
        }
        (status, body)
    }

    /// An HTTP-triggered function: returns `Outputs.res` status and body.
    pub async fn http(&self, function: &str, body: &str) -> (u16, Value) {
        let (status, answer) = self.invoke(function, &http_payload(function, body)).await;
        assert_eq!(status, 200, "an HTTP invocation itself succeeds: {answer}");
        let res = &answer["Outputs"]["res"];
        assert_eq!(res["headers"]["Content-Type"], "application/json");
        (
            res["statusCode"].as_u64().expect("statusCode") as u16,
            res["body"].clone(),
        )
    }

    /// ResumeTask over HTTP for these ids: `Outputs.res` status and body.
    pub async fn resume_task(&self, ids: &(String, String, String), status: &str) -> (u16, Value) {
        self.http("ResumeTask", &resume_task_command(ids, status).to_string())
            .await
    }

    pub async fn queue(
        &self,
        function: &str,
        message: &Value,
        message_id: &str,
        delivery: u32,
    ) -> (u16, Value) {
        self.invoke(
            function,
            &queue_payload(message, Encoding::Double, message_id, delivery),
        )
        .await
    }

    pub async fn timer(&self) -> (u16, Value) {
        self.invoke("ListInProgress", &timer_payload()).await
    }

    /// An in-progress custom task result: `(workflowId, taskId, resultId)`.
    pub fn waiting_task(&self, n: usize) -> (String, String, String) {
        self.graph
            .task_results_with_status("inProgress")
            .into_iter()
            .nth(n)
            .expect("enough in-progress results")
    }

    pub fn waiting_request(&self, n: usize) -> (String, String, String) {
        let tenant = self.graph.tenant();
        let r = tenant
            .assignment_requests
            .iter()
            .filter(|r| r.status == "WaitingForCallback")
            .nth(n)
            .expect("enough waiting requests");
        let instance = &r.custom_extension_callout_instances[0];
        (r.id.clone(), instance.id.clone(), instance.stage.clone())
    }

    /// The path of the last POST Graph received.
    pub fn last_graph_post(&self) -> String {
        let requests = self.graph.requests();
        let post = requests
            .iter()
            .rev()
            .find(|q| q.method == "POST")
            .expect("a POST reached Graph");
        post.path.clone()
    }

    pub fn graph_requests(&self) -> u64 {
        self.graph.stats().graph_requests
    }
}

pub fn resume_task_command(ids: &(String, String, String), status: &str) -> Value {
    json!({"workflowId": ids.0, "taskId": ids.1, "taskProcessingResultId": ids.2, "operationStatus": status})
}

pub fn resume_access_command(ids: &(String, String, String)) -> Value {
    json!({"assignmentRequestId": ids.0, "customExtensionStageInstanceId": ids.1, "stage": ids.2})
}

/// `Data.req` for an HTTP trigger with forwarding off; `Body` only when there is one.
pub fn http_payload(function: &str, body: &str) -> Value {
    host_sim::http_payload(function, "POST", Some(body))
}

pub fn queue_payload(
    message: &Value,
    encoding: Encoding,
    message_id: &str,
    delivery: u32,
) -> Value {
    host_sim::queue_payload("ResumeTaskQueue", message, encoding, message_id, delivery)
}

pub fn timer_payload() -> Value {
    host_sim::timer_payload(true)
}

/// `resume-handler <args>`, an operator command, with the emulator as Graph, Resource
/// Manager and the managed identity: its exit code, stdout and stderr.
pub async fn run_cli(graph: &Running, args: &[&str]) -> (Option<i32>, String, String) {
    run_cli_answering(graph, args, "").await
}

/// The same, with `input` typed at the command's prompt.
pub async fn run_cli_answering(
    graph: &Running,
    args: &[&str],
    input: &str,
) -> (Option<i32>, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_resume-handler"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(graph.handler_settings())
        .env("GRAPH_RETRY_BUDGET", "5s")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let std::process::Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().await.unwrap();
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// RFC 3339, `seconds` ago.
pub fn ago(seconds: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Work that slipped, in `tenant` (at least two custom task results that do not wait, and
/// three assignment requests): a task failed 2 hours ago (`failed-today`) and one 3 days ago;
/// callouts timed out an hour ago (`timed-out-today`) and 10 days ago, and one failed in a
/// request that has not ended (`failed-in-progress`), each with its Logic App run id.
pub fn with_slipped_work(tenant: &mut graph_emulator::Tenant) {
    let mut custom = Vec::new();
    for (w, workflow) in tenant.workflows.iter().enumerate() {
        for (u, upr) in workflow.user_processing_results.iter().enumerate() {
            for (r, result) in upr.task_processing_results.iter().enumerate() {
                let task = workflow
                    .tasks
                    .iter()
                    .find(|t| t.id == result.task_id)
                    .unwrap();
                if task.is_custom_extension() && result.processing_status != "inProgress" {
                    custom.push((w, u, r));
                }
            }
        }
    }
    let mut fail = |(w, u, r): (usize, usize, usize), at: String, id: &str| {
        let result = &mut tenant.workflows[w].user_processing_results[u].task_processing_results[r];
        result.id = id.into();
        result.processing_status = "failed".into();
        result.completed_date_time = Some(at);
        result.failure_reason = Some("The task timed out waiting for the custom extension".into());
    };
    fail(custom[0], ago(2 * 3_600), "failed-today");
    fail(custom[1], ago(3 * 86_400), "failed-last-week");
    let callouts = [
        ("callbackTimedOut", Some(ago(3_600)), "timed-out-today"),
        ("calloutFailed", None, "failed-in-progress"),
        (
            "callbackTimedOut",
            Some(ago(10 * 86_400)),
            "timed-out-long-ago",
        ),
    ];
    for (request, (status, ended, id)) in tenant.assignment_requests.iter_mut().zip(callouts) {
        request.completed_date_time = ended;
        let callout = &mut request.custom_extension_callout_instances[0];
        callout.id = id.into();
        callout.status = status.into();
        callout.external_correlation_id = Some(format!("08584-run-{id}"));
    }
}

/// The lines of an answer's `Logs` that start with `prefix`.
pub fn log_lines<'a>(answer: &'a Value, prefix: &str) -> Vec<&'a str> {
    answer["Logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .filter(|l| l.starts_with(prefix))
        .collect()
}
