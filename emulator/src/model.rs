//! The emulated tenant: the seed file format and the in-memory state are the same types.
//!
//! A seed file is this structure as JSON (camelCase). `graph-emulator --print-seed` prints
//! the demo tenant in this format, which is the easiest way to start writing your own.
//!
//! ```json
//! {
//!   "workflows": [{
//!     "id": "…", "displayName": "Leaver: custom offboarding", "category": "leaver",
//!     "tasks": [{ "id": "…", "displayName": "Notify HR", "executionSequence": 1,
//!                 "taskDefinitionId": "4262b724-8dba-4fad-afc3-43fcbb497a0e",
//!                 "arguments": [{ "name": "customTaskExtensionID", "value": "…" }] }],
//!     "runs": [{ "id": "…", "startedDateTime": "2026-11-22T10:00:00Z" }],
//!     "userProcessingResults": [{
//!       "id": "…", "runId": "…", "subjectId": "…", "processingStatus": "inProgress",
//!       "startedDateTime": "…",
//!       "taskProcessingResults": [{ "id": "…", "taskId": "…", "processingStatus": "inProgress",
//!                                   "startedDateTime": "…" }] }] }],
//!   "customTaskExtensions": [{ "id": "…", "displayName": "…", "timeoutDuration": "PT1H" }],
//!   "assignmentRequests": [{
//!     "id": "…", "status": "WaitingForCallback", "state": "submitted", "requestType": "userAdd",
//!     "createdDateTime": "…", "accessPackageId": "…",
//!     "target": { "objectId": "…", "displayName": "Ada Lovelace" },
//!     "customExtensionCalloutInstances": [{ "id": "…", "customExtensionId": "…",
//!        "stage": "assignmentRequestCreated", "status": "waitingForCallback" }] }],
//!   "accessPackages": [{ "id": "…", "displayName": "Sales tools" }],
//!   "assignmentPolicies": [{ "id": "…", "accessPackageId": "…",
//!     "customExtensionStageSettings": [{ "id": "…", "stage": "assignmentRequestCreated",
//!                                        "customExtensionId": "…" }] }],
//!   "customWorkflowExtensions": [{ "id": "…", "displayName": "…", "timeoutDuration": "P1D",
//!                                  "catalogId": "…" }],
//!   "catalogs": [{ "id": "…", "displayName": "General" }],
//!   "entitlementRoleAssignments": [{ "principalId": "…",
//!     "roleDefinitionId": "e2182095-804a-4656-ae11-64734e9b7ae5",
//!     "appScopeId": "/AccessPackageCatalog/…" }],
//!   "settings": { "pageSize": 100, "rateLimit": 50, "faults": ["429:times=2,match=/resume"] }
//! }
//! ```
use serde::{Deserialize, Serialize};

/// The task definition of "Run a custom task extension": the only LCW tasks that wait for a callback.
pub const CUSTOM_TASK_DEFINITION_ID: &str = "4262b724-8dba-4fad-afc3-43fcbb497a0e";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Tenant {
    pub workflows: Vec<Workflow>,
    pub custom_task_extensions: Vec<CustomTaskExtension>,
    pub assignment_requests: Vec<AssignmentRequest>,
    pub access_packages: Vec<AccessPackage>,
    pub assignment_policies: Vec<AssignmentPolicy>,
    /// Access package custom workflow extensions (in Graph, each belongs to a catalog).
    pub custom_workflow_extensions: Vec<WorkflowExtension>,
    /// Access package catalogs: each custom workflow extension belongs to one.
    pub catalogs: Vec<Catalog>,
    /// Entitlement Management's own roles (`roleManagement/entitlementManagement`), such as
    /// a function app's *Access package assignment manager* role on a catalog.
    pub entitlement_role_assignments: Vec<EntitlementRoleAssignment>,
    /// The deployment in Azure, as Resource Manager shows it (for `doctor`).
    pub azure: Azure,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<crate::Settings>,
}

/// One resource group holding a deployment of the template, as Resource Manager shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Azure {
    pub tenant_id: String,
    pub subscription_id: String,
    pub resource_group: String,
    pub logic_apps: Vec<LogicApp>,
    pub namespaces: Vec<ServiceBusNamespace>,
    pub function_apps: Vec<FunctionApp>,
}

