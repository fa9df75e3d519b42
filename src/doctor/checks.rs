//! The checks, with no I/O: what must hold between Entra's callout and a resumed task, each
//! against what was read (README, *Doctor*).
use super::azure::{Deployment, LogicApp, Target};
use super::{Check, Status};
use crate::config::MAX_RETRY_BUDGET;
use crate::graph::client::ATTEMPT_TIMEOUT;
use crate::graph::models::{
    iso8601_duration, AuthorizedApps, CustomExtension, CustomTaskExtension, LogicAppEndpoint,
};
use serde_json::Value;
use std::collections::BTreeSet;
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
}

const LCW_WRITE: &str = "LifecycleWorkflows.ReadWrite.All";
const LCW_READ: [&str; 2] = [
    "LifecycleWorkflows.Read.All",
    "LifecycleWorkflows-Reports.Read.All",
];
const EM_WRITE: &str = "EntitlementManagement.ReadWrite.All";

/// The app holds `role` (`None`: unknown).
fn holds(context: &Context<'_>, role: &str) -> Option<bool> {
    context.graph_roles.map(|roles| roles.contains(role))
}

/// The Graph permissions the app's identity holds, against what resuming and the report need
/// (README, *Graph permissions: three routes*).
fn graph_permission_checks(deployment: &Deployment, context: &Context<'_>) -> Vec<Check> {
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

/// The fix for a setting the template sets: deploy it again.
fn redeploy(target: &Target) -> String {
    format!(
        "deploy the template again, which sets it: az deployment group create -g {} -f infra/main.bicep -p environmentName=<name>",
        target.resource_group
    )
}

pub fn all(deployment: &Deployment, context: &Context<'_>) -> Vec<Check> {
    let mut checks = Vec::new();
    let budget = retry_budget(deployment, &mut checks);
    checks.extend(graph_permission_checks(deployment, context));
    if deployment.starters.is_empty() {
        checks.push(Check::fail(
            "starters",
            "no Logic App in the resource group is tagged as a callout starter (purpose: resume-handler callout starter)",
            redeploy(context.target),
        ));
    }
    for starter in &deployment.starters {
        checks.extend(starter_checks(starter, deployment, context));
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
        checks.extend(queue_checks(
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
                checks.extend(extension_checks(extension, deployment, context));
            }
        }
    }
    // Entitlement Management's extensions concern a deployment with its starter.
    if let Some(em_starter) = starter_for(deployment, "resume-access-request") {
        match context.access_extensions {
            Err(why) => checks.push(Check::unknown(
                "accessExtensions",
                format!("Graph did not list the assignment policies: {why}"),
            )),
            Ok(extensions) => {
                for extension in extensions {
                    checks.extend(access_extension_checks(extension, em_starter, context));
                }
            }
        }
    }
    checks
}

/// `GRAPH_RETRY_BUDGET` as the function app has it, checked; the budget the queues' checks
/// use.
fn retry_budget(deployment: &Deployment, checks: &mut Vec<Check>) -> Option<Duration> {
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

fn starter_checks(
    starter: &LogicApp,
    deployment: &Deployment,
    context: &Context<'_>,
) -> Vec<Check> {
    let name = starter.name.as_deref().unwrap_or("(unnamed)");
    let id = |what: &str| format!("starter/{name}/{what}");
    let properties = starter.properties.as_ref();
    let triggers = properties
        .and_then(|p| p.access_control.as_ref())
        .and_then(|a| a.get("triggers"));
    let mut checks = Vec::new();

    let sas = triggers
        .and_then(|t| t.pointer("/sasAuthenticationPolicy/state"))
        .and_then(Value::as_str);
    checks.push(match sas {
        Some(state) if state.eq_ignore_ascii_case("Disabled") => {
            Check::pass(id("sas"), "the trigger's signed URL (SAS) is disabled")
        }
        _ => Check::fail(
            id("sas"),
            "the trigger's signed URL (SAS) is enabled, so a call with the URL alone gets past the AADPOP policy",
            redeploy(context.target),
        ),
    });

    let queue_url = properties
        .and_then(|p| p.parameters.as_ref())
        .and_then(|p| p.pointer("/resumeQueueUrl/value"))
        .and_then(Value::as_str);
    let queue = QUEUES.iter().find(|(q, _)| {
        queue_url.is_some_and(|url| {
            url.trim_end_matches('/')
                .ends_with(&format!("/{q}/messages"))
        })
    });
    let known_queue = queue.filter(|(q, _)| {
        deployment
            .queues
            .iter()
            .any(|dq| dq.name.as_deref() == Some(q))
    });
    checks.push(match known_queue {
        Some((q, _)) => Check::pass(
            id("queue"),
            format!("sends to the {q} queue of this deployment"),
        ),
        None => Check::fail(
            id("queue"),
            format!(
                "{name}: its resumeQueueUrl ({}) names no queue of this deployment",
                queue_url.unwrap_or("missing")
            ),
            redeploy(context.target),
        ),
    });

    checks.push(sender_check(
        starter,
        known_queue.map(|(q, _)| *q),
        deployment,
        &id("sender"),
    ));

    let expected = queue.map(|(_, caller)| expected_claims(name, caller, deployment, context));
    let policies = triggers
        .and_then(|t| t.pointer("/openAuthenticationPolicies/policies"))
        .and_then(Value::as_object);
    let pop: Vec<&Value> = policies
        .into_iter()
        .flat_map(|p| p.values())
        .filter(|p| p.get("type").and_then(Value::as_str) == Some("AADPOP"))
        .collect();
    checks.push(match (pop.as_slice(), expected) {
        ([], _) => Check::fail(
            id("policy"),
            "the trigger has no AADPOP authorization policy (setting the Logic App's state from PowerShell, or pasting its definition in code view, removes it)",
            redeploy(context.target),
        ),
        (_, None) => Check::unknown(id("policy"), "which Entra caller it admits depends on its queue, which is unknown"),
        (_, Some(Err(why))) => Check::unknown(id("policy"), why),
        ([policy, ..], Some(Ok(expected))) => {
            let wrong: Vec<String> = expected
                .iter()
                .filter(|(claim, value)| claim_value(policy, claim).is_none_or(|v| !v.eq_ignore_ascii_case(value)))
                .map(|(claim, value)| format!("{claim} should be {value}, is {}", claim_value(policy, claim).unwrap_or("missing")))
                .collect();
            if wrong.is_empty() {
                Check::pass(id("policy"), "the AADPOP policy admits only Entra's caller for this tenant and Logic App")
            } else {
                Check::fail(
                    id("policy"),
                    format!("the AADPOP policy's claims differ: {}", wrong.join("; ")),
                    redeploy(context.target),
                )
            }
        }
    });

    checks.push(condition_check(starter, &id("condition"), context));

    let state = properties.and_then(|p| p.state.as_deref());
    checks.push(match state {
        Some(state) if state.eq_ignore_ascii_case("Enabled") => Check::pass(id("state"), "enabled"),
        other => Check::fail(
            id("state"),
            format!("its state is {}, so Entra's callouts fail", other.unwrap_or("unknown")),
            format!("az resource update --ids {} --set properties.state=Enabled, or the portal: Logic App → Overview → Enable (either keeps the authorization policy; a state set with Set-AzLogicApp removes it)", starter.id.as_deref().unwrap_or(name)),
        ),
    });
    checks
}

/// Whether the starter's Request trigger keeps the template's second guard: a condition on
/// the Authorization header being a PoP token, with the header in the trigger's outputs.
fn condition_check(starter: &LogicApp, id: &str, context: &Context<'_>) -> Check {
    let triggers = starter
        .properties
        .as_ref()
        .and_then(|p| p.definition.as_ref())
        .and_then(|d| d.get("triggers"))
        .and_then(Value::as_object);
    let guarded = triggers
        .into_iter()
        .flat_map(|t| t.values())
        .any(|trigger| {
            let conditions = trigger.get("conditions").and_then(Value::as_array);
            let checks_pop = conditions.into_iter().flatten().any(|c| {
                c.get("expression")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.contains("Authorization") && e.contains("PoP"))
            });
            let sees_header = trigger
                .get("operationOptions")
                .and_then(Value::as_str)
                .is_some_and(|o| o.contains("IncludeAuthorizationHeadersInOutputs"));
            checks_pop && sees_header
        });
    match guarded {
        true => Check::pass(id, "its trigger refuses a call without a proof-of-possession token"),
        false => Check::fail(
            id,
            "its trigger has no condition on a PoP Authorization header (or cannot see the header): the definition differs from infra/starters",
            redeploy(context.target),
        ),
    }
}

/// The deployment's starter that sends to `queue`.
fn starter_for<'a>(deployment: &'a Deployment, queue: &str) -> Option<&'a LogicApp> {
    deployment.starters.iter().find(|s| {
        s.properties
            .as_ref()
            .and_then(|p| p.parameters.as_ref())
            .and_then(|p| p.pointer("/resumeQueueUrl/value"))
            .and_then(Value::as_str)
            .is_some_and(|url| {
                url.trim_end_matches('/')
                    .ends_with(&format!("/{queue}/messages"))
            })
    })
}

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

