//! Azure Resource Manager, for the parts of a deployment `doctor` reads (the tenant's
//! [`Azure`](crate::model::Azure)): the subscription, the resource group's Logic Apps,
//! Service Bus namespaces and queues, function apps and their app settings. Every request
//! needs an `api-version`, as Resource Manager's do, and a resource group other than the
//! deployment's is not found.
use crate::error::GraphError;
use crate::model::{LogicApp, ServiceBusQueue};
use crate::route::{Answer, Call, Outcome};
use serde_json::{json, Value};
use warp::http::Method;

/// `segments` start after `subscriptions`.
pub fn route(call: &Call) -> Outcome {
    if call.query.get("api-version").is_none() {
        return Err(GraphError::new(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    }
    let tenant = call.emulator.read();
    let azure = &tenant.azure;
    let segments: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    let [subscription, rest @ ..] = segments.as_slice() else {
        return Err(not_found("SubscriptionNotFound", "subscription"));
    };
    if !subscription.eq_ignore_ascii_case(&azure.subscription_id) {
        return Err(not_found("SubscriptionNotFound", subscription));
    }
    let group = format!(
        "/subscriptions/{}/resourceGroups/{}",
        azure.subscription_id, azure.resource_group
    );
    let get = call.method == Method::GET;
    match rest {
        [] if get => Ok(Answer::Json(json!({
            "id": format!("/subscriptions/{}", azure.subscription_id),
            "subscriptionId": azure.subscription_id,
            "tenantId": azure.tenant_id,
            "displayName": "Contoso production",
            "state": "Enabled",
        }))),
        ["resourceGroups", rg, "providers", tail @ ..] => {
            if !rg.eq_ignore_ascii_case(&azure.resource_group) {
                return Err(not_found("ResourceGroupNotFound", rg));
            }
            match (tail, get) {
                (["Microsoft.Logic", "workflows"], true) => Ok(list(
                    azure.logic_apps.iter().map(|l| logic_app(&group, l)).collect(),
                )),
                (["Microsoft.ServiceBus", "namespaces"], true) => Ok(list(
                    azure
                        .namespaces
                        .iter()
                        .map(|n| json!({
                            "id": format!("{group}/providers/Microsoft.ServiceBus/namespaces/{}", n.name),
                            "name": n.name,
                            "type": "Microsoft.ServiceBus/Namespaces",
                            "properties": {"serviceBusEndpoint": format!("https://{}.servicebus.windows.net:443/", n.name)},
                        }))
                        .collect(),
                )),
                (["Microsoft.ServiceBus", "namespaces", namespace, "queues"], true) => {
                    let namespace = azure
                        .namespaces
                        .iter()
                        .find(|n| n.name.eq_ignore_ascii_case(namespace))
                        .ok_or_else(|| not_found("ResourceNotFound", namespace))?;
                    let base = format!("{group}/providers/Microsoft.ServiceBus/namespaces/{}", namespace.name);
                    Ok(list(namespace.queues.iter().map(|q| queue(&base, q)).collect()))
                }
                (
                    ["Microsoft.ServiceBus", "namespaces", namespace, "queues", queue, "providers", "Microsoft.Authorization", "roleAssignments"],
                    true,
                ) => {
                    let found = azure
                        .namespaces
                        .iter()
                        .find(|n| n.name.eq_ignore_ascii_case(namespace))
                        .and_then(|n| n.queues.iter().find(|q| q.name.eq_ignore_ascii_case(queue)))
                        .ok_or_else(|| not_found("ResourceNotFound", queue))?;
                    let scope = format!("{group}/providers/Microsoft.ServiceBus/namespaces/{namespace}/queues/{}", found.name);
                    Ok(list(
                        found
                            .role_assignments
                            .iter()
                            .map(|a| json!({
                                "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{}-{}", a.principal_id, a.role),
                                "type": "Microsoft.Authorization/roleAssignments",
                                "properties": {
                                    "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}", azure.subscription_id, a.role),
                                    "principalId": a.principal_id,
                                    "principalType": "ServicePrincipal",
                                    "scope": scope,
                                },
                            }))
                            .collect(),
                    ))
                }
                (["Microsoft.Web", "sites"], true) => Ok(list(
                    azure
                        .function_apps
                        .iter()
                        .map(|f| json!({
                            "id": format!("{group}/providers/Microsoft.Web/sites/{}", f.name),
                            "name": f.name,
                            "type": "Microsoft.Web/sites",
                            "kind": "functionapp,linux",
                            "identity": match f.principal_id.as_str() {
                                "" => json!(null),
                                principal => json!({"type": "SystemAssigned", "principalId": principal, "tenantId": azure.tenant_id}),
                            },
                            "properties": {
                                "state": "Running",
                                "functionAppConfig": {"runtime": {"name": f.runtime, "version": "1.0"}},
                            },
                        }))
                        .collect(),
                )),
                (["Microsoft.Web", "sites", site, "config", "appsettings", "list"], false)
                    if call.method == Method::POST =>
                {
                    let app = azure
                        .function_apps
                        .iter()
                        .find(|f| f.name.eq_ignore_ascii_case(site))
                        .ok_or_else(|| not_found("ResourceNotFound", site))?;
                    Ok(Answer::Json(json!({
                        "id": format!("{group}/providers/Microsoft.Web/sites/{}/config/appsettings", app.name),
                        "name": "appsettings",
                        "properties": app.app_settings,
                    })))
                }
                _ => Err(not_found("ResourceNotFound", rest.last().unwrap_or(&""))),
            }
        }
        _ => Err(not_found("ResourceNotFound", rest.last().unwrap_or(&""))),
    }
}

fn list(items: Vec<Value>) -> Answer {
    Answer::Json(json!({ "value": items }))
}

fn not_found(code: &str, what: &str) -> GraphError {
    GraphError::new(404, code, format!("'{what}' could not be found."))
}

fn logic_app(group: &str, app: &LogicApp) -> Value {
    json!({
        "id": format!("{group}/providers/Microsoft.Logic/workflows/{}", app.name),
        "name": app.name,
        "type": "Microsoft.Logic/workflows",
        "location": "westeurope",
        "tags": app.tags,
        "identity": {"type": "SystemAssigned", "principalId": app.principal_id},
        "properties": {
            "state": app.state,
            "accessControl": app.access_control,
            "parameters": app.parameters,
            "definition": app.definition,
        },
    })
}

fn queue(base: &str, queue: &ServiceBusQueue) -> Value {
    json!({
        "id": format!("{base}/queues/{}", queue.name),
        "name": queue.name,
        "type": "Microsoft.ServiceBus/Namespaces/Queues",
        "properties": {
            "maxDeliveryCount": queue.max_delivery_count,
            "lockDuration": queue.lock_duration,
            "requiresDuplicateDetection": queue.requires_duplicate_detection,
            "deadLetteringOnMessageExpiration": true,
            "status": "Active",
            "messageCount": queue.active_message_count + queue.dead_letter_message_count,
            "countDetails": {
                "activeMessageCount": queue.active_message_count,
                "deadLetterMessageCount": queue.dead_letter_message_count,
                "scheduledMessageCount": 0,
                "transferMessageCount": 0,
                "transferDeadLetterMessageCount": 0,
            },
        },
    })
}
