//! The ResumeAccessRequest command (README, *Commands*).
use super::{one_of, optional_string, CommandError, ResourceId};
use serde_json::{Map, Value};

const DETAIL_MAX_CHARS: usize = 1000;
const CONNECTION_TEST: &str = "CustomExtensionConnectionTest";

/// The Entitlement Management stages that can wait for a callback (Graph names them
/// `assignmentRequestCreated` and so on: [`Stage::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Created,
    Approved,
    Granted,
    Removed,
}

impl Stage {
    const ALL: [Stage; 4] = [
        Stage::Created,
        Stage::Approved,
        Stage::Granted,
        Stage::Removed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Created => "assignmentRequestCreated",
            Stage::Approved => "assignmentRequestApproved",
            Stage::Granted => "assignmentRequestGranted",
            Stage::Removed => "assignmentRequestRemoved",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }
}

/// Resume one access package assignment request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeAccessRequest {
    pub assignment_request_id: ResourceId,
    pub stage: Stage,
    pub custom_extension_stage_instance_id: ResourceId,
    pub detail: Option<String>,
    pub state: Option<String>,
    pub source: String,
}

/// What a ResumeAccessRequest body asks for: a resume, or the acknowledgement of Entra's
/// connection test (a forwarded callout whose stage is `CustomExtensionConnectionTest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessCommand {
    Resume(ResumeAccessRequest),
    ConnectionTest,
}

impl AccessCommand {
    pub fn parse(body: &Map<String, Value>, default_source: &str) -> Result<Self, CommandError> {
        let stage_text = one_of(body, "stage", "Stage")?;
        if stage_text.is_some_and(|s| s.eq_ignore_ascii_case(CONNECTION_TEST)) {
            return Ok(Self::ConnectionTest);
        }
        let from_path = match one_of(body, "callbackUriPath", "CallbackUriPath")? {
            Some(path) => Some(parse_callback_uri_path(path)?),
            None => None,
        };
        let named = one_of(
            body,
            "assignmentRequestId",
            "AccessPackageAssignmentRequestId",
        )?;
        let assignment_request_id = match (from_path, named) {
            (Some(from_path), None) => from_path,
            (from_path, named) => {
                let id = ResourceId::parse_str(
                    "assignmentRequestId",
                    named.ok_or_else(|| {
                        CommandError::invalid(
                            "assignmentRequestId",
                            "'assignmentRequestId' (or 'callbackUriPath') is required",
                        )
                    })?,
                )?;
                if from_path.as_ref().is_some_and(|p| *p != id) {
                    return Err(CommandError::invalid(
                        "callbackUriPath",
                        "'callbackUriPath' names another request than 'assignmentRequestId'",
                    ));
                }
                id
            }
        };
        let stage_text =
            stage_text.ok_or_else(|| CommandError::invalid("stage", "'stage' is required"))?;
        let stage = Stage::parse(stage_text).ok_or_else(|| {
            CommandError::invalid(
                "stage",
                format!("'stage' is '{stage_text}'; expected assignmentRequestCreated, assignmentRequestApproved, assignmentRequestGranted or assignmentRequestRemoved"),
            )
        })?;
        let instance = one_of(
            body,
            "customExtensionStageInstanceId",
            "CustomExtensionStageInstanceId",
        )?;
        let custom_extension_stage_instance_id = match instance {
            Some(text) => ResourceId::parse_str("customExtensionStageInstanceId", text)?,
            None => ResourceId::parse("customExtensionStageInstanceId", None)?,
        };
        let detail = optional_string(
            body,
            "customExtensionStageInstanceDetail",
            "customExtensionStageInstanceDetail",
        )?;
        if detail.is_some_and(|d| d.chars().count() > DETAIL_MAX_CHARS) {
            return Err(CommandError::invalid(
                "customExtensionStageInstanceDetail",
                format!("'customExtensionStageInstanceDetail' is longer than {DETAIL_MAX_CHARS} characters"),
            ));
        }
        Ok(Self::Resume(ResumeAccessRequest {
            assignment_request_id,
            stage,
            custom_extension_stage_instance_id,
            detail: detail.map(str::to_string),
            state: optional_string(body, "state", "state")?.map(str::to_string),
            source: optional_string(body, "source", "source")?
                .unwrap_or(default_source)
                .to_string(),
        }))
    }
}

