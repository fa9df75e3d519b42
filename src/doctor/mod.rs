//! `resume-handler doctor`: read-only checks of a deployment and of Graph, for what stands
//! between Entra's callout and a resumed task (README, *Doctor*). It reads Resource Manager
//! ([`azure`]) and Graph, then decides with no I/O ([`checks`]); it never changes anything.
//!
//! Each check passes, fails (with the command or portal path that fixes it), or cannot tell
//! (and says why).
pub mod azure;
mod catalogs;
mod checks;

pub use azure::Target;

use crate::app::App;
use crate::auth::TokenSource;
use crate::command::{Failure, ResourceId};
use crate::graph::models::{CustomExtension, CustomTaskExtension, Lenient, LenientList};
use crate::graph::{reads, Call, GraphClient, GraphFailure, GraphPath};
use crate::report;
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: String,
    pub status: Status,
    pub message: String,
    pub fix: Option<String>,
}

/// Every check, and how many passed, failed or could not tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checklist {
    pub checks: Vec<Check>,
    pub passed: usize,
    pub failed: usize,
    pub unknown: usize,
}

impl Checklist {
    fn of(checks: Vec<Check>) -> Self {
        let count = |status| checks.iter().filter(|c| c.status == status).count();
        Self {
            passed: count(Status::Pass),
            failed: count(Status::Fail),
            unknown: count(Status::Unknown),
            checks,
        }
    }

    /// Every check holds.
    pub fn holds(&self) -> bool {
        self.failed == 0 && self.unknown == 0
    }
}

/// Reads the deployment at `target` and Graph, and checks them. A failure to read the
/// subscription (a sign-in, a wrong id, no access) is the answer instead of a checklist.
pub async fn run(app: &App, target: &Target) -> Result<Checklist, Failure> {
    let settings = &app.settings;
    let tokens = TokenSource::for_resource_manager(settings).map_err(GraphFailure::from_auth)?;
    let arm = GraphClient::for_root(settings, settings.resource_manager.clone(), tokens).map_err(
        |_| Failure::GraphError {
            status: None,
            code: "clientUnavailable".into(),
            reason: Some("the HTTP client for Resource Manager could not be built".into()),
            request_id: None,
        },
    )?;
    let call = Call::new(
        uuid::Uuid::new_v4().to_string(),
        settings.graph.retry_budget,
    );
    let deployment = azure::read(&arm, &call, target).await?;
    let graph = app.graph().await?;
    let (extensions, access_extensions, extension_use) = tokio::join!(
        extensions(app, graph, &call),
        access_extensions(graph, &call),
        report::extension_use(app, &call),
    );
    let extensions = extensions.map_err(|failure| Failure::from(failure).problem().message);
    let (access_extensions, access_packages) = match access_extensions {
        Ok(AccessExtensions {
            extensions,
            packages,
        }) => (Ok(extensions), packages),
        Err(failure) => (
            Err(Failure::from(failure).problem().message),
            BTreeMap::new(),
        ),
    };
    let principal = deployment
        .function_apps
        .first()
        .and_then(|f| f.principal_id.as_deref())
        .and_then(|p| ResourceId::parse_str("principalId", p).ok());
    let (client_id, graph_roles) = match &principal {
        Some(principal) => (
            app_client_id(graph, &call, principal).await,
            graph_roles(graph, &call, principal).await,
        ),
        None => (None, None),
    };
    // The least-privilege route for access requests is read only where it matters.
    let needs_catalog_roles = graph_roles
        .as_ref()
        .is_none_or(|roles| !roles.contains(checks::EM_WRITE));
    let catalog_access = match (&principal, needs_catalog_roles) {
        (_, false) => Err(format!("not read: the app holds {}", checks::EM_WRITE)),
        (None, true) => Err("the function app has no identity".to_string()),
        (Some(principal), true) => {
            catalogs::read(graph, &call, principal, settings.graph.max_concurrency)
                .await
                .map_err(|failure| Failure::from(failure).problem().message)
        }
    };
    let host = settings
        .graph
        .cloud
        .resource_manager()
        .trim_start_matches("https://")
        .to_string();
    let context = checks::Context {
        target,
        resource_manager_host: &host,
        extensions: extensions.as_deref().map_err(String::as_str),
        access_extensions: access_extensions.as_deref().map_err(String::as_str),
        app_client_id: client_id.as_deref(),
        graph_roles: graph_roles.as_ref(),
        catalog_access: catalog_access.as_ref().map_err(String::as_str),
        app_principal_id: principal.as_ref().map(ResourceId::as_str),
        graph_root: settings.graph.cloud.graph_root(),
        extension_use: &extension_use,
        access_packages: &access_packages,
    };
    Ok(Checklist::of(checks::all(&deployment, &context)))
}

