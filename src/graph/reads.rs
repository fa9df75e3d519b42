//! The Graph reads that more than one part of the app makes, written once: custom task
//! extensions with their authorized apps (the `extension` commands and `doctor`), and the
//! assignment policies with the custom extension at each stage (the report and `doctor`).
use super::models::{AssignmentPolicy, CustomTaskExtension};
use super::{Call, GraphClient, GraphFailure, GraphPath};
use crate::command::ResourceId;

/// Lifecycle Workflows' custom task extensions.
pub const TASK_EXTENSIONS: &str = "identityGovernance/lifecycleWorkflows/customTaskExtensions";

/// `authorizedApps` is a navigation property of the derived callback type: Graph returns it
/// only when expanded, through that type.
const EXPAND_AUTHORIZED_APPS: &str =
    "callbackConfiguration/microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration/authorizedApps";

const ASSIGNMENT_POLICIES: &str = "identityGovernance/entitlementManagement/assignmentPolicies";

/// Every custom task extension, as Graph lists them: without their authorized apps, which
/// the list does not expand.
pub async fn task_extensions(
    graph: &GraphClient,
    call: &Call,
) -> Result<Vec<CustomTaskExtension>, GraphFailure> {
    graph
        .list(call, graph.url(&GraphPath::new().words(TASK_EXTENSIONS)))
        .await
}

/// One custom task extension, with its authorized apps.
pub async fn task_extension(
    graph: &GraphClient,
    call: &Call,
    id: &ResourceId,
) -> Result<CustomTaskExtension, GraphFailure> {
    let mut url = graph.url(&GraphPath::new().words(TASK_EXTENSIONS).id(id));
    url.query_pairs_mut()
        .append_pair("$expand", EXPAND_AUTHORIZED_APPS);
    graph.get(call, url).await?.json()
}

/// Every assignment policy, with its access package and the custom extension it runs at
/// each stage: one listing for the tenant, however many access packages there are.
pub async fn assignment_policies(
    graph: &GraphClient,
    call: &Call,
) -> Result<Vec<AssignmentPolicy>, GraphFailure> {
    let mut url = graph.url(&GraphPath::new().words(ASSIGNMENT_POLICIES));
    url.query_pairs_mut().append_pair(
        "$expand",
        "accessPackage($select=id,displayName),customExtensionStageSettings($expand=customExtension)",
    );
    graph.list(call, url).await
}
