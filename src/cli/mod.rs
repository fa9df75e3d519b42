//! The operator commands: the same binary, started with arguments, resumes paused work from a
//! terminal with the operator's own sign-in. Started with none (as the Functions host
//! starts it), it is the custom handler.
//!
//! Arguments become the core's [`Command`] through the same constructors a queue message's
//! body goes through, so they meet the same rules, then the same resume-then-read-back and
//! the same outcomes as the functions (README, *Operator commands*); only the way a refusal
//! names its field (`--workflow-id`) and the way the outcome is reported differ.
use crate::app::App;
use crate::command::{
    requested_id, resumable_stage, Callback, Command, CommandError, Failure, OperationStatus,
    Outcome, ResumeAccessRequest, ResumeTask, TaskNames,
};
use crate::config::{Env, Settings};
use crate::graph::models::Stage;
use crate::graph::Call;
use crate::telemetry::escape;
use clap::builder::PossibleValue;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

mod bulk;
mod doctor;
mod extension;
mod report;
mod slipped;

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
    command: Operation,
}

#[derive(Debug, Subcommand)]
enum Operation {
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
    /// Check a deployment and Graph, read-only: the starters' authorization, the queues, the
    /// app's settings, the custom task extensions. A line per check (✓, ✗ with its fix, or !
    /// when it cannot tell); exits 0 when every check holds, 1 otherwise, 2 for a mistake in
    /// the command or no sign-in. Resource Manager at ARM_BASE_URL (the cloud's own).
    #[command(verbatim_doc_comment)]
    Doctor(doctor::DoctorArgs),
}

