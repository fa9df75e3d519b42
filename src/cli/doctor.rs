//! `resume-handler doctor`: the checklist of a deployment, a line per check, or JSON.
use super::print_failure;
use crate::app::App;
use crate::command::{Failure, ResourceId};
use crate::doctor::{self, Checklist, Status, Target};
use crate::telemetry::escape;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub(super) struct DoctorArgs {
    /// The subscription holding the deployment (the template's output starterSubscriptionId).
    #[arg(long, value_name = "ID")]
    subscription: String,
    /// The resource group the template was deployed to.
    #[arg(long, value_name = "NAME")]
    resource_group: String,
    /// Print the checklist as JSON.
    #[arg(long)]
    json: bool,
}

pub(super) async fn run(app: &App, args: &DoctorArgs) -> ExitCode {
    let target = match target(args) {
        Ok(target) => target,
        Err(failure) => {
            return print_failure(
                &failure,
                args.json,
                Some("see `resume-handler doctor --help`"),
            )
        }
    };
    match doctor::run(app, &target).await {
        Ok(checklist) => {
            if args.json {
                super::print_json(&checklist);
            } else {
                print!("{}", text(&checklist));
            }
            match checklist.holds() {
                true => ExitCode::SUCCESS,
                false => ExitCode::from(1),
            }
        }
        Err(failure) => {
            let hint = match &failure {
                Failure::NotFound { .. } => Some("check --subscription and --resource-group: Resource Manager found no such subscription or resource group"),
                Failure::Forbidden { .. } => Some("doctor reads the resource group: the signed-in identity needs Reader on it, and Website Contributor (or …/config/list/action) for the app's settings"),
                _ => None,
            };
            print_failure(&failure, args.json, hint)
        }
    }
}

fn target(args: &DoctorArgs) -> Result<Target, Failure> {
    Ok(Target {
        subscription: ResourceId::parse_str("--subscription", args.subscription.trim())
            .map_err(Failure::Invalid)?,
        resource_group: ResourceId::parse_str("--resource-group", args.resource_group.trim())
            .map_err(Failure::Invalid)?,
    })
}

/// A line per check, ✓, ✗ or !, each ✗ with its fix; then the counts.
fn text(checklist: &Checklist) -> String {
    let mut out = String::new();
    for check in &checklist.checks {
        let mark = match check.status {
            Status::Pass => '✓',
            Status::Fail => '✗',
            Status::Unknown => '!',
        };
        out.push_str(&format!(
            "{mark} {}: {}\n",
            check.id,
            escape(&check.message)
        ));
        if let Some(fix) = &check.fix {
            out.push_str(&format!("    fix: {}\n", escape(fix)));
        }
    }
    out.push_str(&format!(
        "{} passed, {} failed, {} cannot tell\n",
        checklist.passed, checklist.failed, checklist.unknown
    ));
    out
}
