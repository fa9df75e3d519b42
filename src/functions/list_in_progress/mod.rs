//! ListInProgress (timer) and InProgress (HTTP GET): the task processing results that
//! wait for a custom task extension callback, with how long each has left (README,
//! *ListInProgress and InProgress*).
//!
//! The path through Graph is chosen by call count. Only "Run a custom task extension"
//! tasks can wait, and `…/tasks/{t}/taskProcessingResults` filters server-side on
//! `processingStatus`, so the sweep costs one call for the workflows, one per workflow for
//! its tasks, and one per custom task (plus one per extra page of waiting results): for
//! 100 workflows with 5 custom tasks each, about 600 calls. Walking userProcessingResults
//! instead costs a call per user per workflow, 10,000 for the same tenant.
//!
//! [`gather`] asks Graph, keeping what it learns until the deadline; [`report`] turns
//! that into the report, with no I/O.
mod gather;
mod report;

pub use report::{Item, Report};

use crate::app::App;
use crate::graph::Call;
use std::time::{Duration, Instant};

/// The timer's sweep stops here with what it has (`partial: true`), well inside
/// host.json's ten-minute functionTimeout.
pub const SWEEP_BUDGET: Duration = Duration::from_secs(240);

/// `InProgress` stops here, so that it answers within 220 s: Azure's front end drops an
/// HTTP request after 230 s.
pub const HTTP_SWEEP_BUDGET: Duration = Duration::from_secs(210);

/// Sweeps the tenant until `call`'s deadline, and reports what it found.
pub async fn sweep(app: &App, call: &Call) -> Report {
    let started = Instant::now();
    let gathered = gather::gather(app, call).await;
    report::report(
        gathered,
        app.settings.stale_after,
        call.graph_requests(),
        started.elapsed(),
    )
}
