//! The Graph resources this app reads, as serde types with only the fields it uses
//! (docs/graph.md shows the calls and links Microsoft's reference for each).
//!
//! Graph's data is trusted for nothing: every field is a [`Lenient`] (or a [`LenientList`]),
//! so a field that is missing, null or of another type is `None`, and one malformed item
//! costs that item its field, never the page or the report.
pub use super::enums::{CalloutStatus, ProcessingStatus, RequestState, Stage};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::ops::Deref;
use std::time::Duration;

/// One page of a collection: `{"value": [...], "@odata.nextLink": "…"}`.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
pub struct Page<T> {
    #[serde(default)]
    pub value: LenientList<T>,
    /// Graph's `@odata.nextLink`, or Resource Manager's `nextLink`.
    #[serde(rename = "@odata.nextLink", alias = "nextLink", default)]
    pub next_link: Lenient<String>,
}

/// A Lifecycle Workflows workflow.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Workflow {
    pub id: Lenient<String>,
    pub display_name: Lenient<String>,
}

/// The task definition of "Run a custom task extension": the only tasks that wait.
pub const CUSTOM_TASK_DEFINITION_ID: &str = "4262b724-8dba-4fad-afc3-43fcbb497a0e";

/// A workflow's task.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Task {
    pub id: Lenient<String>,
    pub display_name: Lenient<String>,
    pub task_definition_id: Lenient<String>,
    pub arguments: LenientList<Argument>,
}

impl Task {
    pub fn is_custom_extension(&self) -> bool {
        self.task_definition_id.as_deref() == Some(CUSTOM_TASK_DEFINITION_ID)
    }

    /// The custom task extension this task calls (its `customTaskExtensionID` argument).
    pub fn extension_id(&self) -> Option<&str> {
        self.arguments
            .iter()
            .find(|a| {
                a.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case("customTaskExtensionID"))
            })
            .and_then(|a| a.value.as_deref())
    }
}

/// A task argument: `{"name": "customTaskExtensionID", "value": "…"}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Argument {
    pub name: Lenient<String>,
    pub value: Lenient<String>,
}

/// A task processing result.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskProcessingResult {
    pub id: Lenient<String>,
    pub processing_status: Lenient<ProcessingStatus>,
    pub started_date_time: Lenient<String>,
    pub completed_date_time: Lenient<String>,
    /// Why a failed result failed, in Graph's words (for a custom task extension, often its
    /// callback timeout).
    pub failure_reason: Lenient<String>,
    pub subject: Lenient<Subject>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Subject {
    pub id: Lenient<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CallbackConfiguration {
    pub timeout_duration: Lenient<String>,
}

/// The longest callback timeout believed: Entitlement Management allows 14 days, Lifecycle
/// Workflows 3 hours; anything longer is malformed.
pub const MAX_CALLBACK_TIMEOUT: Duration = Duration::from_secs(366 * 86_400);

/// An ISO 8601 duration (`PT5M`, `P1DT2H`), parsed by speedate; the time-of-day form
/// speedate also reads (`01:00:00`), a negative or an absurd duration are `None`.
pub fn iso8601_duration(text: &str) -> Option<Duration> {
    if !text.starts_with('P') {
        return None;
    }
    let parsed = speedate::Duration::parse_str(text).ok()?;
    let seconds = u64::try_from(parsed.signed_total_seconds()).ok()?;
    Some(Duration::from_secs(seconds) + Duration::from_micros(parsed.microsecond.into()))
        .filter(|d| !d.is_zero() && *d <= MAX_CALLBACK_TIMEOUT)
}

/// An access package assignment request, with its callout instances and (when expanded) its
/// access package and its assignment's target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AssignmentRequest {
    pub id: Lenient<String>,
    pub state: Lenient<RequestState>,
    pub status: Lenient<String>,
    pub created_date_time: Lenient<String>,
    /// When the request ended, delivered or failed.
    pub completed_date_time: Lenient<String>,
    pub access_package: Lenient<Named>,
    pub assignment: Lenient<Assignment>,
    pub custom_extension_callout_instances: LenientList<CalloutInstance>,
}

impl AssignmentRequest {
    /// Who the request is for: its assignment's target, where Graph expanded it.
    pub fn target(&self) -> Option<&AccessPackageSubject> {
        self.assignment.as_ref()?.target.as_ref()
    }
}

/// An object Graph names: an access package, a user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Named {
    pub id: Lenient<String>,
    pub display_name: Lenient<String>,
}

/// A request's access package assignment, for its target.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Assignment {
    pub target: Lenient<AccessPackageSubject>,
}

/// `accessPackageSubject`: who the assignment is for.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AccessPackageSubject {
    pub object_id: Lenient<String>,
    pub display_name: Lenient<String>,
}

/// `customExtensionCalloutInstance`: which callout, of which extension, and whether its
/// callback came. Graph gives it no stage and no time.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CalloutInstance {
    pub id: Lenient<String>,
    pub custom_extension_id: Lenient<String>,
    pub status: Lenient<CalloutStatus>,
    /// What the extension's endpoint gave back, for a Logic App its run id.
    pub external_correlation_id: Lenient<String>,
    pub detail: Lenient<String>,
}

