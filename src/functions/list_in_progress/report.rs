//! The report: what the sweep gathered, with each waiting result's age, deadline and
//! staleness, in the shape the README documents. No I/O here.
use super::gather::Gathered;
use crate::functions::outcome::Failure;
use crate::graph::GraphFailure;
use serde::Serialize;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub count: usize,
    pub stale_count: usize,
    pub partial: bool,
    pub graph_calls: u32,
    pub duration_ms: u64,
    pub items: Vec<Item>,
    pub errors: Vec<SweepError>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub workflow_id: String,
    pub workflow_name: String,
    pub task_id: String,
    pub task_name: String,
    pub task_processing_result_id: String,
    pub subject_id: Option<String>,
    pub started_date_time: Option<String>,
    pub age_seconds: Option<u64>,
    pub deadline: Option<String>,
    pub stale: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SweepError {
    pub workflow_id: Option<String>,
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl SweepError {
    /// A part of the sweep that failed, classified as every failure is (see [`Failure`]):
    /// Graph's status and code where Graph gave them.
    pub(super) fn new(workflow_id: Option<&str>, failure: &GraphFailure) -> Self {
        let failure = Failure::from(failure.clone());
        Self {
            workflow_id: workflow_id.map(str::to_string),
            status: failure.upstream_status(),
            code: failure.graph_code().unwrap_or(failure.code()).to_string(),
            message: failure.message(),
        }
    }
}

pub(super) fn report(
    g: Gathered,
    stale_after: Duration,
    graph_calls: u32,
    elapsed: Duration,
) -> Report {
    let now = OffsetDateTime::now_utc();
    let mut items: Vec<Item> = g
        .found
        .into_iter()
        .map(|found| {
            let task = &g.tasks[found.task];
            let workflow = &g.workflows[task.workflow];
            let result = found.result;
            let started = result
                .started_date_time
                .as_deref()
                .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
            let age = started.map(|s| (now - s).whole_seconds().max(0) as u64);
            let timeout = task.extension_id.as_ref().and_then(|id| g.timeouts.get(id));
            Item {
                workflow_id: workflow.id.to_string(),
                workflow_name: workflow.name.clone(),
                task_id: task.id.to_string(),
                task_name: task.name.clone(),
                task_processing_result_id: result.id.unwrap_or_default(),
                subject_id: result.subject.and_then(|s| s.id),
                started_date_time: started.and_then(format_utc),
                age_seconds: age,
                deadline: started
                    .zip(timeout)
                    .and_then(|(s, t)| s.checked_add(time::Duration::try_from(*t).ok()?))
                    .and_then(format_utc),
                stale: age.is_some_and(|a| a > stale_after.as_secs()),
            }
        })
        .collect();
    items.sort_by(|a, b| {
        (
            &a.started_date_time,
            &a.workflow_id,
            &a.task_processing_result_id,
        )
            .cmp(&(
                &b.started_date_time,
                &b.workflow_id,
                &b.task_processing_result_id,
            ))
    });
    Report {
        count: items.len(),
        stale_count: items.iter().filter(|i| i.stale).count(),
        partial: g.cut_short || !g.errors.is_empty(),
        graph_calls,
        duration_ms: elapsed.as_millis() as u64,
        items,
        errors: g.errors,
    }
}

/// RFC 3339 in UTC to the second; `None` for a time RFC 3339 cannot write (past year 9999).
fn format_utc(at: OffsetDateTime) -> Option<String> {
    at.replace_nanosecond(0).unwrap_or(at).format(&Rfc3339).ok()
}
