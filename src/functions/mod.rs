//! One module per function folder: host payload → command → Graph → outcome → host response.
//!
//! [`invoke`] is the single entry point from the server: it finds the function, runs it,
//! answers every failure with a complete invocation response, and writes the one summary
//! line per invocation (in `Logs` on success; on stderr on failure, because the host
//! drops the `Logs` of failed invocations).
pub mod list_in_progress;
pub mod outcome;
mod resume;
mod resume_access_request;
mod resume_task;

use crate::auth::TokenSource;
use crate::config::Settings;
use crate::domain::{AccessCommand, CommandError, ResumeTask};
use crate::graph::{Call, GraphClient, GraphFailure};
use crate::host::{HttpOutput, Invocation, InvocationResponse};
use outcome::{Failure, Outcome};
use serde_json::{json, Map, Value};
use std::fmt::Write;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use warp::http::StatusCode;

/// The longest an HTTP-triggered resume retries Graph, whatever `GRAPH_RETRY_BUDGET` says:
/// Azure's front end drops an HTTP request after 230 s, and the caller should hear the
/// 503 with its `Retry-After` before that.
pub const HTTP_MAX_BUDGET: Duration = Duration::from_secs(200);

/// What every invocation shares: settings and the one Graph client of the process.
///
/// The Graph client (credential, TLS configuration, connection pool) is built once, off the
/// start-up path: the host counts a cold start until the first answer, and an invocation
/// that fails validation never needs Graph. [`crate::startup`] builds it right after the
/// port is bound, and stops the process if it cannot be built.
pub struct App {
    pub settings: Settings,
    graph: tokio::sync::OnceCell<GraphClient>,
    /// Cancelled when the process is told to stop: waits end at once, so in-flight
    /// invocations answer and the process can drain.
    pub stopping: CancellationToken,
}

impl App {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            graph: tokio::sync::OnceCell::new(),
            stopping: CancellationToken::new(),
        }
    }

    /// Holds a queue delivery that met Graph's passing trouble until its budget is spent,
    /// so that each delivery of the message rides out as much of an outage as the budget
    /// allows instead of failing at once and being redelivered at once (README, "Outages").
    /// No request is sent while holding; a stop ends the hold.
    async fn hold_until(&self, deadline: Instant) {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => {}
            _ = self.stopping.cancelled() => {}
        }
    }

    /// The process's Graph client, built on first use.
    pub async fn graph(&self) -> Result<&GraphClient, GraphFailure> {
        self.graph
            .get_or_try_init(|| async {
                let tokens = TokenSource::from_settings(&self.settings).map_err(|e| {
                    GraphFailure::Unavailable {
                        reason: format!("cannot set up {}: {e}", self.settings.auth.describe()),
                        retry_after: std::time::Duration::from_secs(60),
                        code: None,
                        request_id: None,
                    }
                })?;
                GraphClient::new(&self.settings, tokens).map_err(|e| GraphFailure::Unexpected {
                    reason: format!("cannot build the HTTP client: {e}"),
                    request_id: None,
                })
            })
            .await
    }
}

/// The functions of this app, by folder name.
pub const FUNCTIONS: [&str; 6] = [
    "ResumeTask",
    "ResumeTaskQueue",
    "ResumeAccessRequest",
    "ResumeAccessRequestQueue",
    "ListInProgress",
    "InProgress",
];

