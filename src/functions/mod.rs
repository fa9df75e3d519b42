//! The Functions host's front end: host payload → [`Command`] or report → host response.
//!
//! [`invoke`] is the single entry point from the server: it finds the function in the
//! [`table`], runs its operation inside a tracing span that names the function and the
//! invocation, answers every failure with a complete invocation response, and writes the one
//! summary line per invocation (in `Logs` on success; on stderr on failure, because the host
//! drops the `Logs` of failed invocations).
mod arrival;
mod summary;
pub mod table;

use crate::app::App;
use crate::command::{Command, Failure, Kind, Outcome, Problem, Retry};
use crate::graph::models::Stage;
use crate::graph::Call;
use crate::host::{json_len, raw, HttpOutput, Invocation, InvocationResponse};
use crate::report;
use crate::telemetry::{escape, field_value};
use arrival::{correlation_id, Arrival};
use serde_json::json;
use std::time::{Duration, Instant};
use summary::Summary;
use table::{Function, Operation, Trigger};
use tracing::Instrument;
use warp::http::StatusCode;

/// The longest an HTTP-triggered resume retries Graph, whatever `GRAPH_RETRY_BUDGET` says:
/// Azure's front end drops an HTTP request after 230 s, and the caller should hear the
/// 503 with its `Retry-After` before that.
pub const HTTP_MAX_BUDGET: Duration = Duration::from_secs(200);

pub async fn invoke(
    app: &App,
    name: &str,
    invocation_id: Option<&str>,
    payload: &[u8],
) -> InvocationResponse {
    let Some(function) = Function::from_name(name) else {
        let known: Vec<&str> = Function::all().map(Function::name).collect();
        return malformed(
            name,
            invocation_id,
            StatusCode::NOT_FOUND,
            "unknownFunction",
            format!(
                "this app has no function '{}'; it has {}",
                escape(name),
                known.join(", ")
            ),
        );
    };
    let invocation = match Invocation::parse(function.name(), invocation_id, payload) {
        Ok(invocation) => invocation,
        Err(message) => {
            return malformed(
                function.name(),
                invocation_id,
                StatusCode::INTERNAL_SERVER_ERROR,
                "malformedInvocation",
                message,
            )
        }
    };
    let span = tracing::info_span!(
        "invocation",
        function = function.name(),
        id = %field_value(&invocation.id)
    );
    let started = Instant::now();
    let trigger = function.trigger();
    async {
        match function.operation() {
            Operation::Resume(kind) => resume(app, &invocation, trigger, kind, started).await,
            Operation::ListInProgress => list(app, &invocation, trigger, started).await,
        }
    }
    .instrument(span)
    .await
}

async fn resume(
    app: &App,
    invocation: &Invocation,
    trigger: Trigger,
    kind: Kind,
    started: Instant,
) -> InvocationResponse {
    let Arrival {
        body,
        correlation,
        mut summary,
    } = match Arrival::of(invocation, trigger, started) {
        Ok(arrival) => arrival,
        Err(message) => {
            return malformed(
                &invocation.function,
                Some(&invocation.id),
                StatusCode::INTERNAL_SERVER_ERROR,
                "malformedInvocation",
                message,
            )
        }
    };
    let budget = match trigger {
        Trigger::Http => app.settings.graph.retry_budget.min(HTTP_MAX_BUDGET),
        Trigger::Queue | Trigger::Timer => app.settings.graph.retry_budget,
    };
    let call = Call::new(correlation, budget);
    summary.field("kind", Some(kind.as_str()));
    let command = body.and_then(|body| Command::parse(kind, &body, &app.settings.resume.source));
    let outcome = match command {
        Err(error) => Err(Failure::Invalid(error)),
        Ok(command) => {
            for (name, value) in command.fields() {
                summary.field(name, Some(value));
            }
            command.run(app, &call).await
        }
    }
    .map_err(|failure| failure.problem());
    // A delivery that met Graph's passing trouble holds its message until its budget is
    // spent, so each delivery rides out as much of an outage as the budget allows instead
    // of failing and being redelivered at once (README, *Outages*). Nothing is sent
    // meanwhile; a stop ends the hold. An HTTP caller is answered at once.
    if let (Trigger::Queue, Err(problem)) = (trigger, &outcome) {
        match problem.retry {
            Retry::Later => app.wait_until(call.deadline()).await,
            // A permission or an authorizedApps entry granted minutes ago may not have
            // reached Graph yet: each delivery holds half its budget before failing, so the
            // queue waits out the propagation (README, *Outcomes*) instead of spending its
            // deliveries in seconds and dead-lettering the message.
            Retry::AfterPropagation => {
                app.wait_until((started + budget / 2).min(call.deadline()))
                    .await
            }
            Retry::Never => {}
        }
    }
    summary.graph(call.stats());
    answer(trigger, outcome, summary)
}

