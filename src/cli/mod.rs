//! The operator commands: the same binary, started with arguments, resumes paused work from a
//! terminal with the operator's own sign-in. Started with none (as the Functions host
//! starts it), it is the custom handler.
//!
//! A command is turned into the same JSON body a queue message carries and goes through the
//! same parsing, the same resume-then-read-back and the same outcomes as the functions
//! (README, *Operator commands*); only the way it is reported differs.
use crate::app::App;
use crate::command::{Command as Resumption, CommandError, Failure, Kind, Outcome};
use crate::config::{Env, Settings};
use crate::graph::Call;
use crate::telemetry::escape;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::{json, Map, Value};
use std::ffi::OsString;
use std::process::ExitCode;

mod bulk;
mod extension;
mod report;

/// Resume paused Microsoft Entra ID Governance work through Microsoft Graph.
///
/// With no arguments, resume-handler is an Azure Functions custom handler and waits for the
/// Functions host. With a command, it acts once, from this terminal, and exits: 0 when the
/// work was resumed or had been already, 1 when it was not, 2 for a mistake in the command
/// or the settings.
///
/// Authentication (GRAPH_AUTH, default auto): a managed identity where IDENTITY_ENDPOINT is
/// set, a client secret where AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are,
/// otherwise your Azure CLI sign-in (run `az login` first). GRAPH_CLOUD chooses a national
/// cloud; every setting of the README's Settings table applies.
#[derive(Debug, Parser)]
#[command(name = "resume-handler", version, verbatim_doc_comment)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the work waiting for a custom extension's callback: Lifecycle Workflows task
    /// processing results and Entitlement Management access package requests, with how long
    /// each has waited and its deadline.
    ///
    /// A table on a terminal; JSON (the InProgress function's body) with --json or when
    /// stdout is piped. Exits 1 when part of the sweep failed (the failures are on stderr).
    #[command(verbatim_doc_comment)]
    Report(report::ReportArgs),
    /// Resume one paused task or access package request now, or every item the report
    /// lists (--from-report).
    ///
    /// After an incident, for example:
    ///   resume-handler resume --from-report --stale --status failed --dry-run
    ///   resume-handler resume --from-report --stale --status failed
    /// shows what it will resume, asks (unless --yes), resumes GRAPH_MAX_CONCURRENCY at a
    /// time, prints a line per result and a summary, and exits 1 if any failed.
    #[command(verbatim_doc_comment)]
    Resume(ResumeCommand),
    /// Show a Lifecycle Workflows custom task extension's callback settings, or let an app
    /// resume its tasks (authorizedApps) without a tenant-wide permission.
    #[command(subcommand)]
    Extension(extension::ExtensionCommand),
}

