//! The function app: its retry budget, and the Graph permissions of its identity.
use super::{Check, Context};
use crate::command::Kind;
use crate::config::MAX_RETRY_BUDGET;
use crate::doctor::azure::Deployment;
use crate::graph::client::ATTEMPT_TIMEOUT;
use crate::report::SWEEP_BUDGET;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

pub(super) const LCW_WRITE: &str = "LifecycleWorkflows.ReadWrite.All";
const LCW_READ: [&str; 2] = [
    "LifecycleWorkflows.Read.All",
    "LifecycleWorkflows-Reports.Read.All",
];
pub const EM_WRITE: &str = "EntitlementManagement.ReadWrite.All";

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
        checks.push(entitlement_management(roles, context, &grant(EM_WRITE)));
    }
    checks
}

/// Whether the app may resume access requests: with `EntitlementManagement.ReadWrite.All`,
/// or as *Access package assignment manager* (or higher) of catalogs, the least-privilege
/// route; each access package extension's own check says whether its catalog is one.
fn entitlement_management(roles: &BTreeSet<String>, context: &Context<'_>, grant: &str) -> Check {
    const ID: &str = "app/graphPermissions/entitlementManagement";
    if roles.contains(EM_WRITE) {
        return Check::pass(ID, format!("the app's identity holds {EM_WRITE}"));
    }
    match context.catalog_access {
        Ok(access) if access.every_catalog => Check::pass(
            ID,
            format!("the app's identity does not hold {EM_WRITE}, but holds a catalog role over every catalog: it may resume any access request"),
        ),
        Ok(access) if !access.catalogs.is_empty() => Check::pass(
            ID,
            format!(
                "the app's identity does not hold {EM_WRITE}: it resumes access requests in the {} catalog{} where it is Access package assignment manager (or higher)",
                access.catalogs.len(),
                if access.catalogs.len() == 1 { "" } else { "s" }
            ),
        ),
        Ok(_) => Check::fail(
            ID,
            format!("the app's identity holds neither {EM_WRITE} nor a role of its own in any catalog (one held through a group does not show): Graph refuses every resume of an access request (403), and the requests time out"),
            format!("{grant}; or make it Access package assignment manager of each catalog with a custom extension (each accessExtension/<id>/authorized check names its catalog and the command)"),
        ),
        Err(why) => Check::unknown(
            ID,
            format!("the app's identity does not hold {EM_WRITE}, and its catalog roles could not be read: {why}"),
        )
        .with_fix(grant.to_string()),
    }
}

/// The function app itself: it runs the custom handler, with a managed identity, and the
/// kinds its report sweeps are ones its identity may read.
pub(super) fn function_app_checks(deployment: &Deployment, context: &Context<'_>) -> Vec<Check> {
    let Some(app) = deployment.function_app() else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    let runtime = app
        .runtime
        .as_deref()
        .or(app.setting("FUNCTIONS_WORKER_RUNTIME"));
    checks.push(match runtime {
        Some(r) if r.eq_ignore_ascii_case("custom") => Check::pass(
            "app/runtime",
            format!("{}: the custom handler runtime", app.name),
        ),
        Some(other) => Check::fail(
            "app/runtime",
            format!(
                "{}: its runtime is {other}, not custom: the host never starts resume-handler",
                app.name
            ),
            "deploy the template again, which sets the custom runtime",
        ),
        None => Check::unknown(
            "app/runtime",
            format!("{}: its runtime could not be read", app.name),
        ),
    });
    checks.push(match &app.principal_id {
        Some(_) => Check::pass(
            "app/identity",
            format!("{}: it has a managed identity", app.name),
        ),
        None => Check::fail(
            "app/identity",
            format!(
                "{}: it has no managed identity, so it cannot sign in to Graph or read its queues",
                app.name
            ),
            "deploy the template again, which enables it (or: az functionapp identity assign)",
        ),
    });
    let kinds = app
        .setting("LIST_IN_PROGRESS_KINDS")
        .unwrap_or("task,accessRequest");
    let reports_requests = kinds
        .split(',')
        .filter_map(Kind::parse)
        .any(|k| k == Kind::AccessRequest);
    if reports_requests {
        checks.push(match context.graph_roles {
            Some(roles) if EM_READ.iter().any(|r| roles.contains(*r)) => Check::pass(
                "app/reportKinds",
                "LIST_IN_PROGRESS_KINDS includes accessRequest, and the identity may read Entitlement Management",
            ),
            Some(_) => Check::fail(
                "app/reportKinds",
                "LIST_IN_PROGRESS_KINDS includes accessRequest, but the identity holds no Entitlement Management permission: every report is partial",
                "grant EntitlementManagement.Read.All (or ReadWrite.All), or set LIST_IN_PROGRESS_KINDS=task",
            ),
            None => Check::unknown(
                "app/reportKinds",
                "LIST_IN_PROGRESS_KINDS includes accessRequest; whether the identity may read Entitlement Management is unknown",
            ),
        });
    }
    checks
}

/// What reads Entitlement Management's requests.
const EM_READ: [&str; 2] = ["EntitlementManagement.Read.All", EM_WRITE];

