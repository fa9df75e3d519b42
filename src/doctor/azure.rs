//! What `doctor` reads from Azure Resource Manager, read-only: the subscription's tenant,
//! and in the resource group the starters (Logic Apps tagged as this template tags them),
//! the Service Bus queues, and the function app with its app settings.
use crate::command::ResourceId;
use crate::graph::models::Lenient;
use crate::graph::{Call, GraphClient, GraphFailure, GraphPath};
use serde::Deserialize;
use serde_json::{Map, Value};

const LOGIC_API: &str = "2019-05-01";
const SERVICE_BUS_API: &str = "2024-01-01";
const WEB_API: &str = "2024-04-01";
const SUBSCRIPTIONS_API: &str = "2022-12-01";
const AUTHORIZATION_API: &str = "2022-04-01";

/// The tag the template puts on each starter (infra/modules/starter.bicep).
pub const STARTER_TAG: (&str, &str) = ("purpose", "resume-handler callout starter");

/// Where the deployment is.
#[derive(Debug, Clone)]
pub struct Target {
    pub subscription: ResourceId,
    pub resource_group: ResourceId,
}

/// What Resource Manager showed of the deployment.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    pub tenant_id: Option<String>,
    pub starters: Vec<LogicApp>,
    pub queues: Vec<Queue>,
    pub function_apps: Vec<FunctionApp>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LogicApp {
    pub id: Lenient<String>,
    pub name: Lenient<String>,
    pub identity: Lenient<Identity>,
    pub tags: Lenient<Map<String, Value>>,
    pub properties: Lenient<LogicAppProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LogicAppProperties {
    pub state: Lenient<String>,
    /// Kept as it is: its policies are walked by the checks.
    pub access_control: Lenient<Value>,
    pub parameters: Lenient<Value>,
    pub definition: Lenient<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Queue {
    pub id: Lenient<String>,
    pub name: Lenient<String>,
    pub properties: Lenient<QueueProperties>,
    /// The role assignments at or above the queue; `None` where they could not be read.
    #[serde(skip)]
    pub role_assignments: Option<Vec<RoleAssignment>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RoleAssignment {
    pub properties: Lenient<RoleAssignmentProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RoleAssignmentProperties {
    pub principal_id: Lenient<String>,
    /// `/subscriptions/…/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
    pub role_definition_id: Lenient<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct QueueProperties {
    pub max_delivery_count: Lenient<u32>,
    pub lock_duration: Lenient<String>,
    pub requires_duplicate_detection: Lenient<bool>,
    pub count_details: Lenient<CountDetails>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CountDetails {
    pub dead_letter_message_count: Lenient<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct FunctionApp {
    pub name: String,
    pub principal_id: Option<String>,
    /// Flex Consumption's runtime name (`custom`); `None` on other plans.
    pub runtime: Option<String>,
    /// The app settings; `None` where they could not be read.
    pub settings: Option<Map<String, Value>>,
}

impl FunctionApp {
    /// The app setting `name`, where the settings were read and it is a string.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.as_ref()?.get(name)?.as_str()
    }
}

impl Deployment {
    /// The function app the checks are about: the resource group's one.
    pub fn function_app(&self) -> Option<&FunctionApp> {
        match self.function_apps.as_slice() {
            [app] => Some(app),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Site {
    name: Lenient<String>,
    kind: Lenient<String>,
    identity: Lenient<Identity>,
    properties: Lenient<SiteProperties>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SiteProperties {
    /// `functionAppConfig.runtime.name`, as Flex Consumption has it.
    function_app_config: Lenient<Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Identity {
    pub principal_id: Lenient<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Subscription {
    tenant_id: Lenient<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Namespace {
    name: Lenient<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Settings {
    properties: Lenient<Map<String, Value>>,
}

/// Reads the deployment. The subscription must be readable (else the failure is the
/// answer: a sign-in, a wrong id); each other part that cannot be read is left empty, and
/// the checks that need it say so.
pub async fn read(
    arm: &GraphClient,
    call: &Call,
    target: &Target,
) -> Result<Deployment, GraphFailure> {
    let subscription = GraphPath::new()
        .words("subscriptions")
        .id(&target.subscription);
    let group = subscription
        .clone()
        .words("resourceGroups")
        .id(&target.resource_group)
        .words("providers");
    let tenant: Subscription = arm
        .get(call, versioned(arm, &subscription, SUBSCRIPTIONS_API))
        .await?
        .json()?;
    let logic_apps: Vec<LogicApp> = arm
        .list(
            call,
            versioned(
                arm,
                &group.clone().words("Microsoft.Logic/workflows"),
                LOGIC_API,
            ),
        )
        .await?;
    let starters = logic_apps
        .into_iter()
        .filter(|app| {
            app.tags
                .as_ref()
                .and_then(|tags| tags.get(STARTER_TAG.0))
                .and_then(Value::as_str)
                == Some(STARTER_TAG.1)
        })
        .collect();
    let namespaces: Vec<Namespace> = arm
        .list(
            call,
            versioned(
                arm,
                &group.clone().words("Microsoft.ServiceBus/namespaces"),
                SERVICE_BUS_API,
            ),
        )
        .await?;
    let mut queues = Vec::new();
    for namespace in namespaces {
        let Some(name) = namespace
            .name
            .as_deref()
            .and_then(|n| ResourceId::parse_str("namespace", n).ok())
        else {
            continue;
        };
        let path = group
            .clone()
            .words("Microsoft.ServiceBus/namespaces")
            .id(&name)
            .words("queues");
        let listed: Vec<Queue> = arm
            .list(call, versioned(arm, &path, SERVICE_BUS_API))
            .await?;
        for mut queue in listed {
            let queue_name = queue
                .name
                .as_deref()
                .and_then(|n| ResourceId::parse_str("queue", n).ok());
            if let Some(queue_name) = queue_name {
                let scope = path
                    .clone()
                    .id(&queue_name)
                    .words("providers/Microsoft.Authorization/roleAssignments");
                let mut url = versioned(arm, &scope, AUTHORIZATION_API);
                // At or above the queue: a namespace-wide role sends to it too.
                url.query_pairs_mut().append_pair("$filter", "atScope()");
                queue.role_assignments = arm.list(call, url).await.ok();
            }
            queues.push(queue);
        }
    }
    let sites: Vec<Site> = arm
        .list(
            call,
            versioned(arm, &group.clone().words("Microsoft.Web/sites"), WEB_API),
        )
        .await?;
    let mut function_apps = Vec::new();
    for site in sites {
        if !site
            .kind
            .as_deref()
            .is_some_and(|k| k.contains("functionapp"))
        {
            continue;
        }
        let Some(name) = site
            .name
            .as_deref()
            .and_then(|n| ResourceId::parse_str("site", n).ok())
        else {
            continue;
        };
        let path = group
            .clone()
            .words("Microsoft.Web/sites")
            .id(&name)
            .words("config/appsettings/list");
        let settings = match arm.post_to_read(call, versioned(arm, &path, WEB_API)).await {
            Ok(response) => response
                .json::<Settings>()
                .ok()
                .and_then(|s| s.properties.into_option()),
            Err(_) => None,
        };
        let runtime = site
            .properties
            .as_ref()
            .and_then(|p| p.function_app_config.as_ref())
            .and_then(|c| c.pointer("/runtime/name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        function_apps.push(FunctionApp {
            name: name.to_string(),
            runtime,
            principal_id: site
                .identity
                .into_option()
                .and_then(|i| i.principal_id.into_option()),
            settings,
        });
    }
    Ok(Deployment {
        tenant_id: tenant.tenant_id.into_option(),
        starters,
        queues,
        function_apps,
    })
}

fn versioned(arm: &GraphClient, path: &GraphPath, api_version: &str) -> url::Url {
    let mut url = arm.url(path);
    url.query_pairs_mut()
        .append_pair("api-version", api_version);
    url
}
