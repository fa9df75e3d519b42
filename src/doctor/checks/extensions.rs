//! The custom extensions that call the starters: Lifecycle Workflows' task extensions and
//! Entitlement Management's access package extensions.
use super::app::{holds, EM_WRITE, LCW_WRITE};
use super::starters::starter_for;
use super::{used_by, Check, Context, TASK_TIMEOUTS};
use crate::doctor::azure::{Deployment, LogicApp, Target};
use crate::doctor::catalogs::ASSIGNMENT_MANAGER;
use crate::graph::models::{
    iso8601_duration, AuthorizedApps, CustomExtension, CustomTaskExtension, LogicAppEndpoint, Typed,
};
use std::time::Duration;

/// Whether `endpoint` is the Logic App `starter` of the target's resource group.
fn calls(endpoint: Option<&LogicAppEndpoint>, starter: &LogicApp, target: &Target) -> bool {
    endpoint.is_some_and(|e| {
        e.subscription_id
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(target.subscription.as_str()))
            && e.resource_group_name
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(target.resource_group.as_str()))
            && e.logic_app_workflow_name.is_some()
            && e.logic_app_workflow_name.as_deref() == starter.name.as_deref()
    })
}

/// Whether callouts carry a proof-of-possession token, which the starters' AADPOP policy
/// requires.
fn pop_check(id: String, label: &str, authentication: Option<&Typed>, fix: &str) -> Check {
    match authentication.and_then(|a| a.odata_type.as_deref()) {
        Some(t) if t.ends_with("azureAdPopTokenAuthentication") => Check::pass(
            id,
            format!("{label}: callouts carry a proof-of-possession token"),
        ),
        other => Check::fail(
            id,
            format!(
                "{label}: callouts authenticate with {}, which the starter's AADPOP policy refuses",
                other.unwrap_or("nothing")
            ),
            fix,
        ),
    }
}

/// Entitlement Management's longest callback timeout: 14 days.
const ACCESS_TIMEOUT_MAX: Duration = Duration::from_secs(14 * 86_400);

/// An access package custom extension's checks: its Logic App is the deployment's
/// Entitlement Management starter, it signs its callouts with PoP, and it waits for a
/// callback no longer than Entra allows.
pub(super) fn access_extension_checks(
    extension: &CustomExtension,
    starter: &LogicApp,
    context: &Context<'_>,
) -> Vec<Check> {
    let ext = extension.id.as_deref().unwrap_or("(no id)");
    let id = |what: &str| format!("accessExtension/{ext}/{what}");
    let label = extension.display_name.as_deref().unwrap_or(ext);
    let starter_name = starter.name.as_deref().unwrap_or_default();
    let endpoint = extension.endpoint_configuration.as_ref();
    let packages = context
        .access_packages
        .get(ext)
        .map(|p| p.iter().map(String::as_str));
    let usage = used_by("access package", packages, true);
    let mut checks = vec![if calls(endpoint, starter, context.target) {
        Check::pass(
            id("starter"),
            format!(
                "{label}: calls {starter_name}, this deployment's Entitlement Management starter{usage}"
            ),
        )
    } else {
        Check::fail(
            id("starter"),
            format!(
                "{label}: calls {}, not this deployment's Entitlement Management starter ({starter_name}): its callouts never reach the resume-access-request queue{usage}",
                endpoint.and_then(|e| e.logic_app_workflow_name.as_deref()).unwrap_or("no Logic App")
            ),
            "Entra admin center → Identity Governance → Catalogs → the catalog → Custom extensions → the extension → Details: choose the starter (the template's output entitlementManagementStarterName)",
        )
    }];
    checks.push(pop_check(
        id("pop"),
        label,
        extension.authentication_configuration.as_ref(),
        "Entra admin center → the catalog's custom extension → Details: proof of possession (POP)",
    ));
    let timeout = extension
        .callback_configuration
        .as_ref()
        .and_then(|c| c.timeout_duration.as_deref());
    checks.push(match timeout.and_then(iso8601_duration) {
        Some(t) if t <= ACCESS_TIMEOUT_MAX => {
            Check::pass(id("timeout"), format!("{label}: callback timeout {}", humantime::format_duration(t)))
        }
        Some(t) => Check::fail(
            id("timeout"),
            format!("{label}: callback timeout {} is longer than Entitlement Management's 14 days", humantime::format_duration(t)),
            "Entra admin center → the catalog's custom extension → Details: a response timeout of at most 14 days",
        ),
        None => Check::fail(
            id("timeout"),
            format!("{label}: no callback timeout ({}): the request does not wait for a resume", timeout.unwrap_or("none")),
            "Entra admin center → the catalog's custom extension → Details: Launch and wait, with a response timeout",
        ),
    });
    checks.push(access_authorized(id("authorized"), ext, label, context));
    checks
}

