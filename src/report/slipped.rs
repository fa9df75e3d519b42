//! What slipped (`resume-handler report --since`): work Entra stopped waiting for within a
//! look-back window, with the ids an operator needs and why (README, *When a task timed
//! out*):
//! - a Lifecycle Workflows custom task result that `failed` (`taskFailed`): Entra failed it,
//!   most often at the extension's callback timeout, with Graph's `failureReason`;
//! - an access package request callout that failed (`calloutFailed`: the Logic App was not
//!   reached, or refused) or whose callback came too late (`callbackTimedOut`), with the
//!   Logic App run id Graph keeps as `externalCorrelationId`.
//!
//! Graph dates a failed task result (`completedDateTime`), so the window is exact for tasks.
//! It dates no callout: a request whose callout slipped is listed when it ended within the
//! window, or has not ended.
use super::access_requests::{self, SlippedCallout};
use super::bounded_name;
use super::build::{format_utc, NamedTaskResult, SweepError};
use super::tasks::{self, Found, Wanted};
use crate::app::App;
use crate::command::Kind;
use crate::graph::models::{CalloutStatus, RequestState};
use crate::graph::Call;
use serde::Serialize;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Why an item slipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Slip {
    CalloutFailed,
    CallbackTimedOut,
    TaskFailed,
}

impl Slip {
    pub fn as_str(self) -> &'static str {
        match self {
            Slip::CalloutFailed => "calloutFailed",
            Slip::CallbackTimedOut => "callbackTimedOut",
            Slip::TaskFailed => "taskFailed",
        }
    }
}

/// What slipped in the window, oldest first where Graph dates it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SlippedReport {
    /// The window's start, RFC 3339 in UTC.
    pub since: String,
    pub count: usize,
    pub partial: bool,
    pub graph_calls: u32,
    pub duration_ms: u64,
    pub items: Vec<SlippedItem>,
    pub errors: Vec<SweepError>,
}

/// One piece of work that slipped; its `kind` and `slipped` reason are written first.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SlippedItem {
    Task(SlippedTask),
    AccessRequest(Box<SlippedAccessRequest>),
}

impl SlippedItem {
    pub fn kind(&self) -> Kind {
        match self {
            SlippedItem::Task(_) => Kind::Task,
            SlippedItem::AccessRequest(_) => Kind::AccessRequest,
        }
    }

    pub fn slipped(&self) -> Slip {
        match self {
            SlippedItem::Task(task) => task.slipped,
            SlippedItem::AccessRequest(request) => request.slipped,
        }
    }

    /// When it slipped, where Graph says.
    pub fn at(&self) -> Option<&str> {
        match self {
            SlippedItem::Task(task) => task.completed_date_time.as_deref(),
            SlippedItem::AccessRequest(request) => request.request_completed_date_time.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SlippedTask {
    pub slipped: Slip,
    #[serde(flatten)]
    pub result: NamedTaskResult,
    pub completed_date_time: Option<String>,
    /// Graph's words for why it failed, bounded as names are.
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SlippedAccessRequest {
    pub slipped: Slip,
    pub assignment_request_id: String,
    pub access_package_id: Option<String>,
    pub access_package_name: Option<String>,
    pub custom_extension_stage_instance_id: String,
    pub custom_extension_id: Option<String>,
    /// What the endpoint gave back for the callout: for a Logic App, its run id.
    pub external_correlation_id: Option<String>,
    pub detail: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub request_state: Option<RequestState>,
    pub request_created_date_time: Option<String>,
    pub request_completed_date_time: Option<String>,
}

/// Sweeps for what slipped in the last `window`, the kinds the settings name side by side,
/// until `call`'s deadline.
pub async fn slipped(app: &App, call: &Call, window: Duration) -> SlippedReport {
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let since = now - time::Duration::try_from(window).unwrap_or(time::Duration::MAX);
    let kinds = &app.settings.report.kinds;
    let tasks = async {
        if kinds.contains(&Kind::Task) {
            Some(tasks::gather_results(app, call, Wanted::FailedSince(since)).await)
        } else {
            None
        }
    };
    let requests = async {
        if kinds.contains(&Kind::AccessRequest) {
            Some(access_requests::gather_slipped(app, call, since).await)
        } else {
            None
        }
    };
    let (tasks, requests) = tokio::join!(tasks, requests);
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut cut_short = false;
    if let Some(g) = tasks {
        items.extend(g.found.into_iter().map(task_item));
        errors.extend(g.errors);
        cut_short |= g.cut_short;
    }
    if let Some(g) = requests {
        items.extend(g.slipped.into_iter().filter_map(request_item));
        errors.extend(g.errors);
        cut_short |= g.cut_short;
    }
    // Oldest first; what Graph does not date, last.
    items.sort_by(|a, b| {
        (a.at().is_none(), a.at(), a.kind()).cmp(&(b.at().is_none(), b.at(), b.kind()))
    });
    SlippedReport {
        since: format_utc(since).expect("a time near now formats"),
        count: items.len(),
        partial: cut_short || !errors.is_empty(),
        graph_calls: call.graph_requests(),
        duration_ms: started.elapsed().as_millis() as u64,
        items,
        errors,
    }
}

fn task_item(found: Found) -> SlippedItem {
    let result = found.result;
    SlippedItem::Task(SlippedTask {
        slipped: Slip::TaskFailed,
        result: NamedTaskResult::of(&found.task, &result),
        completed_date_time: result.completed_date_time.into_option(),
        failure_reason: bounded_name(result.failure_reason.as_deref()),
    })
}

fn request_item(slipped: SlippedCallout) -> Option<SlippedItem> {
    let request = &*slipped.request;
    let callout = slipped.callout;
    let reason = match &*callout.status {
        Some(CalloutStatus::CalloutFailed) => Slip::CalloutFailed,
        Some(CalloutStatus::CallbackTimedOut) => Slip::CallbackTimedOut,
        _ => return None,
    };
    let package = request.access_package.as_ref();
    let target = request.target();
    Some(SlippedItem::AccessRequest(Box::new(SlippedAccessRequest {
        slipped: reason,
        assignment_request_id: request.id.as_deref().unwrap_or_default().to_string(),
        access_package_id: package.and_then(|p| p.id.as_ref().cloned()),
        access_package_name: bounded_name(package.and_then(|p| p.display_name.as_deref())),
        custom_extension_stage_instance_id: callout.id.into_option().unwrap_or_default(),
        custom_extension_id: callout.custom_extension_id.into_option(),
        external_correlation_id: bounded_name(callout.external_correlation_id.as_deref()),
        detail: bounded_name(callout.detail.as_deref()),
        target_id: target.and_then(|t| t.object_id.as_ref().cloned()),
        target_name: bounded_name(target.and_then(|t| t.display_name.as_deref())),
        request_state: request.state.as_ref().cloned(),
        request_created_date_time: request.created_date_time.as_ref().cloned(),
        request_completed_date_time: request.completed_date_time.as_ref().cloned(),
    })))
}