async fn list(
    app: &App,
    invocation: &Invocation,
    trigger: Trigger,
    started: Instant,
) -> InvocationResponse {
    let checked = match trigger {
        Trigger::Http => invocation.http().map(|_| ()),
        Trigger::Timer => invocation.timer(),
        Trigger::Queue => invocation.queue().map(|_| ()),
    };
    if let Err(message) = checked {
        return malformed(
            &invocation.function,
            Some(&invocation.id),
            StatusCode::INTERNAL_SERVER_ERROR,
            "malformedInvocation",
            message,
        );
    }
    // Each Graph request of the sweep has the whole retry budget; the sweep as a whole
    // answers in time for the HTTP front end, or well inside functionTimeout.
    let overall = match trigger {
        Trigger::Http => report::HTTP_SWEEP_BUDGET,
        Trigger::Queue | Trigger::Timer => report::SWEEP_BUDGET,
    };
    let call = Call::with_request_budget(
        correlation_id(&invocation.id),
        app.settings.graph.retry_budget,
        overall,
    );
    let report = report::shared_sweep(app, &call).await;
    let slipped = slipped_on_timer(app, &call, trigger).await;
    let mut summary = Summary::new(invocation, started);
    summary.field("count", Some(report.count.to_string()));
    summary.field("staleCount", Some(report.stale_count.to_string()));
    summary.field(
        "unknownAgeCount",
        Some(report.unknown_age_count.to_string()),
    );
    summary.field(
        "unknownAgeOverdueCount",
        Some(report.unknown_age_overdue_count.to_string()),
    );
    summary.field("partial", Some(report.partial.to_string()));
    summary.field("errors", Some(report.errors.len().to_string()));
    summary.field(
        "oldestAgeSeconds",
        report
            .items
            .iter()
            .filter_map(|i| i.waiting().age_seconds)
            .max()
            .map(|age| age.to_string()),
    );
    if let Some(slipped) = &slipped {
        summary.field("slippedCount", Some(slipped.count.to_string()));
        summary.field("slippedPartial", Some(slipped.partial.to_string()));
        summary.field("slippedGraphCalls", Some(slipped.graph_calls.to_string()));
    }
    summary.graph(call.stats());
    let line = summary.finish(if report.partial { "partial" } else { "listed" }, None);
    if report.partial {
        tracing::warn!("{line}");
    }
    let mut response = InvocationResponse::ok().with_log(line);
    // The oldest stale items (the report is oldest first), then how many more: a backlog of
    // thousands must not become thousands of lines in Application Insights every sweep.
    let stale = report.items.iter().filter(|i| i.waiting().is_stale());
    response = with_item_lines(response, stale.map(stale_line), |more| {
        format!("stale: more={more} (the oldest {ITEM_LINES} are listed above; InProgress and `resume-handler report --stale` list them all)")
    });
    if let Some(slipped) = &slipped {
        response = with_item_lines(response, slipped.items.iter().map(slipped_line), |more| {
            format!("slipped: more={more} (the oldest {ITEM_LINES} are listed above; `resume-handler report --since` lists them all)")
        });
        // What the look-back could not read, which `slippedPartial` only counts.
        response = with_item_lines(response, slipped.errors.iter().map(error_line), |more| {
            format!("slipped: moreErrors={more}")
        });
    }
    // Measured before it is written: a report of 5,000 items whose names run to the 256
    // characters kept is some 7 MiB of JSON, never built when only what fits is sent.
    let report = if json_len(&*report) > report::MAX_ANSWER_BYTES {
        raw(&report.truncated(report::MAX_ANSWER_BYTES))
    } else {
        raw(&*report)
    };
    match trigger {
        Trigger::Http => response.with_http(HttpOutput::json(200, report)),
        Trigger::Queue | Trigger::Timer => response.with_return_value(report),
    }
}

