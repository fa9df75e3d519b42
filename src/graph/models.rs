//! The Graph resources this app reads, as serde types with only the fields it uses
//! (docs/graph.md shows the calls and links Microsoft's reference for each).
//!
//! Graph's data is trusted for nothing: every string field is lenient, so a field that is
//! missing, null or of another type is `None`, and one malformed item costs that item its
//! field, never the page or the report.
use super::enums::lenient_enum;
pub use super::enums::{CalloutStatus, ProcessingStatus, RequestState, Stage};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::time::Duration;

/// One page of a collection: `{"value": [...], "@odata.nextLink": "…"}`.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: serde::de::DeserializeOwned")]
pub struct Page<T> {
    #[serde(default = "Vec::new", deserialize_with = "lenient_list")]
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default, deserialize_with = "lenient")]
    pub next_link: Option<String>,
}

/// A Lifecycle Workflows workflow.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub display_name: Option<String>,
}

/// The task definition of "Run a custom task extension": the only tasks that wait.
pub const CUSTOM_TASK_DEFINITION_ID: &str = "4262b724-8dba-4fad-afc3-43fcbb497a0e";

/// A workflow's task.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub task_definition_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub arguments: Vec<Argument>,
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
#[derive(Debug, Clone, Deserialize)]
pub struct Argument {
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub value: Option<String>,
}

/// A task processing result.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskProcessingResult {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_enum")]
    pub processing_status: Option<ProcessingStatus>,
    #[serde(default, deserialize_with = "lenient")]
    pub started_date_time: Option<String>,
    #[serde(default)]
    pub subject: Option<Subject>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Subject {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallbackConfiguration {
    #[serde(default, deserialize_with = "lenient")]
    pub timeout_duration: Option<String>,
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
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentRequest {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_enum")]
    pub state: Option<RequestState>,
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub created_date_time: Option<String>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub access_package: Option<Named>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub assignment: Option<Assignment>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub custom_extension_callout_instances: Vec<CalloutInstance>,
}

/// An object Graph names: an access package, a user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Named {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub display_name: Option<String>,
}

/// A request's access package assignment, for its target.
#[derive(Debug, Clone, Deserialize)]
pub struct Assignment {
    #[serde(default, deserialize_with = "lenient_object")]
    pub target: Option<AccessPackageSubject>,
}

/// `accessPackageSubject`: who the assignment is for.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessPackageSubject {
    #[serde(default, deserialize_with = "lenient")]
    pub object_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub display_name: Option<String>,
}

/// `customExtensionCalloutInstance`: which callout, of which extension, and whether its
/// callback came. Graph gives it no stage and no time.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalloutInstance {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub custom_extension_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_enum")]
    pub status: Option<CalloutStatus>,
}

/// An access package assignment policy: which custom extension runs at which stage.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentPolicy {
    #[serde(default, deserialize_with = "lenient_object")]
    pub access_package: Option<Named>,
    /// Some answers carry the package as a plain id (Microsoft's own example does).
    #[serde(default, deserialize_with = "lenient")]
    pub access_package_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_list")]
    pub custom_extension_stage_settings: Vec<StageSetting>,
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
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageSetting {
    #[serde(default, deserialize_with = "lenient_enum")]
    pub stage: Option<Stage>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub custom_extension: Option<CustomExtension>,
}

/// A custom extension (a task extension in Lifecycle Workflows, a workflow extension in
/// Entitlement Management), for its id and callback timeout.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomExtension {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient_object")]
    pub callback_configuration: Option<CallbackConfiguration>,
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

/// An object field, or `None` when it is missing, null or of another shape.
fn lenient_object<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(deserializer)? {
        value @ Value::Object(_) => serde_json::from_value(value).ok(),
        _ => None,
    })
}

/// A string field, or `None` when it is missing, null or not a string.
fn lenient<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => Some(text),
        _ => None,
    })
}

/// A list of objects; an item of the wrong shape is left out, anything but a list is empty.
fn lenient_list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => items
            .into_iter()
            .filter_map(|item| serde_json::from_value(item).ok())
            .collect(),
        _ => Vec::new(),
    })
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
