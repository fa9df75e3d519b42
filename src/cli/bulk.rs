//! `resume-handler resume --from-report`: after an incident, every waiting item the report
//! lists (with its filters) resumed one way, after showing what will be done and asking.
//! Each resume is the functions' own, so an item resumed meanwhile ends `alreadyResumed`.
//!
//! `--status completed` completes tasks and lets access requests continue; `--status failed`
//! fails tasks and denies access requests (where the stage allows: Graph refuses the others,
//! and each refusal is a failed line).
use super::report::{self, Filters};
use crate::app::App;
use crate::command::{
    Callback, Command, CommandError, Failure, Kind, OperationStatus, Outcome, ResourceId,
    ResumeAccessRequest, ResumeTask, TaskResultIds,
};
use crate::report::{AccessRequestItem, Item, TaskItem};
use crate::telemetry::escape;
use clap::Args;
use futures::stream::{self, StreamExt};
use std::io::BufRead;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(super) struct BulkArgs {
    /// Resume every item the report lists, after the filters.
    #[arg(long)]
    pub(super) from_report: bool,
    #[command(flatten)]
    pub(super) filters: Filters,
    /// How the work ends (required with --from-report): completed (tasks complete, access
    /// requests continue) or failed (tasks fail, access requests are denied).
    #[arg(long = "operation-status", visible_alias = "status", value_enum)]
    status: Option<OperationStatus>,
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
    if report::cannot_sign_in(&report.errors) {
        return ExitCode::from(2);
    }
    if report.items.is_empty() {
        println!("nothing to resume");
        return ExitCode::SUCCESS;
    }
    println!("{}", report::table(&report, report::Layout::for_stdout()));
    let what = describe(&report.items, status);
    if args.dry_run {
        println!("dry run: would resume {what}; nothing was resumed");
        return ExitCode::SUCCESS;
    }
    if !args.yes && !confirmed(&what) {
        eprintln!("nothing was resumed");
        return ExitCode::from(1);
    }
    let width = app.settings.graph.max_concurrency;
    let mut done = stream::iter(report.items.iter())
        .map(|item| async move { (item, resume(app, item, status).await) })
        .buffer_unordered(width);
    let (mut resumed, mut already, mut failed) = (0, 0, 0);
    while let Some((item, result)) = done.next().await {
        let what = match item {
            Item::Task(t) => format!(
                "{} / {} / {}",
                t.result.workflow_id, t.result.task_id, t.result.task_processing_result_id
            ),
            Item::AccessRequest(r) => format!(
                "{} / {}",
                r.assignment_request_id, r.custom_extension_stage_instance_id
            ),
        };
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
                let problem = failure.problem();
                println!("{:<16} {what}: {}", problem.code, escape(&problem.message));
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

/// "3 task processing results as failed and 2 access package requests denied".
fn describe(items: &[Item], status: OperationStatus) -> String {
    let count = |kind| items.iter().filter(|i| i.kind() == kind).count();
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    let tasks = count(Kind::Task);
    let requests = count(Kind::AccessRequest);
    let tasks = (tasks > 0).then(|| {
        format!(
            "{} as {}",
            plural(tasks, "task processing result"),
            status.as_str()
        )
    });
    let requests = (requests > 0).then(|| {
        let how = match status {
            OperationStatus::Completed => "to continue",
            OperationStatus::Failed => "denied",
        };
        format!("{} {how}", plural(requests, "access package request"))
    });
    [tasks, requests]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" and ")
}

/// One item's resume, built by the core's own constructors from what the report listed (Graph
/// lists the ids, so they meet the same rules as a command's), and run as the functions run it.
async fn resume(app: &App, item: &Item, status: OperationStatus) -> Result<Outcome, Failure> {
    let source = &app.settings.resume.source;
    let command = match item {
        Item::Task(item) => task(item, status, source).map(Command::Task),
        Item::AccessRequest(item) => {
            access_request(item, status, source).map(Command::AccessRequest)
        }
    };
    super::run(app, command.map_err(Failure::Invalid)?).await
}

fn task(
    item: &TaskItem,
    status: OperationStatus,
    source: &str,
) -> Result<ResumeTask, CommandError> {
    let ids = TaskResultIds {
        workflow_id: item.result.workflow_id.clone(),
        task_id: item.result.task_id.clone(),
        task_processing_result_id: ResourceId::parse_str(
            "taskProcessingResultId",
            &item.result.task_processing_result_id,
        )?,
    };
    Ok(ResumeTask::new(ids, status, source))
}

/// `failed` denies the request; `completed` lets it continue. The stage is required, and only
/// the access package's policies tell it: an item without one cannot be resumed from here.
fn access_request(
    item: &AccessRequestItem,
    status: OperationStatus,
    source: &str,
) -> Result<ResumeAccessRequest, CommandError> {
    let stage = item.stage.clone().ok_or_else(|| {
        CommandError::refused(
            "--stage",
            "the stage of this callout is unknown (its access package's policies could not be read, or run the extension at more than one stage): resume it with `resume-handler resume access-request --stage …`",
        )
    })?;
    let callback = Callback {
        custom_extension_stage_instance_id: Some(&item.custom_extension_stage_instance_id),
        custom_extension_stage_instance_detail: None,
        state: (status == OperationStatus::Failed).then_some("denied"),
        source,
    };
    let id = ResourceId::parse_str("assignmentRequestId", &item.assignment_request_id)?;
    ResumeAccessRequest::new(id, stage, callback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{NamedTaskResult, Waiting};

    fn waiting() -> Waiting {
        Waiting {
            started_date_time: None,
            age_seconds: None,
            deadline: None,
            stale: None,
            overdue: false,
        }
    }

    #[test]
    fn the_question_says_what_happens_to_each_kind() {
        let task = Item::Task(TaskItem {
            result: NamedTaskResult {
                workflow_id: crate::command::id("w"),
                workflow_name: "".into(),
                task_id: crate::command::id("t"),
                task_name: "".into(),
                task_processing_result_id: "r".into(),
                subject_id: None,
            },
            waiting: waiting(),
        });
        let request = Item::AccessRequest(Box::new(AccessRequestItem {
            assignment_request_id: "q".into(),
            access_package_id: None,
            access_package_name: None,
            stage: None,
            custom_extension_stage_instance_id: "c".into(),
            custom_extension_id: None,
            target_id: None,
            target_name: None,
            request_state: None,
            request_created_date_time: None,
            waiting: waiting(),
        }));
        assert_eq!(
            describe(
                &[task.clone(), task.clone(), request.clone()],
                OperationStatus::Failed
            ),
            "2 task processing results as failed and 1 access package request denied"
        );
        assert_eq!(
            describe(&[request], OperationStatus::Completed),
            "1 access package request to continue"
        );
        assert_eq!(
            describe(&[task], OperationStatus::Completed),
            "1 task processing result as completed"
        );
    }
}
