//! The checks, with no I/O: what must hold between Entra's callout and a resumed task, each
//! against what was read (README, *Operator commands*: `doctor`). By what they look at:
//! [`app`] (the function app's settings and Graph permissions), [`starters`] (the Logic
//! Apps), [`queues`], and [`extensions`] (the custom extensions that call the starters).
mod app;
mod extensions;
mod queues;
mod starters;

pub use app::EM_WRITE;

use super::azure::{Deployment, Target};
use super::catalogs::CatalogAccess;
use super::{Check, Status};
use crate::graph::models::{iso8601_duration, CustomExtension, CustomTaskExtension};
use crate::report::ExtensionUse;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Entra's first-party callers, as their PoP tokens name them (docs/starters.md).
pub const LIFECYCLE_WORKFLOWS_APP_ID: &str = "ce79fdc4-cd1d-4ea5-8139-e74d7dbe0bb7";
pub const ENTITLEMENT_MANAGEMENT_APP_ID: &str = "810dcf14-1858-4bf2-8134-4c369fa3235b";

/// The queues of the template, and the caller each one's starter admits.
const QUEUES: [(&str, &str); 2] = [
    ("resume-task", LIFECYCLE_WORKFLOWS_APP_ID),
    ("resume-access-request", ENTITLEMENT_MANAGEMENT_APP_ID),
];

/// Lifecycle Workflows' callback timeouts: 5 minutes to 3 hours.
const TASK_TIMEOUTS: (Duration, Duration) =
    (Duration::from_secs(300), Duration::from_secs(3 * 3_600));

/// What the checks need besides the deployment.
pub struct Context<'a> {
    pub target: &'a Target,
    /// Resource Manager's host in the cloud, as a PoP token's `u` claim names it.
    pub resource_manager_host: &'a str,
    /// The custom task extensions, each with its authorized apps; or why Graph did not
    /// list them.
    pub extensions: Result<&'a [CustomTaskExtension], &'a str>,
    /// Entitlement Management's custom extensions that assignment policies run; or why Graph
    /// did not list the policies.
    pub access_extensions: Result<&'a [CustomExtension], &'a str>,
    /// The function app identity's client id (appId), when Graph gave it.
    pub app_client_id: Option<&'a str>,
    /// The Microsoft Graph application permissions the app's identity holds, by value;
    /// `None` if Graph did not say.
    pub graph_roles: Option<&'a BTreeSet<String>>,
    /// Where the app may resume access requests through a catalog role; or why that was not
    /// read (it is read only when the app does not hold `EntitlementManagement.ReadWrite.All`).
    pub catalog_access: Result<&'a CatalogAccess, &'a str>,
    /// The function app identity's object id, when Resource Manager gave it.
    pub app_principal_id: Option<&'a str>,
    /// The cloud's Graph root, for the commands in fixes.
    pub graph_root: &'a str,
    /// The workflows that run each custom task extension.
    pub extension_use: &'a ExtensionUse,
    /// The access packages whose policies run each access package custom extension, by its
    /// id.
    pub access_packages: &'a BTreeMap<String, BTreeSet<String>>,
}

/// What uses an extension, for its `starter` check's message: `(used by 2 workflows: A; B)`,
/// the first [`NAMES_SHOWN`] names, and "at least" where not every one could be read.
fn used_by<'n>(
    what: &str,
    names: Option<impl ExactSizeIterator<Item = &'n str>>,
    complete: bool,
) -> String {
    let at_least = if complete { "" } else { "at least " };
    let Some(names) = names.filter(|n| n.len() > 0) else {
        return match complete {
            true => format!(" (used by no {what})"),
            false => String::new(),
        };
    };
    let count = names.len();
    let plural = if count == 1 { "" } else { "s" };
    let mut shown: Vec<&str> = names.take(NAMES_SHOWN).collect();
    let more = count - shown.len();
    let more = if more > 0 {
        shown.push("");
        format!("and {more} more")
    } else {
        String::new()
    };
    format!(
        " (used by {at_least}{count} {what}{plural}: {}{more})",
        shown.join("; ")
    )
}