/// Entitlement Management's longest callback timeout: 14 days.
const ACCESS_TIMEOUT_MAX: Duration = Duration::from_secs(14 * 86_400);

/// An access package custom extension's checks: its Logic App is the deployment's
/// Entitlement Management starter, it signs its callouts with PoP, and it waits for a
/// callback no longer than Entra allows.
fn access_extension_checks(
    extension: &CustomExtension,
    starter: &LogicApp,
    context: &Context<'_>,
) -> Vec<Check> {
    let ext = extension.id.as_deref().unwrap_or("(no id)");
    let id = |what: &str| format!("accessExtension/{ext}/{what}");
    let label = extension.display_name.as_deref().unwrap_or(ext);
    let starter_name = starter.name.as_deref().unwrap_or_default();
    let endpoint = extension.endpoint_configuration.as_ref();
    let mut checks = vec![if calls(endpoint, starter, context.target) {
        Check::pass(
            id("starter"),
            format!(
                "{label}: calls {starter_name}, this deployment's Entitlement Management starter"
            ),
        )
    } else {
        Check::fail(
            id("starter"),
            format!(
                "{label}: calls {}, not this deployment's Entitlement Management starter ({starter_name}): its callouts never reach the resume-access-request queue",
                endpoint.and_then(|e| e.logic_app_workflow_name.as_deref()).unwrap_or("no Logic App")
            ),
            "Entra admin center → Identity Governance → Catalogs → the catalog → Custom extensions → the extension → Details: choose the starter (the template's output entitlementManagementStarterName)",
        )
    }];
    let authentication = extension
        .authentication_configuration
        .as_ref()
        .and_then(|a| a.odata_type.as_deref());
    checks.push(match authentication {
        Some(t) if t.ends_with("azureAdPopTokenAuthentication") => {
            Check::pass(id("pop"), format!("{label}: callouts carry a proof-of-possession token"))
        }
        other => Check::fail(
            id("pop"),
            format!("{label}: callouts authenticate with {}, which the starter's AADPOP policy refuses", other.unwrap_or("nothing")),
            "Entra admin center → the catalog's custom extension → Details: proof of possession (POP)",
        ),
    });
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
    checks
}

