//! The function app: its retry budget, and the Graph permissions of its identity.
use super::{Check, Context};
use crate::config::MAX_RETRY_BUDGET;
use crate::doctor::azure::Deployment;
use serde_json::Value;
use std::time::Duration;

pub(super) const LCW_WRITE: &str = "LifecycleWorkflows.ReadWrite.All";
const LCW_READ: [&str; 2] = [
    "LifecycleWorkflows.Read.All",
    "LifecycleWorkflows-Reports.Read.All",
];
const EM_WRITE: &str = "EntitlementManagement.ReadWrite.All";

/// The app holds `role` (`None`: unknown).
pub(super) fn holds(context: &Context<'_>, role: &str) -> Option<bool> {
    context.graph_roles.map(|roles| roles.contains(role))
}

/// The Graph permissions the app's identity holds, against what resuming and the report need
/// (README, *Graph permissions: three routes*).
pub(super) fn graph_permission_checks(
    deployment: &Deployment,
    context: &Context<'_>,
) -> Vec<Check> {
    let grant = |role: &str| {
        format!("grant the app's identity {role}: deploy the template with grantGraphPermissions=true, or as README, Graph permissions: three routes, shows (az rest … /servicePrincipals/<principalId>/appRoleAssignments)")
    };
    let Some(roles) = context.graph_roles else {
        return vec![Check::unknown(
            "app/graphPermissions",
            "the Graph permissions of the app's identity could not be read (doctor needs Application.Read.All, or Directory.Read.All)",
        )];
    };
    let mut checks = Vec::new();
    let reads_tasks = LCW_READ.iter().any(|r| roles.contains(*r));
    checks.push(if roles.contains(LCW_WRITE) {
        Check::pass("app/graphPermissions/lifecycleWorkflows", format!("the app's identity holds {LCW_WRITE}: it may resume any task and read every workflow"))
    } else if reads_tasks {
        Check::pass("app/graphPermissions/lifecycleWorkflows", "the app's identity reads workflows (LifecycleWorkflows.Read.All); it resumes only the tasks of extensions that list it among their authorized apps")
    } else {
        Check::fail(
            "app/graphPermissions/lifecycleWorkflows",
            format!("the app's identity holds neither {LCW_WRITE} nor LifecycleWorkflows.Read.All: it can neither resume nor report tasks"),
            grant(LCW_WRITE),
        )
    });
    let em_starter = deployment
        .queues
        .iter()
        .any(|q| q.name.as_deref() == Some("resume-access-request"));
    if em_starter {
        checks.push(match roles.contains(EM_WRITE) {
            true => Check::pass("app/graphPermissions/entitlementManagement", format!("the app's identity holds {EM_WRITE}")),
            false => Check::unknown(
                "app/graphPermissions/entitlementManagement",
                format!("the app's identity does not hold {EM_WRITE}: access requests can be resumed only where it is Access package assignment manager of the catalog, which doctor does not read"),
            )
            .with_fix(grant(EM_WRITE)),
        });
    }
    checks
}

/// `GRAPH_RETRY_BUDGET` as the function app has it, checked; the budget the queues' checks
/// use.
pub(super) fn retry_budget(deployment: &Deployment, checks: &mut Vec<Check>) -> Option<Duration> {
    let [app] = deployment.function_apps.as_slice() else {
        checks.push(Check::unknown(
            "app/settings",
            format!(
                "{} function apps in the resource group: the checks need exactly one",
                deployment.function_apps.len()
            ),
        ));
        return None;
    };
    let Some(settings) = &app.settings else {
        checks.push(Check::unknown(
            "app/settings",
            format!("the app settings of {} could not be read (it needs Website Contributor, or a role with Microsoft.Web/sites/config/list/action)", app.name),
        ));
        return None;
    };
    let text = settings
        .get("GRAPH_RETRY_BUDGET")
        .and_then(Value::as_str)
        .unwrap_or("60s");
    match humantime::parse_duration(text) {
        Ok(budget) if budget <= MAX_RETRY_BUDGET && !budget.is_zero() => {
            checks.push(Check::pass(
                "app/retryBudget",
                format!("{}: GRAPH_RETRY_BUDGET is {text}", app.name),
            ));
            Some(budget)
        }
        _ => {
            checks.push(Check::fail(
                "app/retryBudget",
                format!(
                    "{}: GRAPH_RETRY_BUDGET is '{text}', not a duration from 1s to 4m",
                    app.name
                ),
                "set GRAPH_RETRY_BUDGET to 240s, as the template does",
            ));
            None
        }
    }
}
