//! Resuming an Entitlement Management access package assignment request waiting at a custom
//! extension stage (ResumeAccessRequest, ResumeAccessRequestQueue, `resume access-request`):
//! the command (README, *Commands*), its Graph request, and how a read-back is judged.
use super::outcome::{Failure, Outcome};
use super::read_back::{resume_or_explain, ReadBack};
use super::{one_of, optional_string, Command, CommandError, ResourceId};
use crate::app::App;
use crate::graph::models::{AssignmentRequest, CalloutStatus, RequestState, Stage};
use crate::graph::{Call, GraphPath};
use serde_json::{json, Map, Value};

const DETAIL_MAX_CHARS: usize = 1000;
const CONNECTION_TEST: &str = "CustomExtensionConnectionTest";

/// Resume one access package assignment request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeAccessRequest {
    pub assignment_request_id: ResourceId,
    pub stage: Stage,
    pub custom_extension_stage_instance_id: ResourceId,
    pub detail: Option<String>,
    /// The request's new state as given, for example `denied`, passed to Graph as it is;
    /// `None` lets the request continue.
    pub state: Option<String>,
    pub source: String,
}

/// What an access request's callback says, as given, before it is checked.
#[derive(Debug, Clone, Copy)]
pub struct Callback<'a> {
    pub custom_extension_stage_instance_id: Option<&'a str>,
    pub custom_extension_stage_instance_detail: Option<&'a str>,
    /// Passed to Graph as given, for example `denied`.
    pub state: Option<&'a str>,
    pub source: &'a str,
}

impl ResumeAccessRequest {
    /// What a ResumeAccessRequest body asks for: a resume, or the acknowledgement of Entra's
    /// connection test (a forwarded callout whose stage is `CustomExtensionConnectionTest`).
    pub(super) fn parse(
        body: &Map<String, Value>,
        default_source: &str,
    ) -> Result<Command, CommandError> {
        let stage_text = one_of(body, "stage", "Stage")?;
        if stage_text.is_some_and(|s| s.eq_ignore_ascii_case(CONNECTION_TEST)) {
            return Ok(Command::ConnectionTest);
        }
        let assignment_request_id = requested_id(
            one_of(
                body,
                "assignmentRequestId",
                "AccessPackageAssignmentRequestId",
            )?,
            one_of(body, "callbackUriPath", "CallbackUriPath")?,
        )?;
        let stage = resumable_stage(
            stage_text.ok_or_else(|| CommandError::invalid("stage", "is required"))?,
        )?;
        let callback = Callback {
            custom_extension_stage_instance_id: one_of(
                body,
                "customExtensionStageInstanceId",
                "CustomExtensionStageInstanceId",
            )?,
            custom_extension_stage_instance_detail: optional_string(
                body,
                "customExtensionStageInstanceDetail",
                "customExtensionStageInstanceDetail",
            )?,
            state: optional_string(body, "state", "state")?,
            source: optional_string(body, "source", "source")?.unwrap_or(default_source),
        };
        Self::new(assignment_request_id, stage, callback).map(Command::AccessRequest)
    }

    /// The resume of request `assignment_request_id`, waiting at `stage`, with `callback`.
    pub fn new(
        assignment_request_id: ResourceId,
        stage: Stage,
        callback: Callback<'_>,
    ) -> Result<Self, CommandError> {
        const INSTANCE: &str = "customExtensionStageInstanceId";
        let instance = callback
            .custom_extension_stage_instance_id
            .ok_or_else(|| CommandError::invalid(INSTANCE, "is required"))?;
        let detail = callback.custom_extension_stage_instance_detail;
        if detail.is_some_and(|d| d.chars().count() > DETAIL_MAX_CHARS) {
            return Err(CommandError::invalid(
                "customExtensionStageInstanceDetail",
                format!("is longer than {DETAIL_MAX_CHARS} characters"),
            ));
        }
        Ok(Self {
            assignment_request_id,
            stage,
            custom_extension_stage_instance_id: ResourceId::parse_str(INSTANCE, instance)?,
            detail: detail.map(str::to_string),
            state: callback.state.map(str::to_string),
            source: callback.source.to_string(),
        })
    }
}

/// The request an access request command names: by its id, by the callback path (which
/// holds it), or by both when they agree.
pub fn requested_id(
    assignment_request_id: Option<&str>,
    callback_uri_path: Option<&str>,
) -> Result<ResourceId, CommandError> {
    const FIELD: &str = "assignmentRequestId";
    let from_path = callback_uri_path.map(parse_callback_uri_path).transpose()?;
    let named = assignment_request_id
        .map(|text| ResourceId::parse_str(FIELD, text))
        .transpose()?;
    match (named, from_path) {
        (Some(named), Some(from_path)) if named != from_path => Err(CommandError::invalid(
            "callbackUriPath",
            "names another request than 'assignmentRequestId'",
        )),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err(CommandError::invalid(
            FIELD,
            "(or 'callbackUriPath') is required",
        )),
    }
}

/// A stage a callback can be given at, by name, ignoring case.
pub fn resumable_stage(text: &str) -> Result<Stage, CommandError> {
    Some(Stage::parse(text))
        .filter(|stage| Stage::RESUMABLE.contains(stage))
        .ok_or_else(|| {
            let names: Vec<&str> = Stage::RESUMABLE.iter().map(Stage::as_str).collect();
            let (last, rest) = names.split_last().expect("four stages");
            CommandError::invalid(
                "stage",
                format!("is '{text}'; expected {} or {last}", rest.join(", ")),
            )
        })
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
            "must be /identityGovernance/entitlementManagement/assignmentRequests/{id}/resume",
        )),
    }
}