/// Azure Service Bus Data Sender and Data Owner: either lets a starter send to its queue.
const SENDER_ROLES: [&str; 2] = [
    "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    "090c5cfd-751d-490a-894a-3ce6f1109419",
];

/// Whether the starter's identity may send to its queue: a sender role for its principal at
/// or above the queue.
fn sender_check(
    starter: &LogicApp,
    queue: Option<&str>,
    deployment: &Deployment,
    id: &str,
) -> Check {
    let principal = starter
        .identity
        .as_ref()
        .and_then(|i| i.principal_id.as_deref());
    let queue = queue.and_then(|q| {
        deployment
            .queues
            .iter()
            .find(|dq| dq.name.as_deref() == Some(q))
    });
    let (Some(principal), Some(queue)) = (principal, queue) else {
        return Check::unknown(id, "which identity sends to which queue is unknown (no system-assigned identity, or no queue of this deployment)");
    };
    let queue_name = queue.name.as_deref().unwrap_or_default();
    let Some(assignments) = &queue.role_assignments else {
        return Check::unknown(id, format!("the role assignments on {queue_name} could not be read (doctor needs Reader on the resource group)"));
    };
    let sends = assignments
        .iter()
        .filter_map(|a| a.properties.as_ref())
        .any(|p| {
            p.principal_id.as_deref() == Some(principal)
                && p.role_definition_id
                    .as_deref()
                    .and_then(|d| d.rsplit('/').next())
                    .is_some_and(|role| SENDER_ROLES.iter().any(|r| r.eq_ignore_ascii_case(role)))
        });
    match sends {
        true => Check::pass(id, format!("its identity may send to {queue_name} (Azure Service Bus Data Sender)")),
        false => Check::fail(
            id,
            format!("its identity ({principal}) has no sender role on {queue_name}: every send fails with 401, and Entra's callouts time out"),
            format!(
                "az role assignment create --assignee-object-id {principal} --assignee-principal-type ServicePrincipal --role \"Azure Service Bus Data Sender\" --scope {}",
                queue.id.as_deref().unwrap_or(queue_name)
            ),
        ),
    }
}