/// Whether the app may resume the requests `extension` holds: with
/// `EntitlementManagement.ReadWrite.All`, or a role in the extension's catalog.
fn access_authorized(id: String, extension: &str, label: &str, context: &Context<'_>) -> Check {
    let held = holds(context, EM_WRITE);
    if held == Some(true) {
        return Check::pass(
            id,
            format!("{label}: the function app holds {EM_WRITE}, so it may resume these requests"),
        );
    }
    let access = match context.catalog_access {
        Ok(access) => access,
        Err(why) => {
            return Check::unknown(
                id,
                format!("{label}: the function app does not hold {EM_WRITE}, and its catalog roles could not be read: {why}"),
            )
        }
    };
    let catalog = access.extension_catalogs.get(extension);
    let catalog_name = catalog
        .and_then(|c| c.display_name.as_deref().or(c.id.as_deref()))
        .unwrap_or("?");
    match access.covers(extension) {
        Some(true) => Check::pass(
            id,
            format!("{label}: the function app is Access package assignment manager (or higher) of its catalog, {catalog_name}"),
        ),
        None => Check::unknown(
            id,
            format!("{label}: its catalog is not among those Graph listed, so the function app's role in it cannot be checked"),
        ),
        Some(false) => {
            let fix = match (catalog.and_then(|c| c.id.as_deref()), context.app_principal_id) {
                (Some(catalog), Some(principal)) => format!(
                    "make the function app Access package assignment manager of {catalog_name}: Entra admin center → Identity Governance → Catalogs → {catalog_name} → Roles and administrators → Add access package assignment manager; or: az rest --method post --url {}/v1.0/roleManagement/entitlementManagement/roleAssignments --body '{{\"principalId\":\"{principal}\",\"roleDefinitionId\":\"{ASSIGNMENT_MANAGER}\",\"appScopeId\":\"/AccessPackageCatalog/{catalog}\"}}'",
                    context.graph_root
                ),
                _ => format!("make the function app Access package assignment manager of {catalog_name}: Entra admin center → Identity Governance → Catalogs → {catalog_name} → Roles and administrators → Add access package assignment manager"),
            };
            let message = format!("{label}: in catalog {catalog_name}, where the function app holds no role of its own (one held through a group does not show), and it does not hold {EM_WRITE}");
            match held {
                Some(_) => Check::fail(
                    id,
                    format!("{message}: Graph refuses its resumes (403), and the requests time out"),
                    fix,
                ),
                None => Check::unknown(
                    id,
                    format!("{message}, as far as doctor can tell (its Graph permissions are unknown)"),
                )
                .with_fix(fix),
            }
        }
    }
}