/// An access package assignment policy: which custom extension runs at which stage.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AssignmentPolicy {
    pub access_package: Lenient<Named>,
    /// Some answers carry the package as a plain id (Microsoft's own example does).
    pub access_package_id: Lenient<String>,
    pub custom_extension_stage_settings: LenientList<StageSetting>,
}

impl AssignmentPolicy {
    pub fn package_id(&self) -> Option<&str> {
        self.access_package
            .as_ref()
            .and_then(|p| p.id.as_deref())
            .or(self.access_package_id.as_deref())
    }
}

/// `customExtensionStageSetting`: a stage and the extension it calls.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StageSetting {
    pub stage: Lenient<Stage>,
    pub custom_extension: Lenient<CustomExtension>,
}

/// A custom extension (a task extension in Lifecycle Workflows, a workflow extension in
/// Entitlement Management), for its id and callback timeout.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CustomExtension {
    pub id: Lenient<String>,
    pub display_name: Lenient<String>,
    pub endpoint_configuration: Lenient<LogicAppEndpoint>,
    pub authentication_configuration: Lenient<Typed>,
    pub callback_configuration: Lenient<CallbackConfiguration>,
}

impl CustomExtension {
    /// `callbackConfiguration.timeoutDuration` (ISO 8601, such as `PT1H`), when it is a
    /// positive duration no longer than [`MAX_CALLBACK_TIMEOUT`].
    pub fn callback_timeout(&self) -> Option<Duration> {
        let text = self
            .callback_configuration
            .as_ref()?
            .timeout_duration
            .as_deref()?;
        iso8601_duration(text)
    }
}

/// A Lifecycle Workflows custom task extension: the Logic App it calls, how its callouts are
/// signed, and its callback settings (docs/graph.md, *Authorized apps*).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CustomTaskExtension {
    pub id: Lenient<String>,
    pub display_name: Lenient<String>,
    pub endpoint_configuration: Lenient<LogicAppEndpoint>,
    pub authentication_configuration: Lenient<Typed>,
    pub callback_configuration: Lenient<TaskCallbackConfiguration>,
}

/// `logicAppTriggerEndpointConfiguration`: which Logic App an extension calls.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct LogicAppEndpoint {
    pub subscription_id: Lenient<String>,
    pub resource_group_name: Lenient<String>,
    pub logic_app_workflow_name: Lenient<String>,
}

/// An object known only by its `@odata.type`, such as an authentication configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Typed {
    #[serde(rename = "@odata.type")]
    pub odata_type: Lenient<String>,
}

/// `customTaskExtensionCallbackConfiguration`: how long a task waits, and which apps may
/// resume it besides those with `LifecycleWorkflows.ReadWrite.All`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskCallbackConfiguration {
    pub timeout_duration: Lenient<String>,
    pub authorized_apps: AuthorizedApps,
}

/// An extension's `authorizedApps`, as far as Graph gave them. Graph names an app by the
/// entry itself, its `appId` or its `id` ([`AuthorizedApps::client_ids`]).
#[derive(Debug, Clone, PartialEq)]
pub enum AuthorizedApps {
    /// The whole list, exactly as Graph gave it, so that it can be written back unchanged.
    Listed(Vec<Value>),
    /// Graph gave something other than a list: what it was. Nothing may be written then,
    /// as a change replaces the whole list.
    Unread(&'static str),
}

impl Default for AuthorizedApps {
    /// The field is missing (Graph gives it only when expanded).
    fn default() -> Self {
        AuthorizedApps::Unread("no authorizedApps at all")
    }
}

impl<'de> Deserialize<'de> for AuthorizedApps {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Array(apps) => AuthorizedApps::Listed(apps),
            Value::Null => AuthorizedApps::Unread("authorizedApps: null"),
            _ => AuthorizedApps::Unread("an authorizedApps that is not a list"),
        })
    }
}

impl AuthorizedApps {
    /// The client ids the entries name, as far as each names one.
    pub fn client_ids(&self) -> Vec<&str> {
        match self {
            AuthorizedApps::Listed(apps) => apps
                .iter()
                .filter_map(|entry| {
                    entry
                        .as_str()
                        .or_else(|| entry.get("appId").and_then(Value::as_str))
                        .or_else(|| entry.get("id").and_then(Value::as_str))
                })
                .collect(),
            AuthorizedApps::Unread(_) => Vec::new(),
        }
    }
}

impl CustomTaskExtension {
    /// The callback timeout as Graph wrote it (`PT1H`); none when the extension does not wait.
    pub fn timeout(&self) -> Option<&str> {
        self.callback_configuration
            .as_ref()?
            .timeout_duration
            .as_deref()
    }

    /// The authorized apps; an extension without a callback configuration waits for nothing,
    /// so it has none.
    pub fn authorized_apps(&self) -> &AuthorizedApps {
        static NONE: AuthorizedApps = AuthorizedApps::Listed(Vec::new());
        match &*self.callback_configuration {
            Some(callback) => &callback.authorized_apps,
            None => &NONE,
        }
    }