/// The claims a starter's AADPOP policy must hold: Entra's v1.0 issuer for the tenant, the
/// caller, a POST to this Logic App through Resource Manager.
fn expected_claims(
    name: &str,
    caller: &str,
    deployment: &Deployment,
    context: &Context<'_>,
) -> Result<Vec<(&'static str, String)>, String> {
    let tenant = deployment
        .tenant_id
        .as_deref()
        .ok_or("the subscription's tenant is unknown, so the issuer cannot be checked")?;
    Ok(vec![
        ("iss", format!("https://sts.windows.net/{tenant}/")),
        ("appid", caller.to_string()),
        ("m", "POST".to_string()),
        ("u", context.resource_manager_host.to_string()),
        (
            "p",
            format!(
                "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Logic/workflows/{name}",
                context.target.subscription, context.target.resource_group
            ),
        ),
    ])
}

fn claim_value<'a>(policy: &'a Value, claim: &str) -> Option<&'a str> {
    policy
        .get("claims")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(claim))?
        .get("value")?
        .as_str()
}

/// A queue's checks: duplicate detection, dead letters, and whether deliveries × budget
/// ride out `must_ride_out` (the longest callback timeout its work waits with), with a lock
/// longer than a delivery.
fn queue_checks(
    queue_name: &str,
    deployment: &Deployment,
    budget: Option<Duration>,
    must_ride_out: Duration,
    target: &Target,
) -> Vec<Check> {
    let id = |what: &str| format!("queue/{queue_name}/{what}");
    let Some(queue) = deployment
        .queues
        .iter()
        .find(|q| q.name.as_deref() == Some(queue_name))
    else {
        return vec![Check::fail(
            id("exists"),
            format!("no queue {queue_name} in the resource group's Service Bus namespaces"),
            redeploy(target),
        )];
    };
    let properties = queue.properties.as_ref();
    let mut checks = Vec::new();
    let duplicates = properties.and_then(|p| *p.requires_duplicate_detection);
    checks.push(match duplicates {
        Some(true) => Check::pass(id("duplicateDetection"), "a message sent twice with one MessageId is delivered once"),
        _ => Check::fail(
            id("duplicateDetection"),
            "duplicate detection is off, so a starter's retried send is delivered twice",
            "duplicate detection can only be set when a queue is created: delete the queue (after it is empty) and deploy the template again",
        ),
    });
    let dead = properties
        .and_then(|p| p.count_details.as_ref())
        .and_then(|c| *c.dead_letter_message_count);
    checks.push(match dead {
        Some(0) => Check::pass(id("deadLetters"), "no dead-lettered message"),
        Some(n) => Check::fail(
            id("deadLetters"),
            format!("{n} dead-lettered message{}: work that waits, or waited, for a resume that never came", if n == 1 { "" } else { "s" }),
            format!("read them (README, Outcomes: dead letters), resume what still waits (resume-handler report), then delete them; Service Bus Explorer on {queue_name}'s dead-letter queue shows each with its reason"),
        ),
        None => Check::unknown(id("deadLetters"), "Resource Manager gave no dead-letter count"),
    });
    let deliveries = properties.and_then(|p| *p.max_delivery_count);
    let lock = properties
        .and_then(|p| p.lock_duration.as_deref())
        .and_then(iso8601_duration);
    checks.push(match (deliveries, budget, lock) {
        (Some(n), Some(budget), Some(lock)) => {
            let ride_out = budget * n;
            let longest = must_ride_out;
            if lock < budget + ATTEMPT_TIMEOUT {
                Check::fail(
                    id("rideOut"),
                    format!("its lock ({}) is shorter than a delivery may take (GRAPH_RETRY_BUDGET {} and one 30 s attempt): the message would come back while it is still being resumed", humantime::format_duration(lock), humantime::format_duration(budget)),
                    redeploy(target),
                )
            } else if ride_out < longest {
                Check::fail(
                    id("rideOut"),
                    format!("{n} deliveries × {} ride out {} of outage, less than the {} its work may wait (its extensions' longest callback timeout): a message can be dead-lettered while Entra still waits", humantime::format_duration(budget), humantime::format_duration(ride_out), humantime::format_duration(longest)),
                    "deploy the template again with -p outageRideOutMinutes=200 (or more), which sets maxDeliveryCount from it",
                )
            } else {
                Check::pass(id("rideOut"), format!("{n} deliveries × {} ride out {} of outage", humantime::format_duration(budget), humantime::format_duration(ride_out)))
            }
        }
        _ => Check::unknown(id("rideOut"), "the outage it rides out needs its maxDeliveryCount and lock, and the app's GRAPH_RETRY_BUDGET"),
    });
    checks
}