pub async fn invoke(
    app: &App,
    function: &str,
    invocation_id: Option<&str>,
    payload: &[u8],
) -> InvocationResponse {
    if !FUNCTIONS.contains(&function) {
        return malformed(
            StatusCode::NOT_FOUND,
            "unknownFunction",
            format!(
                "this app has no function '{}'; it has {}",
                crate::telemetry::escape(function),
                FUNCTIONS.join(", ")
            ),
        );
    }
    let invocation = match Invocation::parse(function, invocation_id, payload) {
        Ok(invocation) => invocation,
        Err(message) => {
            return malformed(
                StatusCode::INTERNAL_SERVER_ERROR,
                "malformedInvocation",
                message,
            )
        }
    };
    let started = Instant::now();
    if matches!(function, "ListInProgress" | "InProgress") {
        return list(app, &invocation, started).await;
    }
    let Arrival {
        trigger,
        body,
        correlation,
        mut log,
    } = match Arrival::of(&invocation, started) {
        Ok(arrival) => arrival,
        Err(message) => {
            return malformed(
                StatusCode::INTERNAL_SERVER_ERROR,
                "malformedInvocation",
                message,
            )
        }
    };
    let budget = match trigger {
        Trigger::Http => app.settings.retry_budget.min(HTTP_MAX_BUDGET),
        Trigger::Queue => app.settings.retry_budget,
    };
    let call = Call::new(correlation, budget);
    let outcome = match body {
        Ok(body) if function.starts_with("ResumeTask") => {
            run_task(app, &body, &call, &mut log).await
        }
        Ok(body) => run_access(app, &body, &call, &mut log).await,
        Err(error) => Err(Failure::Invalid(error)),
    };
    if let (Trigger::Queue, Err(failure)) = (trigger, &outcome) {
        if failure.is_transient() {
            app.hold_until(call.deadline()).await;
        }
    }
    answer(trigger, outcome, log)
}

async fn run_task(
    app: &App,
    body: &Map<String, Value>,
    call: &Call,
    log: &mut LogLine,
) -> Result<Outcome, Failure> {
    let command = ResumeTask::parse(body, &app.settings.resume_source)?;
    log.field("workflowId", Some(command.workflow_id.to_string()));
    log.field("taskId", Some(command.task_id.to_string()));
    log.field(
        "taskProcessingResultId",
        Some(command.task_processing_result_id.to_string()),
    );
    log.field(
        "operationStatus",
        Some(command.operation_status.as_str().to_string()),
    );
    resume_task::resume(app, &command, call).await
}

async fn run_access(
    app: &App,
    body: &Map<String, Value>,
    call: &Call,
    log: &mut LogLine,
) -> Result<Outcome, Failure> {
    match AccessCommand::parse(body, &app.settings.resume_source)? {
        AccessCommand::ConnectionTest => Ok(Outcome::ConnectionTest),
        AccessCommand::Resume(command) => {
            log.field(
                "assignmentRequestId",
                Some(command.assignment_request_id.to_string()),
            );
            log.field("stage", Some(command.stage.as_str().to_string()));
            log.field(
                "customExtensionStageInstanceId",
                Some(command.custom_extension_stage_instance_id.to_string()),
            );
            resume_access_request::resume(app, &command, call).await
        }
    }
}

async fn list(app: &App, invocation: &Invocation, started: Instant) -> InvocationResponse {
    let http = invocation.function == "InProgress";
    let checked = if http {
        invocation.http().map(|_| ())
    } else {
        invocation.timer()
    };
    if let Err(message) = checked {
        return malformed(
            StatusCode::INTERNAL_SERVER_ERROR,
            "malformedInvocation",
            message,
        );
    }
    // Each Graph request of the sweep has the whole retry budget; the sweep as a whole
    // answers in time for the HTTP front end, or well inside functionTimeout.
    let overall = if http {
        list_in_progress::HTTP_SWEEP_BUDGET
    } else {
        list_in_progress::SWEEP_BUDGET
    };
    let call = Call::with_request_budget(
        correlation_id(&invocation.id),
        app.settings.retry_budget,
        overall,
    );
    let report = list_in_progress::sweep(app, &call).await;
    let mut log = LogLine::new(invocation, started);
    log.field("count", Some(report.count.to_string()));
    log.field("staleCount", Some(report.stale_count.to_string()));
    log.field("partial", Some(report.partial.to_string()));
    log.field("errors", Some(report.errors.len().to_string()));
    log.field("graphCalls", Some(report.graph_calls.to_string()));
    let summary = log.finish(if report.partial { "partial" } else { "listed" }, None);
    if report.partial {
        tracing::warn!("{summary}");
    }
    let mut response = InvocationResponse::ok().with_log(summary);
    for item in report.items.iter().filter(|i| i.stale) {
        response = response.with_log(format!(
            "stale: workflowId={} taskId={} taskProcessingResultId={} subjectId={} ageSeconds={} deadline={}",
            item.workflow_id,
            item.task_id,
            item.task_processing_result_id,
            item.subject_id.as_deref().unwrap_or("-"),
            item.age_seconds.unwrap_or(0),
            item.deadline.as_deref().unwrap_or("-"),
        ));
    }
    let report = serde_json::to_value(&report).expect("report serializes");
    if http {
        response.with_http(HttpOutput::json(200, report))
    } else {
        response.with_return_value(report)
    }
}

