//! The starters: the Logic Apps Entra calls, and what lets them hand a command to a queue.
use super::{redeploy, Check, Context, QUEUES};
use crate::doctor::azure::{Deployment, LogicApp};
use serde_json::Value;

pub(super) fn starter_checks(
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

    let queue = QUEUES.iter().find(|(q, _)| sends_to(starter, q));
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
                queue_url(starter).unwrap_or("missing")
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
pub(super) fn starter_for<'a>(deployment: &'a Deployment, queue: &str) -> Option<&'a LogicApp> {
    deployment.starters.iter().find(|s| sends_to(s, queue))
}

/// Where the starter sends its commands: its `resumeQueueUrl` parameter.
fn queue_url(starter: &LogicApp) -> Option<&str> {
    starter
        .properties
        .as_ref()
        .and_then(|p| p.parameters.as_ref())
        .and_then(|p| p.pointer("/resumeQueueUrl/value"))
        .and_then(Value::as_str)
}

/// Whether the starter sends to `queue` (Service Bus's `…/{queue}/messages`).
fn sends_to(starter: &LogicApp, queue: &str) -> bool {
    queue_url(starter).is_some_and(|url| {
        url.trim_end_matches('/')
            .ends_with(&format!("/{queue}/messages"))
    })
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