/// Every custom task extension, each read again for its authorized apps (Graph's list does
/// not expand them).
async fn extensions(
    app: &App,
    graph: &GraphClient,
    call: &Call,
) -> Result<Vec<CustomTaskExtension>, GraphFailure> {
    let ids: Vec<ResourceId> = reads::task_extensions(graph, call)
        .await?
        .iter()
        .filter_map(|e| ResourceId::parse_str("id", e.id.as_deref()?).ok())
        .collect();
    stream::iter(ids)
        .map(|id| async move { reads::task_extension(graph, call, &id).await })
        .buffered(app.settings.graph.max_concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Entitlement Management's custom extensions that some assignment policy runs, each once,
/// and the access packages whose policies run each.
struct AccessExtensions {
    extensions: Vec<CustomExtension>,
    /// The names (or ids) of the access packages, by extension id.
    packages: BTreeMap<String, BTreeSet<String>>,
}

/// The policies as the report reads them.
async fn access_extensions(
    graph: &GraphClient,
    call: &Call,
) -> Result<AccessExtensions, GraphFailure> {
    let policies = reads::assignment_policies(graph, call).await?;
    let mut found = AccessExtensions {
        extensions: Vec::new(),
        packages: BTreeMap::new(),
    };
    for policy in policies {
        let package = policy
            .access_package
            .as_ref()
            .and_then(|p| p.display_name.as_deref())
            .or(policy.package_id())
            .map(str::to_string);
        for setting in policy.custom_extension_stage_settings.into_vec() {
            let Some(extension) = setting.custom_extension.into_option() else {
                continue;
            };
            let Some(id) = extension.id.as_deref().map(str::to_string) else {
                continue;
            };
            let packages = found.packages.entry(id).or_default();
            if packages.is_empty() {
                found.extensions.push(extension);
            }
            packages.extend(package.clone());
        }
    }
    Ok(found)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePrincipal {
    app_id: Option<String>,
}

/// Microsoft Graph's service principal, by its appId, in every tenant.
const GRAPH_SERVICE_PRINCIPAL: &str =
    "servicePrincipals(appId='00000003-0000-0000-c000-000000000000')";

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct AppRoles {
    app_roles: LenientList<AppRole>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct AppRole {
    id: Lenient<String>,
    value: Lenient<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct AppRoleAssignment {
    app_role_id: Lenient<String>,
}

/// The Microsoft Graph application permissions the identity `principal` holds, by value
/// (`LifecycleWorkflows.ReadWrite.All`): Graph's own roles looked up by value, as the
/// template grants them; `None` if either could not be read.
async fn graph_roles(
    graph: &GraphClient,
    call: &Call,
    principal: &ResourceId,
) -> Option<BTreeSet<String>> {
    let mut url = graph.url(&GraphPath::new().words(GRAPH_SERVICE_PRINCIPAL));
    url.set_query(Some("$select=id,appRoles"));
    let roles: AppRoles = graph.get(call, url).await.ok()?.json().ok()?;
    let assignments: Vec<AppRoleAssignment> = graph
        .list(
            call,
            graph.url(
                &GraphPath::new()
                    .words("servicePrincipals")
                    .id(principal)
                    .words("appRoleAssignments"),
            ),
        )
        .await
        .ok()?;
    Some(
        assignments
            .iter()
            .filter_map(|a| {
                let id = a.app_role_id.as_deref()?;
                roles
                    .app_roles
                    .iter()
                    .find(|r| r.id.as_deref() == Some(id))
                    .and_then(|r| r.value.as_ref().cloned())
            })
            .collect(),
    )
}

/// The client id (appId) of the service principal with object id `principal`.
async fn app_client_id(graph: &GraphClient, call: &Call, principal: &ResourceId) -> Option<String> {
    let mut url = graph.url(&GraphPath::new().words("servicePrincipals").id(principal));
    url.set_query(Some("$select=appId"));
    let answer: ServicePrincipal = graph.get(call, url).await.ok()?.json().ok()?;
    answer.app_id
}