#[derive(Clone, Copy)]
enum Trigger {
    Http,
    Queue,
}

/// A resume command as it arrived, before it is parsed.
struct Arrival {
    trigger: Trigger,
    body: Result<Map<String, Value>, CommandError>,
    /// The `client-request-id` for Graph: the Service Bus MessageId's, or the invocation's.
    correlation: String,
    log: LogLine,
}

impl Arrival {
    fn of(invocation: &Invocation, started: Instant) -> Result<Self, String> {
        let mut log = LogLine::new(invocation, started);
        if invocation.function.ends_with("Queue") {
            let queue = invocation.queue()?;
            log.field("messageId", queue.message_id.clone());
            log.field("deliveryCount", queue.delivery_count.map(|n| n.to_string()));
            Ok(Self {
                trigger: Trigger::Queue,
                correlation: correlation_id(queue.message_id.as_deref().unwrap_or(&invocation.id)),
                body: queue.body,
                log,
            })
        } else {
            let req = invocation.http()?;
            log.field("caller", req.caller());
            Ok(Self {
                trigger: Trigger::Http,
                body: req.command_body(),
                correlation: correlation_id(&invocation.id),
                log,
            })
        }
    }
}

fn answer(trigger: Trigger, outcome: Result<Outcome, Failure>, log: LogLine) -> InvocationResponse {
    match outcome {
        Ok(outcome) => {
            let line = log.finish(outcome.name(), outcome.graph_request_id());
            let response = InvocationResponse::ok().with_log(line);
            match trigger {
                Trigger::Http => response.with_http(HttpOutput::json(200, outcome.to_json())),
                Trigger::Queue => response.with_return_value(outcome.to_json()),
            }
        }
        Err(failure) => {
            let mut log = log;
            log.field("status", Some(failure.http_status().to_string()));
            tracing::error!("{}", log.finish(failure.code(), failure.graph_request_id()));
            match trigger {
                Trigger::Http => InvocationResponse::ok().with_http(HttpOutput {
                    status: failure.http_status(),
                    body: failure.to_json(),
                    retry_after_seconds: failure.retry_after().map(|d| d.as_secs().max(1)),
                }),
                Trigger::Queue => InvocationResponse::failed(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    failure.to_json()["error"].clone(),
                ),
            }
        }
    }
}

fn malformed(status: StatusCode, code: &str, message: String) -> InvocationResponse {
    tracing::error!(code, "{message}");
    InvocationResponse::failed(status, json!({ "code": code, "message": message }))
}

/// The `client-request-id` for Graph: the Service Bus MessageId when it is a GUID, else a
/// name-based GUID derived from it, so every redelivery of a message correlates in Graph.
pub fn correlation_id(seed: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5f1e_2c3a_8d4b_4e6f_9a0b_1c2d_3e4f_5a6b);
    match uuid::Uuid::parse_str(seed) {
        Ok(id) => id.to_string(),
        Err(_) => uuid::Uuid::new_v5(&NAMESPACE, seed.as_bytes()).to_string(),
    }
}

/// The one summary line of an invocation: `Function invocationId=… key=value … outcome=… durationMs=…`.
/// Only ids and enums go in it: never a token, a secret or free text from a message; and
/// every value is escaped, so a MessageId with a line break cannot forge a second line.
struct LogLine {
    text: String,
    started: Instant,
}

impl LogLine {
    fn new(invocation: &Invocation, started: Instant) -> Self {
        Self {
            text: format!(
                "{} invocationId={}",
                invocation.function,
                crate::telemetry::escape(&invocation.id)
            ),
            started,
        }
    }

    fn field(&mut self, key: &str, value: Option<String>) {
        if let Some(value) = value {
            let _ = write!(self.text, " {key}={}", crate::telemetry::escape(&value));
        }
    }

    fn finish(mut self, outcome: &str, graph_request_id: Option<&str>) -> String {
        self.field("outcome", Some(outcome.to_string()));
        self.field("graphRequestId", graph_request_id.map(str::to_string));
        self.field(
            "durationMs",
            Some(self.started.elapsed().as_millis().to_string()),
        );
        self.text
    }
}
