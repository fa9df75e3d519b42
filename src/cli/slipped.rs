//! `resume-handler report --since <duration>`: what slipped in that window (README, *When a
//! task timed out*), as a table on a terminal and as JSON for a script.
use super::report::{summarize_sweep, sweep_exit, Layout};
use crate::app::App;
use crate::graph::Call;
use crate::report::{self, SlippedItem, SlippedReport};
use crate::telemetry::escape;
use comfy_table::{presets, Table};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

pub(super) async fn run(app: &App, window: Duration, json: bool) -> ExitCode {
    let call = Call::with_request_budget(
        uuid::Uuid::new_v4().to_string(),
        app.settings.graph.retry_budget,
        report::SWEEP_BUDGET,
    );
    let slipped = report::slipped(app, &call, window).await;
    if json || !std::io::stdout().is_terminal() {
        super::print_json(&slipped);
    } else if !slipped.items.is_empty() {
        println!("{}", table(&slipped, Layout::for_stdout()));
    }
    let found = format!("{} slipped since {}", slipped.count, slipped.since);
    summarize_sweep(
        &found,
        slipped.graph_calls,
        slipped.duration_ms,
        slipped.partial,
        &slipped.errors,
    );
    sweep_exit(&slipped.errors, slipped.partial)
}

/// A row per item: when, why, where, which, and what Graph said of it. Every cell is
/// escaped, as the report's are; names wrap within the width.
fn table(report: &SlippedReport, layout: Layout) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::ASCII_BORDERS_ONLY_CONDENSED)
        .set_header([
            "when",
            "slipped",
            "workflow / access package",
            "task / target",
            "id",
            "why / Logic App run",
        ]);
    layout.arrange(&mut table);
    for item in &report.items {
        let (place, step, id, why) = match item {
            SlippedItem::Task(t) => (
                t.result.workflow_name.to_string(),
                t.result.task_name.to_string(),
                t.result.task_processing_result_id.clone(),
                t.failure_reason.clone(),
            ),
            SlippedItem::AccessRequest(r) => (
                r.access_package_name
                    .clone()
                    .or_else(|| r.access_package_id.clone())
                    .unwrap_or_default(),
                r.target_name
                    .clone()
                    .or_else(|| r.target_id.clone())
                    .unwrap_or_default(),
                r.assignment_request_id.clone(),
                r.external_correlation_id
                    .clone()
                    .or_else(|| r.detail.clone()),
            ),
        };
        table.add_row(
            [
                item.at().unwrap_or("(unknown)").to_string(),
                item.slipped().as_str().to_string(),
                place,
                step,
                id,
                why.unwrap_or_default(),
            ]
            .map(|cell| escape(&cell).into_owned()),
        );
    }
    table.to_string()
}