    /// Whether `client_id` is among the authorized apps (client ids are GUIDs: case aside).
    pub fn is_authorized(&self, client_id: &str) -> bool {
        self.authorized_apps()
            .client_ids()
            .iter()
            .any(|id| id.eq_ignore_ascii_case(client_id))
    }
}

/// A field of Graph's, taken as it comes: missing, null or of another type is no value
/// (`None`), never an error, so that one malformed field costs only itself. It reads as the
/// `Option` it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lenient<T>(Option<T>);

impl<T> Lenient<T> {
    pub fn into_option(self) -> Option<T> {
        self.0
    }
}

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T> Deref for Lenient<T> {
    type Target = Option<T>;

    fn deref(&self) -> &Option<T> {
        &self.0
    }
}

impl<T: PartialEq> PartialEq<Option<T>> for Lenient<T> {
    fn eq(&self, other: &Option<T>) -> bool {
        self.0 == *other
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through a `Value`, so that a value of the wrong shape is read whole and dropped
        // rather than leaving the deserializer mid-way; serde has no "skip on error".
        Ok(Self(match Value::deserialize(deserializer)? {
            Value::Null => None,
            value => T::deserialize(value).ok(),
        }))
    }
}

/// A list of Graph's, taken as it comes: an item of the wrong shape is left out, and
/// anything but a list is an empty one. It reads as the `Vec` it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LenientList<T>(Vec<T>);

impl<T> LenientList<T> {
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T> Default for LenientList<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T> Deref for LenientList<T> {
    type Target = Vec<T>;

    fn deref(&self) -> &Vec<T> {
        &self.0
    }
}

impl<T> IntoIterator for LenientList<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a LenientList<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for LenientList<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(match Value::deserialize(deserializer)? {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|item| T::deserialize(item).ok())
                .collect(),
            _ => Vec::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn callback_timeouts_parse_from_iso_8601() {
        assert_eq!(iso8601_duration("PT1H"), Some(Duration::from_secs(3600)));
        assert_eq!(iso8601_duration("PT5M"), Some(Duration::from_secs(300)));
        assert_eq!(iso8601_duration("PT1H30M"), Some(Duration::from_secs(5400)));
        assert_eq!(
            iso8601_duration("P1DT2S"),
            Some(Duration::from_secs(86_402))
        );
        assert_eq!(
            iso8601_duration("P14D"),
            Some(Duration::from_secs(14 * 86_400))
        );
        for bad in [
            "", "P", "PT", "1H", "PT1X", "PT1H5", "01:00:00", "-PT1H", "PT0S",
        ] {
            assert_eq!(iso8601_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_absurd_callback_timeout_is_no_timeout_and_no_panic() {
        let nines = format!("P{}D", "9".repeat(400));
        for absurd in ["P9999999D", &nines, "PT1e309S", "P367D", "P99999Y"] {
            assert_eq!(iso8601_duration(absurd), None, "{absurd}");
        }
    }

    #[test]
    fn a_malformed_field_is_none_and_the_rest_of_the_item_stands() {
        let result: TaskProcessingResult = serde_json::from_value(json!({
            "id": "r-1", "processingStatus": 7, "startedDateTime": {"x": 1}, "subject": {"id": null}
        }))
        .unwrap();
        assert_eq!(result.id.as_deref(), Some("r-1"));
        assert!(result.processing_status.is_none() && result.started_date_time.is_none());
        // An object of the wrong shape is no object, and the item keeps its other fields.
        let result: TaskProcessingResult =
            serde_json::from_value(json!({"id": "r-2", "subject": "someone"})).unwrap();
        assert!(result.subject.is_none());
        assert_eq!(result.id, Some("r-2".to_string()));
        let request: AssignmentRequest = serde_json::from_value(json!({
            "id": "q", "state": ["denied"], "accessPackage": 5,
            "customExtensionCalloutInstances": [{"id": "c", "status": "calloutSent"}, "x", null]
        }))
        .unwrap();
        assert!(request.state.is_none() && request.access_package.is_none());
        assert_eq!(request.custom_extension_callout_instances.len(), 1);
        assert_eq!(
            request.custom_extension_callout_instances[0].status,
            Some(CalloutStatus::CalloutSent)
        );
        let task: Task = serde_json::from_value(json!({
            "id": "t", "taskDefinitionId": CUSTOM_TASK_DEFINITION_ID,
            "arguments": [5, {"name": "customTaskExtensionId", "value": "ext-1"}]
        }))
        .unwrap();
        assert!(task.is_custom_extension());
        assert_eq!(task.extension_id(), Some("ext-1"));
        let page: Page<Workflow> =
            serde_json::from_value(json!({"value": [{"id": "w"}], "@odata.nextLink": 3})).unwrap();
        assert_eq!(page.value.len(), 1);
        assert!(page.next_link.is_none());
    }
}