const CALLBACK_DATA_TYPE: &str = "microsoft.graph.accessPackageAssignmentRequestCallbackData";

impl ResumeAccessRequest {
    /// The ids and the stage, as the summary line names them.
    pub(super) fn fields(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("assignmentRequestId", self.assignment_request_id.as_str()),
            ("stage", self.stage.as_str()),
            (
                "customExtensionStageInstanceId",
                self.custom_extension_stage_instance_id.as_str(),
            ),
        ]
    }

    pub(super) async fn run(&self, app: &App, call: &Call) -> Result<Outcome, Failure> {
        let request = GraphPath::new()
            .words("identityGovernance/entitlementManagement/assignmentRequests")
            .id(&self.assignment_request_id);
        let mut data = json!({
            "@odata.type": CALLBACK_DATA_TYPE,
            "stage": self.stage.as_str(),
            "customExtensionStageInstanceId": self.custom_extension_stage_instance_id.as_str(),
        });
        if let Some(detail) = &self.detail {
            data["customExtensionStageInstanceDetail"] = json!(detail);
        }
        if let Some(state) = &self.state {
            data["state"] = json!(state);
        }
        let body = json!({
            "source": self.source,
            "type": format!("microsoft.graph.accessPackageCustomExtensionStage.{}", self.stage.as_str()),
            "data": data,
        });
        let graph = app.graph().await?;
        let instance_id = self.custom_extension_stage_instance_id.as_str();
        let asked = Decision::asked(self.state.as_deref());
        resume_or_explain(graph, call, &request, &body, |read| {
            judge(read, instance_id, asked)
        })
        .await
    }
}

/// What a callback decides: the request goes on, or (`state: denied`) it is denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Continue,
    Deny,
}

impl Decision {
    /// What a command's `state` asks for.
    fn asked(state: Option<&str>) -> Self {
        Self::of(state.map(RequestState::parse).as_ref())
    }

    /// What a request's state shows was decided.
    fn of(state: Option<&RequestState>) -> Self {
        match state {
            Some(RequestState::Denied) => Decision::Deny,
            _ => Decision::Continue,
        }
    }
}

/// The request's callout instance tells whether a callback was already received, is still
/// awaited, or can no longer be given (then its status, or the request's when the instance
/// is gone). A received callback is this one again (a duplicate) only if the request shows
/// the same decision: a deny after a continue, or a continue after a deny, is a conflict
/// that names the request's state, as a task completed and then failed is.
fn judge(request: AssignmentRequest, instance_id: &str, asked: Decision) -> ReadBack {
    let instance_status = request
        .custom_extension_callout_instances
        .iter()
        .find(|i| i.id.as_deref() == Some(instance_id))
        .and_then(|i| i.status.as_ref());
    match instance_status {
        Some(CalloutStatus::CallbackReceived) => {
            if Decision::of(request.state.as_ref()) == asked {
                ReadBack::AlreadyResumed
            } else {
                let state = request.state.as_ref().map(|s| s.as_str().to_string());
                let status = state.or(request.status.into_option());
                ReadBack::Finished(status.unwrap_or_else(|| "unknown".into()))
            }
        }
        Some(CalloutStatus::WaitingForCallback) => ReadBack::StillWaiting,
        other => ReadBack::Finished(
            other
                .map(CalloutStatus::as_str)
                .or(request.status.as_deref())
                .unwrap_or("unknown")
                .to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Command, CommandError> {
        ResumeAccessRequest::parse(value.as_object().unwrap(), "resume-handler")
    }

    fn resume(value: Value) -> ResumeAccessRequest {
        match parse(value).unwrap() {
            Command::AccessRequest(r) => r,
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
            Command::ConnectionTest
        );
        assert_eq!(
            parse(json!({"stage": "customextensionconnectiontest"})).unwrap(),
            Command::ConnectionTest
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
        let mut expired = ok.clone();
        expired["stage"] = json!("assignmentRequestExpired");
        assert_eq!(
            parse(expired).unwrap_err().message(),
            "'stage' is 'assignmentRequestExpired'; expected assignmentRequestCreated, assignmentRequestApproved, assignmentRequestGranted or assignmentRequestRemoved"
        );
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

    fn request(state: &str, instance_status: &str) -> AssignmentRequest {
        serde_json::from_value(json!({
            "id": "r", "state": state, "status": "Delivering",
            "customExtensionCalloutInstances": [{"id": "i", "status": instance_status}]
        }))
        .unwrap()
    }

    #[test]
    fn a_received_callback_is_a_duplicate_only_with_the_same_decision() {
        use Decision::*;
        let judged = |state, status, asked| match judge(request(state, status), "i", asked) {
            ReadBack::AlreadyResumed => "already".to_string(),
            ReadBack::StillWaiting => "waiting".to_string(),
            ReadBack::Finished(current) => format!("conflict {current}"),
        };
        assert_eq!(
            judged("delivering", "callbackReceived", Continue),
            "already"
        );
        assert_eq!(judged("denied", "CallbackReceived", Deny), "already");
        assert_eq!(
            judged("delivering", "callbackReceived", Deny),
            "conflict delivering"
        );
        assert_eq!(
            judged("denied", "callbackReceived", Continue),
            "conflict denied"
        );
        assert_eq!(judged("submitted", "waitingForCallback", Deny), "waiting");
        assert_eq!(
            judged("submitted", "callbackTimedOut", Continue),
            "conflict callbackTimedOut"
        );
        assert_eq!(Decision::asked(Some("Denied")), Deny);
        assert_eq!(Decision::asked(None), Continue);
    }
}