pub(super) fn extension_checks(
    extension: &CustomTaskExtension,
    deployment: &Deployment,
    context: &Context<'_>,
) -> Vec<Check> {
    let ext = extension.id.as_deref().unwrap_or("(no id)");
    let id = |what: &str| format!("extension/{ext}/{what}");
    let label = extension.display_name.as_deref().unwrap_or(ext);
    let mut checks = Vec::new();

    let endpoint = extension.endpoint_configuration.as_ref();
    let logic_app = endpoint.and_then(|e| e.logic_app_workflow_name.as_deref());
    let starter = starter_for(deployment, "resume-task")
        .filter(|starter| calls(endpoint, starter, context.target));
    let workflows = context
        .extension_use
        .workflows
        .get(ext)
        .map(|w| w.iter().map(|name| &**name));
    let usage = used_by("workflow", workflows, context.extension_use.complete);
    checks.push(match starter {
        Some(_) => Check::pass(id("starter"), format!("{label}: calls {}, this deployment's Lifecycle Workflows starter{usage}", logic_app.unwrap_or_default())),
        None => Check::fail(
            id("starter"),
            format!("{label}: calls {} in {}/{}, not this deployment's Lifecycle Workflows starter: its callouts never reach the resume-task queue{usage}", logic_app.unwrap_or("no Logic App"), endpoint.and_then(|e| e.subscription_id.as_deref()).unwrap_or("?"), endpoint.and_then(|e| e.resource_group_name.as_deref()).unwrap_or("?")),
            "Entra admin center → Lifecycle workflows → Custom extensions → the extension → Logic App: choose the starter (the template's output lifecycleWorkflowsStarterName)",
        ),
    });

    checks.push(pop_check(
        id("pop"),
        label,
        extension.authentication_configuration.as_ref(),
        "Entra admin center → the extension → Basics: Authentication → proof of possession (POP)",
    ));

    let timeout = extension.timeout();
    let parsed = timeout.and_then(iso8601_duration);
    checks.push(match parsed {
        None => Check::fail(
            id("timeout"),
            format!("{label}: no callback timeout ({}): the task does not wait for a resume", timeout.unwrap_or("none")),
            "Entra admin center → the extension → Task behavior: Launch and wait, with a timeout from 5 minutes to 3 hours",
        ),
        Some(t) if t < TASK_TIMEOUTS.0 || t > TASK_TIMEOUTS.1 => Check::fail(
            id("timeout"),
            format!("{label}: callback timeout {} is outside Lifecycle Workflows' 5 minutes to 3 hours", humantime::format_duration(t)),
            "Entra admin center → the extension → Task behavior: a timeout from 5 minutes to 3 hours",
        ),
        // Whether the queue rides the wait out is the queue's own check.
        Some(t) => Check::pass(
            id("timeout"),
            format!("{label}: callback timeout {}", humantime::format_duration(t)),
        ),
    });

    checks.push(match (holds(context, LCW_WRITE), context.app_client_id) {
        (Some(true), _) => Check::pass(
            id("authorized"),
            format!("{label}: the function app holds {LCW_WRITE}, so it may resume these tasks"),
        ),
        (_, None) => Check::unknown(
            id("authorized"),
            format!("{label}: the function app's client id is unknown, so its place in authorizedApps cannot be checked"),
        ),
        (held, Some(client)) => match extension.authorized_apps() {
            AuthorizedApps::Unread(why) => Check::unknown(
                id("authorized"),
                format!("{label}: Graph did not list the authorized apps ({why})"),
            ),
            _ if extension.is_authorized(client) => Check::pass(
                id("authorized"),
                format!("{label}: the function app ({client}) is an authorized app"),
            ),
            _ => {
                let fix = format!("resume-handler extension grant --task-extension {ext} --app {client}");
                match held {
                    Some(_) => Check::fail(
                        id("authorized"),
                        format!("{label}: the function app ({client}) neither holds {LCW_WRITE} nor is among its authorized apps: Graph refuses its resumes (403)"),
                        fix,
                    ),
                    None => Check::unknown(
                        id("authorized"),
                        format!("{label}: the function app ({client}) is not among its authorized apps, and whether it holds {LCW_WRITE} is unknown"),
                    )
                    .with_fix(fix),
                }
            }
        },
    });
    checks
}
