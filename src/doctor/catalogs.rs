//! Entitlement Management's own roles: where the app's identity may resume access requests
//! without `EntitlementManagement.ReadWrite.All`, as *Access package assignment manager* (or
//! a higher role) of a catalog, and which catalog each custom extension belongs to
//! (docs/graph.md, *Catalog roles*).
use crate::command::ResourceId;
use crate::graph::models::Lenient;
use crate::graph::{Call, GraphClient, GraphFailure, GraphPath};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The least privileged role that may resume a catalog's access requests.
pub const ASSIGNMENT_MANAGER: &str = "e2182095-804a-4656-ae11-64734e9b7ae5";

/// Entitlement Management's built-in roles that may resume a catalog's access requests, by
/// role definition id: Access package assignment manager, Access package manager and
/// Catalog owner.
const RESUMING_ROLES: [&str; 3] = [
    ASSIGNMENT_MANAGER,
    "7f480852-ebdc-47d4-87de-0d8498384a83",
    "ae79f266-94d4-4dab-b730-feca7e132178",
];

/// A catalog-scoped assignment's `appScopeId` starts with this, then the catalog id.
const CATALOG_SCOPE: &str = "/AccessPackageCatalog/";

/// Where the app may resume access requests through a catalog role, and the catalog of each
/// custom extension.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogAccess {
    /// It holds a resuming role over every catalog (scope `/`).
    pub every_catalog: bool,
    /// The catalogs, by id, where it holds one.
    pub catalogs: BTreeSet<String>,
    /// Each custom extension's catalog, by the extension's id.
    pub extension_catalogs: BTreeMap<String, Catalog>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Catalog {
    pub id: Lenient<String>,
    pub display_name: Lenient<String>,
}

impl CatalogAccess {
    /// Whether the app may resume the access requests of `extension`'s catalog; `None` when
    /// the extension is in no catalog Graph listed.
    pub fn covers(&self, extension: &str) -> Option<bool> {
        if self.every_catalog {
            return Some(true);
        }
        let catalog = self.extension_catalogs.get(extension)?;
        Some(
            catalog
                .id
                .as_deref()
                .is_some_and(|id| self.catalogs.contains(id)),
        )
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RoleAssignment {
    role_definition_id: Lenient<String>,
    app_scope_id: Lenient<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Extension {
    id: Lenient<String>,
}

const ROLE_ASSIGNMENTS: &str = "roleManagement/entitlementManagement/roleAssignments";
const CATALOGS: &str = "identityGovernance/entitlementManagement/catalogs";

/// Reads the roles `principal` holds in Entitlement Management, and every catalog's custom
/// extensions (one listing per catalog, `concurrency` at a time).
pub async fn read(
    graph: &GraphClient,
    call: &Call,
    principal: &ResourceId,
    concurrency: usize,
) -> Result<CatalogAccess, GraphFailure> {
    let mut url = graph.url(&GraphPath::new().words(ROLE_ASSIGNMENTS));
    url.query_pairs_mut().append_pair(
        "$filter",
        &format!("principalId eq '{}'", principal.as_str()),
    );
    let assignments: Vec<RoleAssignment> = graph.list(call, url).await?;
    let mut access = CatalogAccess::default();
    let resuming = assignments.iter().filter(|a| {
        a.role_definition_id
            .as_deref()
            .is_some_and(|role| RESUMING_ROLES.contains(&role))
    });
    for assignment in resuming {
        match assignment.app_scope_id.as_deref() {
            Some("/") => access.every_catalog = true,
            Some(scope) => access
                .catalogs
                .extend(scope.strip_prefix(CATALOG_SCOPE).map(str::to_string)),
            None => {}
        }
    }
    let mut url = graph.url(&GraphPath::new().words(CATALOGS));
    url.query_pairs_mut()
        .append_pair("$select", "id,displayName");
    let catalogs: Vec<Catalog> = graph.list(call, url).await?;
    // A catalog whose id could not go in a path is left out; its extensions stay unplaced,
    // and their checks say so.
    let catalogs = catalogs.into_iter().filter_map(|catalog| {
        let id = ResourceId::parse_str("id", catalog.id.as_deref()?).ok()?;
        Some((id, catalog))
    });
    let listed: Vec<(Catalog, Vec<Extension>)> = stream::iter(catalogs)
        .map(|(id, catalog)| async move {
            let mut url = graph.url(
                &GraphPath::new()
                    .words(CATALOGS)
                    .id(&id)
                    .words("customWorkflowExtensions"),
            );
            url.query_pairs_mut().append_pair("$select", "id");
            let extensions: Vec<Extension> = graph.list(call, url).await?;
            Ok::<_, GraphFailure>((catalog, extensions))
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    for (catalog, extensions) in listed {
        for extension in extensions {
            if let Some(id) = extension.id.into_option() {
                access.extension_catalogs.insert(id, catalog.clone());
            }
        }
    }
    Ok(access)
}