/// A Consumption Logic App: its state, tags, trigger access control and parameters, as
/// `Microsoft.Logic/workflows` writes them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LogicApp {
    pub name: String,
    /// Its system-assigned identity's object id.
    pub principal_id: String,
    pub state: String,
    pub tags: serde_json::Map<String, serde_json::Value>,
    /// `properties.accessControl`, as it is.
    pub access_control: serde_json::Value,
    /// `properties.parameters`, as it is.
    pub parameters: serde_json::Value,
    /// `properties.definition`, as it is.
    pub definition: serde_json::Value,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceBusNamespace {
    pub name: String,
    pub queues: Vec<ServiceBusQueue>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceBusQueue {
    pub name: String,
    pub max_delivery_count: u32,
    /// ISO 8601, `PT5M`.
    pub lock_duration: String,
    pub requires_duplicate_detection: bool,
    pub active_message_count: u64,
    pub dead_letter_message_count: u64,
    /// The role assignments at the queue's scope.
    pub role_assignments: Vec<RoleAssignment>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleAssignment {
    pub principal_id: String,
    /// The role definition's GUID (`69a216fc-…`: Azure Service Bus Data Sender).
    pub role: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FunctionApp {
    pub name: String,
    /// The system-assigned identity's object id.
    pub principal_id: String,
    /// Its service principal's client id (appId), which Graph gives for the object id.
    pub client_id: String,
    /// The Microsoft Graph application permissions it holds, by value
    /// (`LifecycleWorkflows.ReadWrite.All`).
    pub graph_app_roles: Vec<String>,
    /// Flex Consumption's `functionAppConfig.runtime.name`: `custom` for a custom handler.
    pub runtime: String,
    pub app_settings: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Workflow {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub category: String,
    pub version: u32,
    pub tasks: Vec<Task>,
    pub runs: Vec<Run>,
    pub user_processing_results: Vec<UserProcessingResult>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Task {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub category: String,
    pub task_definition_id: String,
    pub execution_sequence: u32,
    pub is_enabled: bool,
    pub continue_on_error: bool,
    pub arguments: Vec<TaskArgument>,
}

impl Task {
    pub fn is_custom_extension(&self) -> bool {
        self.task_definition_id == CUSTOM_TASK_DEFINITION_ID
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskArgument {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Run {
    pub id: String,
    pub started_date_time: Option<String>,
    pub completed_date_time: Option<String>,
    pub processing_status: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserProcessingResult {
    pub id: String,
    pub run_id: String,
    pub subject_id: String,
    pub processing_status: String,
    pub started_date_time: Option<String>,
    pub completed_date_time: Option<String>,
    pub task_processing_results: Vec<TaskProcessingResult>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TaskProcessingResult {
    pub id: String,
    pub task_id: String,
    pub processing_status: String,
    pub created_date_time: Option<String>,
    pub started_date_time: Option<String>,
    pub completed_date_time: Option<String>,
    pub failure_reason: Option<String>,
    /// Every resume Graph accepted for this result, in order (not part of Graph's shape).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resumes: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomTaskExtension {
    pub id: String,
    pub display_name: String,
    /// ISO 8601 duration, `PT5M` to `PT3H` in Graph.
    pub timeout_duration: String,
    /// The client ids of the applications allowed to resume this extension's tasks
    /// (`callbackConfiguration.authorizedApps`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub authorized_apps: Vec<String>,
    /// The Logic App it calls; `None` is a fixed one in no deployment of this tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logic_app: Option<LogicAppEndpoint>,
    /// `authenticationConfiguration`'s type; empty is `#microsoft.graph.azureAdPopTokenAuthentication`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub authentication_type: String,
}

/// `logicAppTriggerEndpointConfiguration`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct LogicAppEndpoint {
    pub subscription_id: String,
    pub resource_group_name: String,
    pub logic_app_workflow_name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignmentRequest {
    pub id: String,
    /// Graph's free-text status: `WaitingForCallback`, `Delivered`, `Denied`, …
    pub status: String,
    /// Graph's `state` enum: `submitted`, `pendingApproval`, `delivering`, `delivered`, `denied`, …
    pub state: String,
    pub request_type: String,
    pub created_date_time: Option<String>,
    /// When the request ended, delivered or failed; `None` while it is in progress.
    pub completed_date_time: Option<String>,
    pub access_package_id: String,
    /// The user the request is for: Graph shows it as the assignment's `target`.
    pub target: Subject,
    pub custom_extension_callout_instances: Vec<CalloutInstance>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resumes: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CalloutInstance {
    pub id: String,
    pub custom_extension_id: String,
    /// The stage this callout was made at (emulator bookkeeping; Graph does not show it).
    pub stage: String,
    /// `calloutSent`, `callbackReceived`, `calloutFailed`, `callbackTimedOut`, `waitingForCallback`.
    pub status: String,
    pub detail: Option<String>,
    pub external_correlation_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Subject {
    pub object_id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AccessPackage {
    pub id: String,
    pub display_name: String,
}

/// An access package assignment policy, with the custom extension it runs at each stage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignmentPolicy {
    pub id: String,
    pub display_name: String,
    pub access_package_id: String,
    pub custom_extension_stage_settings: Vec<StageSetting>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StageSetting {
    pub id: String,
    /// `assignmentRequestCreated`, `assignmentRequestApproved`, …
    pub stage: String,
    pub custom_extension_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkflowExtension {
    pub id: String,
    pub display_name: String,
    /// ISO 8601 duration, `PT5M` to `P14D` in Graph.
    pub timeout_duration: String,
    /// The Logic App it calls; `None` is a fixed one in no deployment of this tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logic_app: Option<LogicAppEndpoint>,
    /// `authenticationConfiguration`'s type; empty is `#microsoft.graph.azureAdPopTokenAuthentication`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub authentication_type: String,
    /// The catalog it belongs to.
    pub catalog_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Catalog {
    pub id: String,
    pub display_name: String,
}

/// A role of Entitlement Management's RBAC provider, held by `principal_id` over one catalog
/// (`appScopeId` `/AccessPackageCatalog/{id}`) or every catalog (`/`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct EntitlementRoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub role_definition_id: String,
    pub app_scope_id: String,
}