/// `/identityGovernance/entitlementManagement/{assignmentRequests|accessPackageAssignmentRequests}/{id}/resume`.
fn parse_callback_uri_path(path: &str) -> Result<ResourceId, CommandError> {
    let segments: Vec<&str> = path.split('/').collect();
    match segments.as_slice() {
        ["", "identityGovernance", "entitlementManagement", "assignmentRequests" | "accessPackageAssignmentRequests", id, "resume"] => {
            ResourceId::parse_str("callbackUriPath", id)
        }
        _ => Err(CommandError::invalid(
            "callbackUriPath",
            "'callbackUriPath' must be /identityGovernance/entitlementManagement/assignmentRequests/{id}/resume",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<AccessCommand, CommandError> {
        AccessCommand::parse(value.as_object().unwrap(), "resume-handler")
    }

    fn resume(value: Value) -> ResumeAccessRequest {
        match parse(value).unwrap() {
            AccessCommand::Resume(r) => r,
            other => panic!("expected a resume, got {other:?}"),
        }
    }

    #[test]
    fn a_camel_case_command_parses_with_canonical_stage() {
        let r = resume(
            json!({"assignmentRequestId": "req1", "stage": "AssignmentRequestApproved",
            "customExtensionStageInstanceId": "inst1", "state": "denied", "customExtensionStageInstanceDetail": "SoD"}),
        );
        assert_eq!(r.assignment_request_id.as_str(), "req1");
        assert_eq!(r.stage, Stage::Approved);
        assert_eq!(r.state.as_deref(), Some("denied"));
        assert_eq!(r.source, "resume-handler");
    }

    #[test]
    fn a_forwarded_callout_uses_its_pascal_case_identifiers_and_ignores_its_state() {
        let r = resume(
            json!({"AccessPackageAssignmentRequestId": "req1", "Stage": "assignmentRequestCreated",
            "CustomExtensionStageInstanceId": "inst1", "State": "Submitted", "Status": "Accepted",
            "CallbackUriPath": "/identityGovernance/entitlementManagement/accessPackageAssignmentRequests/req1/resume"}),
        );
        assert_eq!(r.state, None);
        assert_eq!(r.custom_extension_stage_instance_id.as_str(), "inst1");
    }

    #[test]
    fn a_connection_test_needs_nothing_else() {
        assert_eq!(
            parse(json!({"Stage": "CustomExtensionConnectionTest"})).unwrap(),
            AccessCommand::ConnectionTest
        );
        assert_eq!(
            parse(json!({"stage": "customextensionconnectiontest"})).unwrap(),
            AccessCommand::ConnectionTest
        );
    }

    #[test]
    fn the_path_and_the_id_must_agree_and_the_path_must_be_a_resume() {
        let path = "/identityGovernance/entitlementManagement/assignmentRequests/req1/resume";
        let base =
            json!({"stage": "assignmentRequestCreated", "customExtensionStageInstanceId": "i"});
        let with = |extra: Value| {
            let mut v = base.clone();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse(v)
        };
        assert!(with(json!({"callbackUriPath": path})).is_ok());
        assert!(with(json!({"callbackUriPath": path, "assignmentRequestId": "req1"})).is_ok());
        assert_eq!(
            with(json!({"callbackUriPath": path, "assignmentRequestId": "req2"}))
                .unwrap_err()
                .target,
            "callbackUriPath"
        );
        assert_eq!(with(json!({"callbackUriPath": "/identityGovernance/entitlementManagement/assignmentRequests/req1"})).unwrap_err().target, "callbackUriPath");
        assert_eq!(with(json!({})).unwrap_err().target, "assignmentRequestId");
        assert_eq!(
            with(json!({"assignmentRequestId": "a", "AccessPackageAssignmentRequestId": "b"}))
                .unwrap_err()
                .target,
            "assignmentRequestId"
        );
    }

    #[test]
    fn each_field_rule_names_its_canonical_field() {
        let ok = json!({"assignmentRequestId": "r", "stage": "assignmentRequestGranted", "customExtensionStageInstanceId": "i"});
        let broken = |field: &str, value: Value| {
            let mut v = ok.clone();
            v[field] = value;
            parse(v).unwrap_err().target
        };
        assert_eq!(broken("stage", json!("assignmentRequestExpired")), "stage");
        assert_eq!(
            broken("customExtensionStageInstanceId", json!("a/b")),
            "customExtensionStageInstanceId"
        );
        assert_eq!(
            broken(
                "customExtensionStageInstanceDetail",
                json!("x".repeat(1001))
            ),
            "customExtensionStageInstanceDetail"
        );
        assert_eq!(broken("state", json!(3)), "state");
        assert_eq!(
            broken("CustomExtensionStageInstanceId", json!("j")),
            "customExtensionStageInstanceId"
        );
        assert!(parse({
            let mut v = ok.clone();
            v["customExtensionStageInstanceDetail"] = json!("é".repeat(1000));
            v
        })
        .is_ok());
    }
}
