//! Starting the emulator and the handler, and speaking the host's protocol to it.
use graph_emulator::{Emulator, GenerateSpec, Running, Settings};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SMALL_TENANT: &str =
    "workflows=2,tasks=3,customTasks=2,users=5,inProgress=0.6,requests=6,seed=11";

/// How the host wraps a queue message in `Data.message` (docs/host-protocol.md).
#[derive(Debug, Clone, Copy)]
pub enum Encoding {
    /// A JSON string inside a JSON string, as in the host's own tests.
    Double,
    /// One layer, as in the docs.
    Single,
    /// The message as a JSON object.
    Object,
}

pub struct TestApp {
    pub graph: Running,
    pub port: u16,
    pub client: reqwest::Client,
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
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_resume-handler"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("GRAPH_BASE_URL", graph.url())
        .env("IDENTITY_ENDPOINT", graph.identity_endpoint())
        .env("IDENTITY_HEADER", "local-dev")
        .env("GRAPH_RETRY_BUDGET", "5s")
        .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
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
        handler,
        stderr,
    };
    app.wait_until_ready().await;
    app
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl TestApp {
    /// Polls `GET /` as the host does (every 25 ms), for up to 20 s.
    async fn wait_until_ready(&self) {
        for _ in 0..800 {
            if self.client.get(self.url("/")).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "the handler did not answer GET / in time; stderr: {:?}",
            self.stderr()
        );
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
        let response = self
            .client
            .post(self.url(&format!("/{function}")))
            .header(
                "X-Azure-Functions-InvocationId",
                uuid::Uuid::new_v4().to_string(),
            )
            .header("X-Azure-Functions-HostVersion", "4.1040.300.0")
            .header("User-Agent", "Azure-Functions-Host/4.1040.300.0")
            .header("Content-Type", "application/json")
            .body(payload.to_string())
            .send()
            .await
            .expect("handler answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("answer is not JSON: {text:?}"));
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
    let mut req = json!({
        "Url": format!("http://localhost:7071/api/{function}?code=abc"),
        "Method": "POST",
        "Query": {"code": "abc"},
        "Headers": {"Content-Type": ["application/json"], "User-Agent": ["curl/8.5.0"]},
        "Params": {},
        "Identities": [{"AuthenticationType": "WebJobsAuthLevel", "IsAuthenticated": true,
            "Claims": [{"Type": "http://schemas.microsoft.com/2017/07/functions/claims/keyid", "Value": "default"}]}],
    });
    if !body.is_empty() {
        req["Body"] = json!(body);
    }
    json!({"Data": {"req": req}, "Metadata": {"Query": {"code": "abc"}, "Headers": {"Content-Type": "application/json"},
        "sys": {"MethodName": function, "UtcNow": "2026-11-23T10:00:00Z", "RandGuid": uuid::Uuid::new_v4().to_string()}}})
}

pub fn queue_payload(
    message: &Value,
    encoding: Encoding,
    message_id: &str,
    delivery: u32,
) -> Value {
    let data = match encoding {
        Encoding::Double => json!(json!(message.to_string()).to_string()),
        Encoding::Single => json!(message.to_string()),
        Encoding::Object => message.clone(),
    };
    let mut metadata = json!({
        "MessageId": json!(message_id).to_string(),
        "DeliveryCount": delivery.to_string(),
        "EnqueuedTimeUtc": "2026-11-23T10:00:00",
        "SequenceNumber": "42",
        "ContentType": "application/json",
        "ApplicationProperties": {},
        "UserProperties": {},
        "LockToken": uuid::Uuid::new_v4().to_string(),
        "Client": {"FullyQualifiedNamespace": "sb-resume.servicebus.windows.net", "Identifier": "x"},
        "MessageReceiver": {}, "MessageSession": {}, "MessageActions": {}, "SessionActions": {}, "ReceiveActions": {},
        "sys": {"MethodName": "ResumeTaskQueue", "UtcNow": "2026-11-23T10:00:01Z", "RandGuid": uuid::Uuid::new_v4().to_string()}
    });
    // The host copies the body's top-level properties into Metadata.
    if let Value::Object(fields) = message {
        for (k, v) in fields {
            metadata[k] = v.clone();
        }
    }
    json!({"Data": {"message": data}, "Metadata": metadata})
}

pub fn timer_payload() -> Value {
    json!({"Data": {"timer": {"Schedule": {"AdjustForDST": true},
        "ScheduleStatus": {"Last": "2026-11-23T09:45:00+00:00", "Next": "2026-11-23T10:00:00+00:00", "LastUpdated": "2026-11-23T09:45:00+00:00"},
        "IsPastDue": false}},
        "Metadata": {"sys": {"MethodName": "ListInProgress", "UtcNow": "2026-11-23T10:00:00Z", "RandGuid": uuid::Uuid::new_v4().to_string()}}})
}
