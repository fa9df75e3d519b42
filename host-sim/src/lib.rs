//! Plays the Azure Functions host for resume-handler, as docs/host-protocol.md describes
//! it: starts the handler as the host does, polls its readiness as the host does, and
//! sends invocations in the host's own encodings. The tests, the benchmarks and the local
//! run (`devhost`) all speak to the handler through this one crate, because the real host
//! cannot be installed where they run.
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// The host version the invocations claim to come from.
pub const HOST_VERSION: &str = "4.1040.300.0";

/// A free TCP port on 127.0.0.1, as the host picks one for `FUNCTIONS_CUSTOMHANDLER_PORT`.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// The command the host runs: the handler binary with only the given settings (the host
/// passes app settings as environment variables) and the port; nothing else of this
/// process's environment but `PATH`.
pub fn handler_command<'a>(
    binary: &Path,
    port: u16,
    settings: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .envs(settings);
    command
}

/// The host's side of one handler process.
#[derive(Clone)]
pub struct Host {
    pub port: u16,
    client: reqwest::Client,
}

impl Host {
    pub fn new(port: u16) -> Self {
        Self {
            port,
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("an HTTP client"),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Polls `GET /` every `interval` (the host uses 25 ms) until anything answers, for
    /// at most `limit`; how long it took.
    pub async fn wait_until_ready(
        &self,
        interval: Duration,
        limit: Duration,
    ) -> Result<Duration, String> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.client.get(self.url("/")).send().await.is_ok() {
                return Ok(started.elapsed());
            }
            tokio::time::sleep(interval).await;
        }
        Err(format!(
            "the handler did not answer GET / within {} s",
            limit.as_secs()
        ))
    }

    /// `POST /{function}` with the host's headers and `payload`; the status and the answer,
    /// which must be JSON.
    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<(u16, Value), String> {
        let response = self
            .client
            .post(self.url(&format!("/{function}")))
            .header(
                "X-Azure-Functions-InvocationId",
                uuid::Uuid::new_v4().to_string(),
            )
            .header("X-Azure-Functions-HostVersion", HOST_VERSION)
            .header("User-Agent", format!("Azure-Functions-Host/{HOST_VERSION}"))
            .header("Content-Type", "application/json")
            .body(payload.to_string())
            .send()
            .await
            .map_err(|e| format!("the handler did not answer {function}: {e}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| e.to_string())?;
        let answer =
            serde_json::from_str(&text).map_err(|_| format!("the answer is not JSON: {text:?}"))?;
        Ok((status, answer))
    }
}

/// How the host wraps a queue message in `Data.message`.
#[derive(Debug, Clone, Copy)]
pub enum Encoding {
    /// A JSON string inside a JSON string, as in the host's own tests.
    Double,
    /// One layer, as in the docs.
    Single,
    /// The message as a JSON object.
    Object,
}

/// `Data.req` of an HTTP trigger with forwarding off (`Body` only when there is one, as the
/// host sends it), authorized by a function key.
pub fn http_payload(function: &str, method: &str, body: Option<&str>) -> Value {
    let mut req = json!({
        "Url": format!("http://localhost:7071/api/{function}?code=abc"),
        "Method": method,
        "Query": {"code": "abc"},
        "Headers": {"Content-Type": ["application/json"], "User-Agent": ["curl/8.5.0"]},
        "Params": {},
        "Identities": [{"AuthenticationType": "WebJobsAuthLevel", "IsAuthenticated": true,
            "Claims": [{"Type": "http://schemas.microsoft.com/2017/07/functions/claims/keyid", "Value": "default"}]}],
    });
    if let Some(body) = body.filter(|b| !b.is_empty()) {
        req["Body"] = json!(body);
    }
    json!({"Data": {"req": req}, "Metadata": {"Query": {"code": "abc"}, "Headers": {"Content-Type": "application/json"},
        "sys": sys(function)}})
}

/// A Service Bus trigger's invocation: the message in `encoding`, the broker's Metadata
/// (strings, some encoded again), and the message's top-level properties copied into
/// Metadata over the host's own keys.
pub fn queue_payload(
    function: &str,
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
        "sys": sys(function),
    });
    if let Value::Object(fields) = message {
        for (key, value) in fields {
            metadata[key] = value.clone();
        }
    }
    json!({"Data": {"message": data}, "Metadata": metadata})
}

/// A timer trigger's invocation; `ScheduleStatus` is null when schedule monitoring is off.
pub fn timer_payload(schedule_monitoring: bool) -> Value {
    let status = if schedule_monitoring {
        json!({"Last": "2026-11-23T09:45:00+00:00", "Next": "2026-11-23T10:00:00+00:00", "LastUpdated": "2026-11-23T09:45:00+00:00"})
    } else {
        Value::Null
    };
    json!({"Data": {"timer": {"Schedule": {"AdjustForDST": true}, "ScheduleStatus": status, "IsPastDue": false}},
        "Metadata": {"sys": sys("ListInProgress")}})
}

fn sys(function: &str) -> Value {
    json!({"MethodName": function, "UtcNow": "2026-11-23T10:00:00Z", "RandGuid": uuid::Uuid::new_v4().to_string()})
}