/// The stale (or slipped) items a sweep logs a line for, oldest first; the rest are counted
/// in one line.
pub const ITEM_LINES: usize = 20;

/// `response` with the first [`ITEM_LINES`] of `lines`, then `more`'s line for the rest.
fn with_item_lines(
    mut response: InvocationResponse,
    lines: impl Iterator<Item = String>,
    more: impl FnOnce(usize) -> String,
) -> InvocationResponse {
    let mut left = 0;
    for (n, line) in lines.enumerate() {
        if n < ITEM_LINES {
            response = response.with_log(line);
        } else {
            left += 1;
        }
    }
    if left > 0 {
        response = response.with_log(more(left));
    }
    response
}

/// What slipped in the last `SLIPPED_LOOK_BACK`, looked for by the timer's sweeps only (so
/// that the alert and the workbook see it). It runs after the sweep of
/// what waits, within what is left of that sweep's deadline (`sweep`'s), so that the
/// invocation keeps to `GRAPH_MAX_CONCURRENCY` and to the sweep's time.
async fn slipped_on_timer(
    app: &App,
    sweep: &Call,
    trigger: Trigger,
) -> Option<report::SlippedReport> {
    let window = app.settings.report.slipped_look_back?;
    if trigger != Trigger::Timer {
        return None;
    }
    let call = Call::with_request_budget(
        sweep.client_request_id.clone(),
        app.settings.graph.retry_budget,
        sweep.deadline().saturating_duration_since(Instant::now()),
    );
    Some(report::slipped(app, &call, window).await)
}

/// A value of an item's log line, through [`field_value`]; `-` where there is none.
fn value(value: Option<&str>) -> std::borrow::Cow<'_, str> {
    field_value(value.unwrap_or("-"))
}

/// A part of the look-back for what slipped that Graph did not answer: its kind, the
/// workflow, and the status, code and reason as the report's `errors` give them.
fn error_line(error: &report::SweepError) -> String {
    format!(
        "slipped: error kind={} workflowId={} status={} code={} reason={}",
        value(error.kind.map(Kind::as_str)),
        value(error.workflow_id.as_deref()),
        error.status,
        value(Some(&error.code)),
        value(Some(&error.message)),
    )
}

/// A task processing result's ids, as its log lines write them.
fn task_fields(result: &report::NamedTaskResult) -> String {
    format!(
        "workflowId={} taskId={} taskProcessingResultId={} subjectId={}",
        value(Some(result.workflow_id.as_str())),
        value(Some(result.task_id.as_str())),
        value(Some(&result.task_processing_result_id)),
        value(result.subject_id.as_deref()),
    )
}