/// `GRAPH_RETRY_BUDGET` as the function app has it, checked; the budget the queues' checks
/// use.
pub(super) fn retry_budget(deployment: &Deployment, checks: &mut Vec<Check>) -> Option<Duration> {
    let Some(app) = deployment.function_app() else {
        checks.push(Check::unknown(
            "app/settings",
            format!(
                "{} function apps in the resource group: the checks need exactly one",
                deployment.function_apps.len()
            ),
        ));
        return None;
    };
    if app.settings.is_none() {
        checks.push(Check::unknown(
            "app/settings",
            format!("the app settings of {} could not be read (it needs Website Contributor, or a role with Microsoft.Web/sites/config/list/action)", app.name),
        ));
        return None;
    }
    let text = app.setting("GRAPH_RETRY_BUDGET").unwrap_or("60s");
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

/// host.json as this version ships it: the deployed package carries it, and Resource Manager
/// does not show it.
const SHIPPED_HOST_JSON: &str = include_str!("../../../host.json");

/// The app setting through which the Functions host takes `functionTimeout` instead of
/// host.json's.
const FUNCTION_TIMEOUT_SETTING: &str = "AzureFunctionsJobHost__functionTimeout";

/// `functionTimeout` against the longest an invocation may take: a resume's retry budget, or
/// the timer's sweep, and one attempt. A shorter timeout stops an invocation midway: the
/// queue message comes back, the HTTP caller gets a 500, and the sweep logs nothing.
pub(super) fn function_timeout(deployment: &Deployment, budget: Option<Duration>) -> Vec<Check> {
    const ID: &str = "app/functionTimeout";
    let Some(app) = deployment
        .function_app()
        .filter(|app| app.settings.is_some())
    else {
        return Vec::new();
    };
    let (text, from) = match app.setting(FUNCTION_TIMEOUT_SETTING) {
        Some(text) => (text.to_string(), FUNCTION_TIMEOUT_SETTING),
        None => (
            shipped_function_timeout().unwrap_or_default(),
            "host.json as this version ships it",
        ),
    };
    let longest = longest_invocation(budget.unwrap_or(MAX_RETRY_BUDGET));
    let fix = format!("set {FUNCTION_TIMEOUT_SETTING} to 00:10:00 (host.json's), or remove it");
    let check = match parse_timespan(&text) {
        Some(None) => Check::pass(ID, format!("{}: functionTimeout is unbounded ({from})", app.name)),
        Some(Some(timeout)) if timeout >= longest => Check::pass(
            ID,
            format!("{}: functionTimeout {} ({from}) outlasts the longest invocation ({})", app.name, humantime::format_duration(timeout), humantime::format_duration(longest)),
        ),
        Some(Some(timeout)) => Check::fail(
            ID,
            format!("{}: functionTimeout {} ({from}) is shorter than an invocation may take ({}: the retry budget or the timer's sweep, and one attempt): the host stops it midway, a queue message comes back, an HTTP caller gets a 500", app.name, humantime::format_duration(timeout), humantime::format_duration(longest)),
            fix,
        ),
        None => Check::fail(
            ID,
            format!("{}: functionTimeout '{text}' ({from}) is not a time span such as 00:10:00: the host does not start", app.name),
            fix,
        ),
    };
    vec![check]
}

/// The longest an invocation may take with retry budget `budget`: the budget or the timer's
/// sweep, whichever is longer, and one attempt.
fn longest_invocation(budget: Duration) -> Duration {
    budget.max(SWEEP_BUDGET) + ATTEMPT_TIMEOUT
}

fn shipped_function_timeout() -> Option<String> {
    let host: Value = serde_json::from_str(SHIPPED_HOST_JSON).ok()?;
    host.get("functionTimeout")?.as_str().map(str::to_string)
}

/// A .NET time span as host.json writes it, `[d.]hh:mm:ss`: `Some(None)` for `-1`
/// (unbounded), `None` when it is not one.
fn parse_timespan(text: &str) -> Option<Option<Duration>> {
    let text = text.trim();
    if text == "-1" {
        return Some(None);
    }
    let (days, clock) = match text.split_once('.') {
        Some((days, clock)) if clock.contains(':') => (days.parse::<u64>().ok()?, clock),
        _ => (0, text),
    };
    let parts: Vec<u64> = clock
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [hours, minutes, seconds] = parts[..] else {
        return None;
    };
    if minutes >= 60 || seconds >= 60 {
        return None;
    }
    Some(Some(Duration::from_secs(
        ((days * 24 + hours) * 60 + minutes) * 60 + seconds,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_spans_read_as_the_host_writes_them() {
        assert_eq!(
            parse_timespan("00:10:00"),
            Some(Some(Duration::from_secs(600)))
        );
        assert_eq!(
            parse_timespan("1.02:00:30"),
            Some(Some(Duration::from_secs(93_630)))
        );
        assert_eq!(parse_timespan("-1"), Some(None));
        for bad in ["10m", "00:61:00", "1:2", "", "a.00:01:00"] {
            assert_eq!(parse_timespan(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_shipped_host_json_outlasts_the_longest_invocation() {
        let shipped = shipped_function_timeout().unwrap();
        let timeout = parse_timespan(&shipped).unwrap().unwrap();
        assert!(timeout >= longest_invocation(MAX_RETRY_BUDGET));
    }
}