fn extension_checks(
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
    let in_target = endpoint.is_some_and(|e| {
        e.subscription_id
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(context.target.subscription.as_str()))
            && e.resource_group_name
                .as_deref()
                .is_some_and(|g| g.eq_ignore_ascii_case(context.target.resource_group.as_str()))
    });
    let starter = deployment.starters.iter().find(|s| {
        s.name.as_deref().is_some_and(|n| Some(n) == logic_app)
            && s.properties
                .as_ref()
                .and_then(|p| p.parameters.as_ref())
                .and_then(|p| p.pointer("/resumeQueueUrl/value"))
                .and_then(Value::as_str)
                .is_some_and(|url| url.ends_with("/resume-task/messages"))
    });
    checks.push(match (in_target, starter) {
        (true, Some(_)) => Check::pass(id("starter"), format!("{label}: calls {}, this deployment's Lifecycle Workflows starter", logic_app.unwrap_or_default())),
        _ => Check::fail(
            id("starter"),
            format!("{label}: calls {} in {}/{}, not this deployment's Lifecycle Workflows starter: its callouts never reach the resume-task queue", logic_app.unwrap_or("no Logic App"), endpoint.and_then(|e| e.subscription_id.as_deref()).unwrap_or("?"), endpoint.and_then(|e| e.resource_group_name.as_deref()).unwrap_or("?")),
            "Entra admin center → Lifecycle workflows → Custom extensions → the extension → Logic App: choose the starter (the template's output lifecycleWorkflowsStarterName)",
        ),
    });

    let authentication = extension
        .authentication_configuration
        .as_ref()
        .and_then(|a| a.odata_type.as_deref());
    checks.push(match authentication {
        Some(t) if t.ends_with("azureAdPopTokenAuthentication") => Check::pass(id("pop"), format!("{label}: callouts carry a proof-of-possession token")),
        other => Check::fail(
            id("pop"),
            format!("{label}: callouts authenticate with {}, which the starter's AADPOP policy refuses", other.unwrap_or("nothing")),
            "Entra admin center → the extension → Basics: Authentication → proof of possession (POP)",
        ),
    });

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