/// How many names of what uses an extension its message shows.
const NAMES_SHOWN: usize = 3;

/// The fix for a setting the template sets: deploy it again.
fn redeploy(target: &Target) -> String {
    format!(
        "deploy the template again, which sets it: az deployment group create -g {} -f infra/main.bicep -p environmentName=<name>",
        target.resource_group
    )
}

pub fn all(deployment: &Deployment, context: &Context<'_>) -> Vec<Check> {
    let mut checks = Vec::new();
    let budget = app::retry_budget(deployment, &mut checks);
    checks.extend(app::function_timeout(deployment, budget));
    checks.extend(app::function_app_checks(deployment, context));
    checks.extend(app::graph_permission_checks(deployment, context));
    if deployment.starters.is_empty() {
        checks.push(Check::fail(
            "starters",
            "no Logic App in the resource group is tagged as a callout starter (purpose: resume-handler callout starter)",
            redeploy(context.target),
        ));
    }
    for starter in &deployment.starters {
        checks.extend(starters::starter_checks(starter, deployment, context));
    }
    // What the resume-task queue must ride out: the longest wait of the extensions (within
    // Entra's limits; one outside them is its own check's failure), or Lifecycle Workflows'
    // longest, 3 hours, where none is known.
    let longest_wait = context
        .extensions
        .into_iter()
        .flatten()
        .filter_map(|e| e.timeout().and_then(iso8601_duration))
        .filter(|t| (TASK_TIMEOUTS.0..=TASK_TIMEOUTS.1).contains(t))
        .max()
        .unwrap_or(TASK_TIMEOUTS.1);
    for (queue_name, _) in QUEUES {
        let must_ride_out = match queue_name {
            "resume-task" => longest_wait,
            _ => TASK_TIMEOUTS.1,
        };
        checks.extend(queues::queue_checks(
            queue_name,
            deployment,
            budget,
            must_ride_out,
            context.target,
        ));
    }
    match context.extensions {
        Err(why) => checks.push(Check::unknown(
            "extensions",
            format!("Graph did not list the custom task extensions: {why}"),
        )),
        Ok(extensions) => {
            for extension in extensions {
                checks.extend(extensions::extension_checks(extension, deployment, context));
            }
        }
    }
    // Entitlement Management's extensions concern a deployment with its starter.
    if let Some(em_starter) = starters::starter_for(deployment, "resume-access-request") {
        match context.access_extensions {
            Err(why) => checks.push(Check::unknown(
                "accessExtensions",
                format!("Graph did not list the assignment policies: {why}"),
            )),
            Ok(extensions) => {
                for extension in extensions {
                    checks.extend(extensions::access_extension_checks(
                        extension, em_starter, context,
                    ));
                }
            }
        }
    }
    checks
}

impl Check {
    pub fn pass(id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            status: Status::Pass,
            message: message.into(),
            fix: None,
        }
    }

    pub fn fail(id: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            status: Status::Fail,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    pub fn unknown(id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            status: Status::Unknown,
            message: message.into(),
            fix: None,
        }
    }

    fn with_fix(mut self, fix: String) -> Self {
        self.fix = Some(fix);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::used_by;

    #[test]
    fn what_uses_an_extension_is_named_up_to_three_then_counted() {
        let names = |n: &'static [&'static str]| Some(n.iter().copied());
        assert_eq!(
            used_by("workflow", names(&["A"]), true),
            " (used by 1 workflow: A)"
        );
        assert_eq!(
            used_by("workflow", names(&["A", "B", "C", "D", "E"]), true),
            " (used by 5 workflows: A; B; C; and 2 more)"
        );
        assert_eq!(
            used_by("workflow", names(&["A", "B"]), false),
            " (used by at least 2 workflows: A; B)"
        );
        assert_eq!(
            used_by("workflow", names(&[]), true),
            " (used by no workflow)"
        );
        assert_eq!(used_by("workflow", names(&[]), false), "");
        assert_eq!(
            used_by("access package", None::<std::iter::Empty<&str>>, false),
            ""
        );
    }
}
