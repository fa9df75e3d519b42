//! `resume-handler resume --from-report`: after an incident, every waiting result the report
//! lists (with its filters) resumed one way, after showing what will be done and asking.
//! Each resume is the functions' own, so a result resumed meanwhile ends `alreadyResumed`.
use super::report::{self, Filters};
use super::{put, resume_task_body, Status};
use crate::app::App;
use crate::functions::list_in_progress::Item;
use crate::functions::outcome::{Failure, Outcome};
use clap::Args;
use futures::stream::{self, StreamExt};
use serde_json::Map;
use std::io::BufRead;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(super) struct BulkArgs {
    /// Resume every task processing result the report lists, after the filters.
    #[arg(long)]
    pub(super) from_report: bool,
    #[command(flatten)]
    filters: Filters,
    /// How the tasks end (required with --from-report).
    #[arg(long = "operation-status", visible_alias = "status", value_enum)]
    status: Option<Status>,
    /// Show what would be resumed, and resume nothing.
    #[arg(long)]
    dry_run: bool,
    /// Do not ask before resuming.
    #[arg(long)]
    yes: bool,
}

pub(super) async fn run(app: &App, args: &BulkArgs) -> ExitCode {
    let Some(status) = args.status else {
        eprintln!("error: --from-report needs --status completed or --status failed");
        return ExitCode::from(2);
    };
    let report = report::sweep(app, &args.filters).await;
    report::summarize(&report);
    if report.items.is_empty() {
        println!("nothing to resume");
        return ExitCode::SUCCESS;
    }
    println!("{}", report::table(&report));
    let what = format!(
        "{} task processing result{} as {}",
        report.items.len(),
        if report.items.len() == 1 { "" } else { "s" },
        status.as_str()
    );
    if args.dry_run {
        println!("dry run: would resume {what}; nothing was resumed");
        return ExitCode::SUCCESS;
    }
    if !args.yes && !confirmed(&what) {
        eprintln!("nothing was resumed");
        return ExitCode::from(1);
    }
    let width = app.settings.max_concurrency;
    let mut done = stream::iter(report.items.iter())
        .map(|item| async move { (item, resume(app, item, status).await) })
        .buffer_unordered(width);
    let (mut resumed, mut already, mut failed) = (0, 0, 0);
    while let Some((item, result)) = done.next().await {
        let what = format!(
            "{} / {} / {}",
            item.workflow_id, item.task_id, item.task_processing_result_id
        );
        match result {
            Ok(outcome) => {
                match outcome {
                    Outcome::AlreadyResumed { .. } => already += 1,
                    _ => resumed += 1,
                }
                println!("{:<16} {what}", outcome.name());
            }
            Err(failure) => {
                failed += 1;
                println!("{:<16} {what}: {}", failure.code(), failure.message());
            }
        }
    }
    println!("{resumed} resumed, {already} already resumed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Asks on stderr and reads the answer from stdin; only `y` or `yes` goes ahead (a closed
/// stdin is a no).
fn confirmed(what: &str) -> bool {
    eprint!("Resume {what}? [y/N] ");
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// One item's resume: the body a queue message would carry, through the command's own path.
async fn resume(app: &App, item: &Item, status: Status) -> Result<Outcome, Failure> {
    let mut body = Map::new();
    put(&mut body, "workflowId", Some(&item.workflow_id));
    put(&mut body, "taskId", Some(&item.task_id));
    put(
        &mut body,
        "taskProcessingResultId",
        Some(&item.task_processing_result_id),
    );
    put(&mut body, "operationStatus", Some(status.as_str()));
    resume_task_body(app, &body).await
}