impl Operation {
    /// The one kind of work the report is asked for (`--kind`), if any.
    fn kind(&self) -> Option<crate::command::Kind> {
        match self {
            Operation::Report(args) => args.filters.kind,
            Operation::Resume(resume) => resume.bulk.filters.kind,
            Operation::Extension(_) | Operation::Doctor(_) => None,
        }
    }
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
struct ResumeCommand {
    #[command(subcommand)]
    one: Option<ResumeOne>,
    #[command(flatten)]
    bulk: bulk::BulkArgs,
}

#[derive(Debug, Subcommand)]
enum ResumeOne {
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

/// `--status`: the core's own [`OperationStatus`], by Graph's names.
impl ValueEnum for OperationStatus {
    fn value_variants<'a>() -> &'a [Self] {
        &[OperationStatus::Completed, OperationStatus::Failed]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.as_str()))
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
    operation_status: OperationStatus,
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
    #[arg(long, value_parser = stage)]
    stage: Stage,
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

/// `--stage`: a stage a callback can be given at, ignoring case.
fn stage(text: &str) -> Result<Stage, String> {
    resumable_stage(text).map_err(|e| e.naming("the stage"))
}

impl TaskArgs {
    /// The resume these arguments ask for; a refusal names the flag.
    fn command(&self, default_source: &str) -> Result<Command, Failure> {
        let names = TaskNames {
            workflow_id: self.workflow_id.as_deref(),
            task_id: self.task_id.as_deref(),
            task_processing_result_id: self.task_processing_result_id.as_deref(),
            callback_uri_path: self.callback_uri_path.as_deref(),
        };
        let source = self.source.as_deref().unwrap_or(default_source);
        let ids = names.resolve().map_err(flag_named)?;
        Ok(Command::Task(ResumeTask::new(
            ids,
            self.operation_status,
            source,
        )))
    }
}

impl AccessRequestArgs {
    /// The resume these arguments ask for; a refusal names the flag.
    fn command(&self, default_source: &str) -> Result<Command, Failure> {
        let id = requested_id(
            self.assignment_request_id.as_deref(),
            self.callback_uri_path.as_deref(),
        )
        .map_err(flag_named)?;
        let callback = Callback {
            custom_extension_stage_instance_id: Some(&self.custom_extension_stage_instance_id),
            custom_extension_stage_instance_detail: self
                .custom_extension_stage_instance_detail
                .as_deref(),
            state: self.state.as_deref(),
            source: self.source.as_deref().unwrap_or(default_source),
        };
        ResumeAccessRequest::new(id, self.stage.clone(), callback)
            .map(Command::AccessRequest)
            .map_err(flag_named)
    }
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
        settings.report.kinds = [kind].into();
    }
    let app = App::new(settings);
    let resume = match cli.command {
        Operation::Report(args) => return report::run(&app, &args).await,
        Operation::Extension(command) => return extension::run(&app, &command).await,
        Operation::Doctor(args) => return doctor::run(&app, &args).await,
        Operation::Resume(resume) => resume,
    };
    let source = &app.settings.resume.source;
    let (command, json, help) = match &resume.one {
        Some(ResumeOne::Task(args)) => (args.command(source), args.output.json, TASK_HELP),
        Some(ResumeOne::AccessRequest(args)) => {
            (args.command(source), args.output.json, ACCESS_REQUEST_HELP)
        }
        None if resume.bulk.from_report => return bulk::run(&app, &resume.bulk).await,
        None => {
            eprintln!("error: resume what? Give `task`, `access-request` or --from-report (see `resume-handler resume --help`)");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Ok(command) => run(&app, command).await,
        Err(refused) => Err(refused),
    };
    print_outcome(result, json, help)
}

/// Where a refused `resume task` or `resume access-request` is explained.
const TASK_HELP: &str =
    "see `resume-handler resume task --help` (`resume-handler resume --help` lists every way to resume)";
const ACCESS_REQUEST_HELP: &str = "see `resume-handler resume access-request --help` (`resume-handler resume --help` lists every way to resume)";

/// Runs one command, as the functions do, under its own correlation id and the retry budget.
async fn run(app: &App, command: Command) -> Result<Outcome, Failure> {
    command.run(app, &call(app)).await
}

/// One command's dealings with Graph, under its own correlation id and the retry budget.
fn call(app: &App) -> Call {
    Call::new(
        uuid::Uuid::new_v4().to_string(),
        app.settings.graph.retry_budget,
    )
}

/// A refusal names the command's flag (`--workflow-id`), not the body's field it fills.
fn flag_named(error: CommandError) -> Failure {
    let flag = flag(&error.target);
    Failure::Invalid(CommandError::refused(&flag, error.naming(&flag)))
}

/// `workflowId` → `--workflow-id`: clap's own naming of a field's flag.
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
fn print_outcome(result: Result<Outcome, Failure>, json: bool, help: &str) -> ExitCode {
    match result {
        Ok(outcome) => {
            if json {
                print_json(&outcome.to_json());
            } else {
                match outcome.graph_request_id() {
                    Some(id) => println!("{} (Graph request id {id})", outcome.name()),
                    None => println!("{}", outcome.name()),
                }
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            let hint = match &failure {
                Failure::Invalid(_) => Some(help),
                other => hint(other),
            };
            print_failure(&failure, json, hint)
        }
    }
}

/// Prints a failure (as JSON, or as an error line with Graph's request id and what to do:
/// the command's `hint`, or for every command alike how to sign in); the exit code: 2 for a
/// mistake in the command or the settings, 1 otherwise.
fn print_failure(failure: &Failure, json: bool, hint: Option<&str>) -> ExitCode {
    let problem = failure.problem();
    let hint = match failure {
        Failure::SignIn { .. } => Some(SIGN_IN),
        _ => hint,
    };
    if json {
        print_json(&problem.to_json());
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

/// JSON on stdout, as every command prints it: indented for a person at a terminal, one
/// line for a script reading a pipe.
fn print_json(value: &impl serde::Serialize) {
    println!("{}", json_text(value));
}

/// The JSON `print_json` prints.
fn json_text(value: &impl serde::Serialize) -> String {
    let text = match std::io::stdout().is_terminal() {
        true => serde_json::to_string_pretty(value),
        false => serde_json::to_string(value),
    };
    text.expect("JSON serializes")
}

/// What to do when the credential cannot sign in, for every command.
const SIGN_IN: &str = "sign in with `az login` (`az login --tenant <id>` for another tenant), or choose another credential with GRAPH_AUTH (README, Settings); for the local emulator instead: export GRAPH_BASE_URL=http://127.0.0.1:7070 IDENTITY_ENDPOINT=http://127.0.0.1:7070/msi/token IDENTITY_HEADER=local-dev (docs/local.md)";

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
        Failure::WorkflowNotAllowed { .. } | Failure::GraphError { .. } | Failure::SignIn { .. } => {
            return None
        }
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
            "contains '/'; ids are made of letters",
        ));
        match failure {
            Failure::Invalid(e) => {
                assert_eq!(e.target, "--workflow-id");
                assert_eq!(
                    e.message(),
                    "--workflow-id contains '/'; ids are made of letters"
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
