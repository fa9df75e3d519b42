//! ListInProgress (timer) and InProgress (HTTP GET): the work that waits for a custom
//! extension's callback, with how long each item has left (README, *ListInProgress and
//! InProgress*): Lifecycle Workflows task processing results ([`tasks`]) and Entitlement
//! Management access package assignment requests ([`access_requests`]), each kind swept at
//! the same time as the other, unless `LIST_IN_PROGRESS_KINDS` leaves it out.
//!
//! Each sweep asks Graph, keeping what it learns until the deadline; [`report`] turns that
//! into the report, with no I/O.
mod access_requests;
mod report;
mod tasks;

#[cfg(test)]
pub use report::{AccessRequestItem, TaskItem, Waiting};
pub use report::{Item, Report};

use crate::app::App;
use crate::domain::{Kind, ResourceId};
use crate::graph::{Call, GraphFailure};
use futures::stream::{self, StreamExt};
use std::future::Future;
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
    let started = Instant::now();
    let kinds = &app.settings.list_kinds;
    let tasks = async {
        match kinds.contains(&Kind::Task) {
            true => Some(tasks::gather(app, call).await),
            false => None,
        }
    };
    let requests = async {
        match kinds.contains(&Kind::AccessRequest) {
            true => Some(access_requests::gather(app, call).await),
            false => None,
        }
    };
    let (tasks, requests) = tokio::join!(tasks, requests);
    report::report(
        tasks,
        requests,
        app.settings.stale_after,
        call.graph_requests(),
        started.elapsed(),
    )
}

/// The output of `work`, if it finishes before `deadline`.
async fn before<F: Future>(deadline: Instant, work: F) -> Option<F::Output> {
    tokio::time::timeout_at(deadline.into(), work).await.ok()
}

/// Runs `work` on each item, `width` at a time, and returns what finished before `deadline`.
async fn each<I, F, Fut>(deadline: Instant, width: usize, items: I, work: F) -> Vec<Fut::Output>
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

/// An id Graph listed, if it is one this app will put in a path.
fn listed_id(id: Option<&str>) -> Result<ResourceId, GraphFailure> {
    ResourceId::parse_str("id", id.unwrap_or_default()).map_err(|e| GraphFailure::Unexpected {
        reason: format!(
            "Graph listed an id this app will not put in a path: {}",
            e.message
        ),
        request_id: None,
    })
}