impl Command {
    /// The one kind of work the report is asked for (`--kind`), if any.
    fn kind(&self) -> Option<Kind> {
        match self {
            Command::Report(args) => args.filters.kind(),
            Command::Resume(resume) => resume.bulk.filters.kind(),
            Command::Extension(_) => None,
        }
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
struct ResumeCommand {
    #[command(subcommand)]
    one: Option<Resume>,
    #[command(flatten)]
    bulk: bulk::BulkArgs,
}

#[derive(Debug, Subcommand)]
enum Resume {
    /// Resume a Lifecycle Workflows task processing result that a custom task extension
    /// left in progress.
    ///
    /// Give the three ids, or the callbackUriPath from the extension's callout.
    /// Example:
    ///   resume-handler resume task --workflow-id <id> --task-id <id> \
    ///     --task-processing-result-id <id> --operation-status completed
    #[command(verbatim_doc_comment)]
    Task(TaskArgs),
    /// Resume an Entitlement Management access package assignment request waiting at a
    /// custom extension stage.
    ///
    /// Leave --state out to let the request continue; --state denied denies it where the
    /// stage allows. Example:
    ///   resume-handler resume access-request --assignment-request-id <id> \
    ///     --stage assignmentRequestCreated --custom-extension-stage-instance-id <id>
    #[command(verbatim_doc_comment)]
    AccessRequest(AccessRequestArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Status {
    Completed,
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }
}

#[derive(Debug, Args)]
struct TaskArgs {
    /// The workflow's id.
    #[arg(long, value_name = "ID")]
    workflow_id: Option<String>,
    /// The "Run a custom task extension" task's id.
    #[arg(long, value_name = "ID")]
    task_id: Option<String>,
    /// The waiting task processing result's id.
    #[arg(long, value_name = "ID")]
    task_processing_result_id: Option<String>,
    /// Instead of the three ids: /identityGovernance/lifecycleWorkflows/workflows/{w}/tasks/{t}/taskProcessingResults/{r}/resume
    #[arg(long, value_name = "PATH")]
    callback_uri_path: Option<String>,
    /// How the task ends.
    #[arg(long, visible_alias = "status", value_enum)]
    operation_status: Status,
    /// Recorded by Graph as who resumed (default: RESUME_SOURCE, or resume-handler).
    #[arg(long)]
    source: Option<String>,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Args)]
struct AccessRequestArgs {
    /// The access package assignment request's id.
    #[arg(long, value_name = "ID")]
    assignment_request_id: Option<String>,
    /// Instead of --assignment-request-id: /identityGovernance/entitlementManagement/assignmentRequests/{id}/resume
    #[arg(long, value_name = "PATH")]
    callback_uri_path: Option<String>,
    /// assignmentRequestCreated, assignmentRequestApproved, assignmentRequestGranted or
    /// assignmentRequestRemoved.
    #[arg(long)]
    stage: String,
    /// The callout's id (customExtensionStageInstanceId in the callout Entra sent).
    #[arg(long, value_name = "ID")]
    custom_extension_stage_instance_id: String,
    /// Free text Graph records with the callback (at most 1,000 characters).
    #[arg(long, value_name = "TEXT")]
    custom_extension_stage_instance_detail: Option<String>,
    /// Passed to Graph as given, for example denied.
    #[arg(long)]
    state: Option<String>,
    /// Recorded by Graph as who resumed (default: RESUME_SOURCE, or resume-handler).
    #[arg(long)]
    source: Option<String>,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, Args)]
struct Output {
    /// Print the outcome (or the error) as JSON, as the HTTP functions answer.
    #[arg(long)]
    json: bool,
}

/// Runs the operator command in `args` (the program name first); the process's exit code.
pub async fn main(args: Vec<OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let mut settings = match Settings::for_operator(&Env::from_process()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("resume-handler: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    // `--kind` sweeps that kind only.
    if let Some(kind) = cli.command.kind() {
        settings.list_kinds = [kind].into();
    }
    let app = App::new(settings);
    let resume = match cli.command {
        Command::Report(args) => return report::run(&app, &args).await,
        Command::Extension(command) => return extension::run(&app, &command).await,
        Command::Resume(resume) => resume,
    };
    let (result, json) = match resume.one {
        Some(Resume::Task(args)) => (resume_task_now(&app, &args).await, args.output.json),
        Some(Resume::AccessRequest(args)) => {
            (resume_access_now(&app, &args).await, args.output.json)
        }
        None if resume.bulk.from_report => return bulk::run(&app, &resume.bulk).await,
        None => {
            eprintln!("error: resume what? Give `task`, `access-request` or --from-report (see `resume-handler resume --help`)");
            return ExitCode::from(2);
        }
    };
    print_outcome(result, json)
}

async fn resume_task_now(app: &App, args: &TaskArgs) -> Result<Outcome, Failure> {
    let mut body = Map::new();
    put(&mut body, "workflowId", args.workflow_id.as_deref());
    put(&mut body, "taskId", args.task_id.as_deref());
    put(
        &mut body,
        "taskProcessingResultId",
        args.task_processing_result_id.as_deref(),
    );
    put(
        &mut body,
        "callbackUriPath",
        args.callback_uri_path.as_deref(),
    );
    put(&mut body, "source", args.source.as_deref());
    put(
        &mut body,
        "operationStatus",
        Some(args.operation_status.as_str()),
    );
    resume_body(app, Kind::Task, &body).await
}

async fn resume_access_now(app: &App, args: &AccessRequestArgs) -> Result<Outcome, Failure> {
    let mut body = Map::new();
    put(
        &mut body,
        "assignmentRequestId",
        args.assignment_request_id.as_deref(),
    );
    put(
        &mut body,
        "callbackUriPath",
        args.callback_uri_path.as_deref(),
    );
    put(&mut body, "stage", Some(&args.stage));
    put(
        &mut body,
        "customExtensionStageInstanceId",
        Some(&args.custom_extension_stage_instance_id),
    );
    put(
        &mut body,
        "customExtensionStageInstanceDetail",
        args.custom_extension_stage_instance_detail.as_deref(),
    );
    put(&mut body, "state", args.state.as_deref());
    put(&mut body, "source", args.source.as_deref());
    resume_body(app, Kind::AccessRequest, &body).await
}

/// A resume from the body a queue message would carry: the functions' own parsing and
/// resume, for one command or for each item of a bulk resume.
async fn resume_body(app: &App, kind: Kind, body: &Map<String, Value>) -> Result<Outcome, Failure> {
    let command = Resumption::parse(kind, body, &app.settings.resume_source).map_err(flag_named)?;
    command.run(app, &call(app)).await
}

/// Puts a field in a command body, when it was given.
fn put(body: &mut Map<String, Value>, field: &str, value: Option<&str>) {
    if let Some(value) = value {
        body.insert(field.to_string(), json!(value));
    }
}

/// One command's dealings with Graph, under its own correlation id and the retry budget.
fn call(app: &App) -> Call {
    Call::new(uuid::Uuid::new_v4().to_string(), app.settings.retry_budget)
}

/// A refusal names the command's flag (`--workflow-id`), not the JSON field it fills.
fn flag_named(mut error: CommandError) -> Failure {
    let flag = flag(&error.target);
    error.message = error.message.replace(&format!("'{}'", error.target), &flag);
    error.target = flag;
    Failure::Invalid(error)
}

/// `workflowId` → `--workflow-id`.
fn flag(field: &str) -> String {
    let mut flag = String::from("--");
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            flag.push('-');
            flag.push(c.to_ascii_lowercase());
        } else {
            flag.push(c);
        }
    }
    flag
}

/// Prints the outcome, or the failure with what to do about it; the exit code.
fn print_outcome(result: Result<Outcome, Failure>, json: bool) -> ExitCode {
    match result {
        Ok(outcome) => {
            if json {
                println!("{}", outcome.to_json());
            } else {
                match outcome.graph_request_id() {
                    Some(id) => println!("{} (Graph request id {id})", outcome.name()),
                    None => println!("{}", outcome.name()),
                }
            }
            ExitCode::SUCCESS
        }
        Err(failure) => print_failure(&failure, json, hint(&failure)),
    }
}

/// Prints a failure (as JSON, or as an error line with Graph's request id and what to do);
/// the exit code: 2 for a mistake in the command, 1 otherwise.
fn print_failure(failure: &Failure, json: bool, hint: Option<&str>) -> ExitCode {
    let problem = failure.problem();
    if json {
        println!("{}", problem.to_json());
    } else {
        eprintln!("error: {} [{}]", escape(&problem.message), problem.code);
        if let Some(id) = &problem.graph_request_id {
            eprintln!("  Graph request id: {}", escape(id));
        }
        if let Some(hint) = hint {
            eprintln!("  {hint}");
        }
    }
    ExitCode::from(if problem.invalid { 2 } else { 1 })
}

/// What an operator can do about a failure.
fn hint(failure: &Failure) -> Option<&'static str> {
    Some(match failure {
        Failure::Invalid(_) => "see `resume-handler resume --help`",
        Failure::Forbidden { .. } => {
            "the signed-in identity needs LifecycleWorkflows.ReadWrite.All or EntitlementManagement.ReadWrite.All (or a place in the extension's authorizedApps)"
        }
        Failure::NotFound { .. } => "check the ids: Graph has no such task result or request",
        Failure::Conflict { .. } => "the work is no longer waiting; nothing to resume",
        Failure::Unavailable { .. } => "Graph is throttling or unavailable: try again later",
        Failure::WorkflowNotAllowed { .. } | Failure::GraphError { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_becomes_its_flag() {
        assert_eq!(flag("workflowId"), "--workflow-id");
        assert_eq!(
            flag("customExtensionStageInstanceId"),
            "--custom-extension-stage-instance-id"
        );
        assert_eq!(flag("stage"), "--stage");
    }

    #[test]
    fn a_refusal_names_the_flag() {
        let failure = flag_named(CommandError::invalid(
            "workflowId",
            "'workflowId' contains '/'; ids are made of letters",
        ));
        match failure {
            Failure::Invalid(e) => {
                assert_eq!(e.target, "--workflow-id");
                assert!(
                    e.message.starts_with("--workflow-id contains"),
                    "{}",
                    e.message
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_help_parses_and_every_command_is_reachable() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        assert!(
            Cli::try_parse_from(["resume-handler", "resume", "task", "--status", "failed"]).is_ok()
        );
        assert!(Cli::try_parse_from(["resume-handler", "resume", "task"]).is_err());
    }
}