/// The log line for an item that slipped (README, *Monitoring*): its kind, why, the ids an
/// operator acts on, and when, each value through [`field_value`].
fn slipped_line(item: &report::SlippedItem) -> String {
    use report::SlippedItem;
    let what = match item {
        SlippedItem::Task(t) => task_fields(&t.result),
        SlippedItem::AccessRequest(r) => format!(
            "assignmentRequestId={} accessPackageId={} customExtensionStageInstanceId={} externalCorrelationId={} targetId={}",
            value(Some(&r.assignment_request_id)),
            value(r.access_package_id.as_deref()),
            value(Some(&r.custom_extension_stage_instance_id)),
            value(r.external_correlation_id.as_deref()),
            value(r.target_id.as_deref()),
        ),
    };
    format!(
        "slipped: kind={} reason={} {what} at={}",
        item.kind().as_str(),
        item.slipped().as_str(),
        value(item.at()),
    )
}

/// The log line for a stale item (README, *ListInProgress and InProgress*). Its values come
/// from Graph, so each goes through [`field_value`] as the summary's do.
fn stale_line(item: &report::Item) -> String {
    use report::Item;
    let waiting = item.waiting();
    let what = match item {
        Item::Task(t) => task_fields(&t.result),
        Item::AccessRequest(r) => format!(
            "kind=accessRequest assignmentRequestId={} accessPackageId={} stage={} customExtensionStageInstanceId={} targetId={}",
            value(Some(&r.assignment_request_id)),
            value(r.access_package_id.as_deref()),
            value(r.stage.as_ref().map(Stage::as_str)),
            value(Some(&r.custom_extension_stage_instance_id)),
            value(r.target_id.as_deref()),
        ),
    };
    format!(
        "stale: {what} ageSeconds={} deadline={}",
        waiting.age_seconds.unwrap_or(0),
        value(waiting.deadline.as_deref()),
    )
}

/// Where an outcome or a failure's [`Problem`] becomes the host's answer, shaped by the
/// trigger: HTTP callers get `Outputs.res` with a status; other triggers succeed with
/// `ReturnValue` or fail the invocation (so Service Bus redelivers).
fn answer(
    trigger: Trigger,
    outcome: Result<Outcome, Problem>,
    summary: Summary,
) -> InvocationResponse {
    match outcome {
        Ok(outcome) => {
            let line = summary.finish(outcome.name(), outcome.graph_request_id());
            let response = InvocationResponse::ok().with_log(line);
            match trigger {
                Trigger::Http => response.with_http(HttpOutput::json(200, raw(&outcome.to_json()))),
                Trigger::Queue | Trigger::Timer => {
                    response.with_return_value(raw(&outcome.to_json()))
                }
            }
        }
        Err(problem) => {
            let mut summary = summary;
            summary.field("status", Some(problem.status.to_string()));
            tracing::error!(
                "{}",
                summary.finish(&problem.code, problem.graph_request_id.as_deref())
            );
            match trigger {
                Trigger::Http => InvocationResponse::ok().with_http(HttpOutput {
                    status: problem.status,
                    body: raw(&problem.to_json()),
                    retry_after_seconds: problem.retry_after_seconds,
                }),
                Trigger::Queue | Trigger::Timer => {
                    InvocationResponse::failed(StatusCode::INTERNAL_SERVER_ERROR, json!(problem))
                }
            }
        }
    }
}

/// An invocation the handler could not read still writes its one summary line (on stderr,
/// as every failure): the function, the invocation id where the host gave one, and what was
/// wrong, so that the alerts count it and a search finds it.
fn malformed(
    function: &str,
    invocation_id: Option<&str>,
    status: StatusCode,
    code: &str,
    message: impl std::fmt::Display,
) -> InvocationResponse {
    let message = message.to_string();
    let mut summary = Summary::of(function, invocation_id, Instant::now());
    summary.field("status", Some(status.as_u16().to_string()));
    summary.field("reason", Some(&message));
    let line = summary.finish(code, None);
    // Inside the invocation's span, as every failure's line is, so queries find it the same way.
    let span = tracing::error_span!(
        "invocation",
        function,
        id = %field_value(invocation_id.unwrap_or("-"))
    );
    span.in_scope(|| tracing::error!("{line}"));
    InvocationResponse::failed(status, json!({ "code": code, "message": message }))
}
