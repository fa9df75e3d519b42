//! The report behind ListInProgress (timer), InProgress (HTTP GET) and `resume-handler
//! report`: the work that waits for a custom extension's callback, with how long each item has left (README, *ListInProgress and
//! InProgress*): Lifecycle Workflows task processing results ([`tasks`]) and Entitlement
//! Management access package assignment requests ([`access_requests`]), each kind swept at
//! the same time as the other, unless `LIST_IN_PROGRESS_KINDS` leaves it out.
//!
//! Each sweep asks Graph, keeping what it learns until the deadline; [`report`] turns that
//! into the report, with no I/O.
mod access_requests;
mod build;
mod slipped;
mod tasks;

#[cfg(test)]
pub use build::Waiting;

pub use access_requests::Refusals;
pub use build::{
    AccessRequestItem, Item, NamedTaskResult, Report, SweepError, TaskItem, MAX_ANSWER_BYTES,
};
pub use slipped::{slipped, SlippedItem, SlippedReport};
pub use tasks::{extension_use, ExtensionUse, TaskListing};

use crate::app::App;
use crate::command::{Kind, ResourceId};
use crate::graph::{Call, GraphFailure};
use futures::stream::{self, StreamExt};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The timer's sweep stops here with what it has (`partial: true`), well inside
/// host.json's ten-minute functionTimeout.
pub const SWEEP_BUDGET: Duration = Duration::from_secs(240);

/// `InProgress` stops here, so that it answers within 220 s: Azure's front end drops an
/// HTTP request after 230 s.
pub const HTTP_SWEEP_BUDGET: Duration = Duration::from_secs(210);

/// Sweeps the tenant for the kinds the settings name, until `call`'s deadline, and reports
/// what it found.
pub async fn sweep(app: &App, call: &Call) -> Report {
    sweep_keeping(app, call, None).await
}

/// The items a report answering a caller holds at most, the oldest: about 2 MiB of answer
/// (within [`MAX_ANSWER_BYTES`], which still bounds names at their longest), so that the
/// process holds a bounded number of items however large the backlog; the counts are of
/// every item. Five callers at once on a backlog of 50,000 stay under 32 MiB.
pub const MAX_REPORT_ITEMS: usize = 5_000;

/// [`sweep`], keeping only the oldest `keep` items when it says so.
pub async fn sweep_keeping(app: &App, call: &Call, keep: Option<usize>) -> Report {
    let started = Instant::now();
    let kinds = &app.settings.report.kinds;
    let tasks = async {
        if kinds.contains(&Kind::Task) {
            Some(tasks::gather(app, call).await)
        } else {
            None
        }
    };
    let requests = async {
        if kinds.contains(&Kind::AccessRequest) {
            Some(access_requests::gather(app, call).await)
        } else {
            None
        }
    };
    let (tasks, requests) = tokio::join!(tasks, requests);
    build::report(
        tasks,
        requests,
        app.settings.report.stale_after,
        call.graph_requests(),
        started.elapsed(),
        keep,
    )
}

/// The report, from one sweep shared by every caller that asks while it runs (and, where
/// `LIST_IN_PROGRESS_REUSE` says so, within that long of its end): the timer and concurrent
/// `InProgress` calls cost Graph one sweep, and the process holds one report, not one per
/// caller. A caller that asks after a sweep ended gets a new one by default, so a report is
/// never older than the sweep that was running when it was asked for. A caller that cannot
/// have the sweep before its own deadline sweeps alone (and is cut short).
pub async fn shared_sweep(app: &App, call: &Call) -> Arc<Report> {
    let asked = Instant::now();
    let Ok(mut last) = tokio::time::timeout_at(call.deadline().into(), app.last_sweep.lock()).await
    else {
        return Arc::new(answering_sweep(app, call).await);
    };
    if let Some(sweep) = &*last {
        // It ran while this caller waited, or it is recent enough.
        if sweep.ended >= asked || sweep.ended.elapsed() <= app.settings.report.reuse {
            return Arc::clone(&sweep.report);
        }
    }
    let report = Arc::new(answering_sweep(app, call).await);
    *last = Some(LastSweep {
        ended: Instant::now(),
        report: Arc::clone(&report),
    });
    report
}

/// The last sweep's report, kept by the app for [`shared_sweep`], and when it ended.
pub struct LastSweep {
    ended: Instant,
    report: Arc<Report>,
}

/// A sweep for an answer: it keeps the oldest [`MAX_REPORT_ITEMS`] items.
async fn answering_sweep(app: &App, call: &Call) -> Report {
    sweep_keeping(app, call, Some(MAX_REPORT_ITEMS)).await
}

/// The output of `work`, if it finishes before `deadline`.
async fn within<F: Future>(deadline: Instant, work: F) -> Option<F::Output> {
    tokio::time::timeout_at(deadline.into(), work).await.ok()
}

/// Runs `work` on each item, `width` at a time, and returns what finished before `deadline`
/// (in the order it finished).
async fn concurrently_within<I, F, Fut>(
    deadline: Instant,
    width: usize,
    items: I,
    work: F,
) -> Vec<Fut::Output>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    stream::iter(items)
        .map(work)
        .buffer_unordered(width)
        .take_until(tokio::time::sleep_until(deadline.into()))
        .collect()
        .await
}

/// The longest name the report keeps, in characters. Names come from Graph and some are
/// chosen by their owners; a report holds one per item, so a megabyte-long workflow name
/// must not become a megabyte per waiting result.
pub const MAX_NAME_CHARS: usize = 256;

/// `name`, cut to [`MAX_NAME_CHARS`] (the cut marked with `…`).
fn bounded_name(name: Option<&str>) -> Option<String> {
    let name = name?;
    // The character at the limit is kept only when it is the last; a longer name is read no
    // further than one past it.
    Some(match name.char_indices().nth(MAX_NAME_CHARS - 1) {
        Some((cut, _)) if name[cut..].chars().nth(1).is_some() => format!("{}…", &name[..cut]),
        _ => name.to_string(),
    })
}

/// An id Graph listed, if it is one this app will put in a path.
fn listed_id(id: Option<&str>) -> Result<ResourceId, GraphFailure> {
    ResourceId::parse_str("id", id.unwrap_or_default()).map_err(|e| GraphFailure::Unexpected {
        reason: format!(
            "Graph listed an id this app will not put in a path: {}",
            e.message()
        ),
        request_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_whole_up_to_the_limit_and_cut_beyond_it() {
        let at_limit = "é".repeat(MAX_NAME_CHARS);
        assert_eq!(bounded_name(Some(&at_limit)).unwrap(), at_limit);
        let long = "é".repeat(100 * 1024);
        let cut = bounded_name(Some(&long)).unwrap();
        assert_eq!(cut.chars().count(), MAX_NAME_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(bounded_name(None), None);
        assert_eq!(bounded_name(Some("Sales")).unwrap(), "Sales");
    }
}
