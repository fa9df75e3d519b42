//! Every route and rule of the emulator, over HTTP, as a Graph client sees it.
use graph_emulator::{Emulator, GenerateSpec, Running, Settings};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const SPEC: &str = "workflows=2,tasks=3,customTasks=2,users=4,inProgress=0.5,requests=4,seed=5";
const LCW: &str = "identityGovernance/lifecycleWorkflows";

struct Graph {
    running: Running,
    http: reqwest::Client,
    token: String,
}

async fn start_with(settings: Settings) -> Graph {
    start_tenant(SPEC, settings).await
}

async fn start_tenant(spec: &str, settings: Settings) -> Graph {
    let spec: GenerateSpec = spec.parse().unwrap();
    let running = Emulator::start(graph_emulator::generate(&spec), settings, 0)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let token = http
        .get(running.identity_endpoint())
        .query(&[
            ("api-version", "2019-08-01"),
            ("resource", "https://graph.microsoft.com"),
        ])
        .header("X-IDENTITY-HEADER", "local-dev")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    Graph {
        running,
        http,
        token,
    }
}

async fn start() -> Graph {
    start_with(Settings::default()).await
}

impl Graph {
    fn url(&self, version_and_path: &str) -> String {
        format!("{}/{}", self.running.url(), version_and_path)
    }

    /// A GET with this client's token, the answer unread (for its headers or its stream).
    async fn raw_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::PATCH, path, body).await
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    fn waiting(&self) -> (String, String, String) {
        self.running
            .task_results_with_status("inProgress")
            .remove(0)
    }

    fn upr_of(&self, result_id: &str) -> (String, String) {
        let tenant = self.running.tenant();
        tenant
            .workflows
            .iter()
            .flat_map(|w| &w.user_processing_results)
            .find(|u| u.task_processing_results.iter().any(|r| r.id == result_id))
            .map(|u| (u.run_id.clone(), u.id.clone()))
            .unwrap()
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn the_managed_identity_endpoint_speaks_the_app_service_protocol() {
    let g = start().await;
    let ask = |header: &'static str, query: Vec<(&'static str, &'static str)>| {
        g.http
            .get(g.running.identity_endpoint())
            .query(&query)
            .header("X-IDENTITY-HEADER", header)
            .send()
    };
    let r = ask(
        "local-dev",
        vec![
            ("api-version", "2019-08-01"),
            ("resource", "https://graph.microsoft.com"),
            ("client_id", "abc"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        keys(&body),
        [
            "access_token",
            "client_id",
            "expires_on",
            "resource",
            "token_type"
        ]
        .map(String::from)
        .into()
    );
    assert!(
        body["expires_on"].as_str().unwrap().parse::<u64>().is_ok(),
        "expires_on is unix seconds as a string"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        ask(
            "wrong",
            vec![("api-version", "2019-08-01"), ("resource", "x")]
        )
        .await
        .unwrap()
        .status(),
        401
    );
    assert_eq!(
        ask("local-dev", vec![("api-version", "2019-08-01")])
            .await
            .unwrap()
            .status(),
        400
    );
}

#[tokio::test]
async fn graph_routes_refuse_missing_unknown_and_expired_tokens_with_graphs_error_body() {
    let g = start_with(Settings {
        token_lifetime_seconds: 0,
        ..Settings::default()
    })
    .await;
    for token in [None, Some("made-up"), Some(g.token.as_str())] {
        let mut request = g
            .http
            .get(g.url(&format!("v1.0/{LCW}/workflows")))
            .header("client-request-id", "abc-123");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["client-request-id"], "abc-123");
        let request_id = r.headers()["request-id"].to_str().unwrap().to_string();
        assert!(r.headers().contains_key("date"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
        assert_eq!(
            keys(&body["error"]),
            ["code", "innerError", "message"].map(String::from).into()
        );
        assert_eq!(
            body["error"]["innerError"]["request-id"],
            request_id.as_str()
        );
        assert_eq!(body["error"]["innerError"]["client-request-id"], "abc-123");
        assert!(body["error"]["innerError"]["date"].is_string());
    }
}

#[tokio::test]
async fn workflows_tasks_runs_and_user_results_list_and_get() {
    let g = start().await;
    let (status, list) = g.get(&format!("v1.0/{LCW}/workflows")).await;
    assert_eq!(status, 200);
    assert!(list["@odata.context"]
        .as_str()
        .unwrap()
        .contains("$metadata#"));
    let workflows = list["value"].as_array().unwrap();
    assert_eq!(workflows.len(), 2);
    let w = workflows[0]["id"].as_str().unwrap();
    assert_eq!(g.get(&format!("beta/{LCW}/workflows/{w}")).await.1["id"], w);
    let (_, tasks) = g.get(&format!("v1.0/{LCW}/workflows/{w}/tasks")).await;
    let task = &tasks["value"][0];
    assert_eq!(
        keys(task),
        [
            "arguments",
            "category",
            "continueOnError",
            "description",
            "displayName",
            "executionSequence",
            "id",
            "isEnabled",
            "taskDefinitionId"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(task["arguments"][0]["name"], "customTaskExtensionID");
    let t = task["id"].as_str().unwrap();
    assert_eq!(
        g.get(&format!("v1.0/{LCW}/workflows/{w}/tasks/{t}"))
            .await
            .1["id"],
        t
    );
    let (_, runs) = g.get(&format!("v1.0/{LCW}/workflows/{w}/runs")).await;
    let run = runs["value"][0]["id"].as_str().unwrap();
    assert!(run.contains('_'), "run ids are composite: {run}");
    assert_eq!(
        g.get(&format!("v1.0/{LCW}/workflows/{w}/runs/{run}"))
            .await
            .1["id"],
        run
    );
    let (_, users) = g
        .get(&format!("v1.0/{LCW}/workflows/{w}/userProcessingResults"))
        .await;
    assert_eq!(users["value"].as_array().unwrap().len(), 4);
    let u = users["value"][0]["id"].as_str().unwrap();
    assert_eq!(
        g.get(&format!(
            "v1.0/{LCW}/workflows/{w}/userProcessingResults/{u}"
        ))
        .await
        .1["id"],
        u
    );
    let (_, by_run) = g
        .get(&format!(
            "v1.0/{LCW}/workflows/{w}/runs/{run}/userProcessingResults"
        ))
        .await;
    assert_eq!(by_run["value"].as_array().unwrap().len(), 4);
    assert_eq!(
        g.get(&format!(
            "v1.0/{LCW}/workflows/{w}/runs/{run}/userProcessingResults/{u}"
        ))
        .await
        .1["id"],
        u
    );
    let (status, body) = g.get(&format!("v1.0/{LCW}/workflows/nope")).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ResourceNotFound"))
    );
    let (status, _) = g.get(&format!("v1.0/{LCW}/workflowz")).await;
    assert_eq!(
        status, 400,
        "an unknown segment is a bad request, as in Graph"
    );
}

#[tokio::test]
async fn task_processing_results_list_and_get_under_every_navigation_path_in_the_documented_shape()
{
    let g = start().await;
    let (w, t, r) = g.waiting();
    let (run, u) = g.upr_of(&r);
    let (_, reports) = g
        .get(&format!("v1.0/{LCW}/workflows/{w}/taskReports"))
        .await;
    let report = reports["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["task"]["id"] == t.as_str() && x["runId"] == run.as_str())
        .unwrap();
    let report_id = report["id"].as_str().unwrap();
    assert_eq!(
        g.get(&format!("v1.0/{LCW}/workflows/{w}/taskReports/{report_id}"))
            .await
            .1["id"],
        report_id
    );
    let collections = [
        format!("v1.0/{LCW}/workflows/{w}/taskReports/{report_id}/taskProcessingResults"),
        format!("v1.0/{LCW}/workflows/{w}/tasks/{t}/taskProcessingResults"),
        format!("v1.0/{LCW}/workflows/{w}/userProcessingResults/{u}/taskProcessingResults"),
        format!(
            "v1.0/{LCW}/workflows/{w}/runs/{run}/userProcessingResults/{u}/taskProcessingResults"
        ),
    ];
    for collection in &collections {
        let (status, list) = g.get(collection).await;
        assert_eq!(status, 200, "{collection}");
        assert!(
            list["value"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["id"] == r.as_str()),
            "{collection}"
        );
        let (status, one) = g.get(&format!("{collection}/{r}")).await;
        assert_eq!(status, 200);
        // The fields of the v1.0 reference page's examples, field for field.
        assert_eq!(
            keys(&one),
            [
                "completedDateTime",
                "createdDateTime",
                "failureReason",
                "id",
                "processingStatus",
                "startedDateTime",
                "subject",
                "task"
            ]
            .map(String::from)
            .into()
        );
        assert_eq!(keys(&one["subject"]), ["id"].map(String::from).into());
        assert_eq!(one["task"]["id"], t.as_str());
    }
    let (status, _) = g.get(&format!("v1.0/{LCW}/workflows/{w}/userProcessingResults/not-this-user/taskProcessingResults/{r}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn custom_task_extensions_carry_their_callback_timeout() {
    let g = start().await;
    let tenant = g.running.tenant();
    let ext = &tenant.custom_task_extensions[0];
    let (status, body) = g
        .get(&format!("v1.0/{LCW}/customTaskExtensions/{}", ext.id))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["callbackConfiguration"]["timeoutDuration"],
        ext.timeout_duration.as_str()
    );
    assert_eq!(
        body["callbackConfiguration"]["@odata.type"],
        "#microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration"
    );
}

#[tokio::test]
async fn a_custom_task_extensions_authorized_apps_are_written_through_its_derived_type_and_read_on_expand(
) {
    let g = start().await;
    let id = g.running.tenant().custom_task_extensions[0].id.clone();
    let path = format!("v1.0/{LCW}/customTaskExtensions/{id}");
    let (status, _) = g
        .patch(
            &path,
            &json!({"callbackConfiguration": {"authorizedApps": [{"appId": "a"}]}}),
        )
        .await;
    assert_eq!(status, 400, "the base type is abstract");
    let (status, _) = g
        .patch(
            &path,
            &json!({"callbackConfiguration": {
                "@odata.type": "#microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration",
                "authorizedApps": ["a", {"appId": "b"}, {"id": "c"}]
            }}),
        )
        .await;
    assert_eq!(status, 204);
    // A navigation property: left out unless expanded through the derived type.
    let (_, body) = g.get(&path).await;
    assert!(
        body["callbackConfiguration"]
            .get("authorizedApps")
            .is_none(),
        "{body}"
    );
    let (status, _) = g.get(&format!("{path}?$expand=authorizedApps")).await;
    assert_eq!(status, 400);
    let (_, body) = g
        .get(&format!("{path}?$expand=callbackConfiguration/microsoft.graph.identityGovernance.customTaskExtensionCallbackConfiguration/authorizedApps"))
        .await;
    let apps: Vec<&str> = body["callbackConfiguration"]["authorizedApps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["appId"].as_str().unwrap())
        .collect();
    assert_eq!(apps, ["a", "b", "c"]);
    assert!(
        body["callbackConfiguration"]["timeoutDuration"].is_string(),
        "a property not given stays"
    );
}

#[tokio::test]
async fn the_lcw_resume_works_in_every_spelling_and_path_and_only_while_in_progress() {
    let g = start_tenant(
        "workflows=2,tasks=3,customTasks=2,users=4,inProgress=1",
        Settings::default(),
    )
    .await;
    for action in [
        "resume",
        "microsoft.graph.identityGovernance.resume",
        "identityGovernance.resume",
    ] {
        for path in 0..4 {
            let Some((w, t, r)) = g
                .running
                .task_results_with_status("inProgress")
                .into_iter()
                .next()
            else {
                return;
            };
            let (run, u) = g.upr_of(&r);
            let collection = match path {
                0 => format!("v1.0/{LCW}/workflows/{w}/tasks/{t}/taskProcessingResults"),
                1 => format!("beta/{LCW}/workflows/{w}/userProcessingResults/{u}/taskProcessingResults"),
                2 => {
                    let (_, reports) = g.get(&format!("v1.0/{LCW}/workflows/{w}/taskReports")).await;
                    let report = reports["value"].as_array().unwrap().iter().find(|x| x["task"]["id"] == t.as_str() && x["runId"] == run.as_str()).unwrap()["id"].as_str().unwrap().to_string();
                    format!("v1.0/{LCW}/workflows/{w}/taskReports/{report}/taskProcessingResults")
                }
                _ => format!("v1.0/{LCW}/workflows/{w}/runs/{run}/userProcessingResults/{u}/taskProcessingResults"),
            };
            let body = json!({"source": "test", "type": "lifecycleEvent", "data": {"operationStatus": "Completed"}});
            let (status, _) = g.post(&format!("{collection}/{r}/{action}"), &body).await;
            assert_eq!(status, 204, "{action} under path {path}");
            let result = g.running.task_processing_result(&r).unwrap();
            assert_eq!(result.processing_status, "completed");
            assert_eq!(result.resumes, std::slice::from_ref(&body));
            let (status, again) = g.post(&format!("{collection}/{r}/{action}"), &body).await;
            assert_eq!(
                status, 400,
                "a result no longer in progress cannot be resumed"
            );
            assert_eq!(again["error"]["code"], "BadRequest");
        }
    }
}

#[tokio::test]
async fn the_refusal_of_a_resume_that_is_no_longer_waiting_is_configurable() {
    let mut settings = Settings::default();
    settings.not_waiting.status = 409;
    settings.not_waiting.code = "Conflict".into();
    let g = start_with(settings).await;
    let (w, t, r) = g.waiting();
    let path = format!("v1.0/{LCW}/workflows/{w}/tasks/{t}/taskProcessingResults/{r}/resume");
    let body = json!({"data": {"operationStatus": "failed"}});
    assert_eq!(g.post(&path, &body).await.0, 204);
    let (status, answer) = g.post(&path, &body).await;
    assert_eq!(
        (status.as_u16(), answer["error"]["code"].as_str()),
        (409, Some("Conflict"))
    );
}

#[tokio::test]
async fn a_resume_without_a_valid_operation_status_is_a_bad_request() {
    let g = start().await;
    let (w, t, r) = g.waiting();
    let path = format!("v1.0/{LCW}/workflows/{w}/tasks/{t}/taskProcessingResults/{r}/resume");
    for body in [
        json!({}),
        json!({"data": {}}),
        json!({"data": {"operationStatus": "maybe"}}),
        json!({"data": {"operationStatus": "completed"}, "source": 5}),
    ] {
        assert_eq!(g.post(&path, &body).await.0, 400, "{body}");
    }
    assert_eq!(
        g.running
            .task_processing_result(&r)
            .unwrap()
            .processing_status,
        "inProgress"
    );
}

#[tokio::test]
async fn filters_select_and_paging_behave_as_graph_documents() {
    let g = start_with(Settings {
        page_size: 2,
        ..Settings::default()
    })
    .await;
    let (w, t, _) = g.waiting();
    let base = format!("v1.0/{LCW}/workflows/{w}/tasks/{t}/taskProcessingResults");
    let (_, filtered) = g
        .get(&format!(
            "{base}?$filter=processingStatus eq 'inProgress'&$select=id,processingStatus"
        ))
        .await;
    for item in filtered["value"].as_array().unwrap() {
        assert_eq!(item["processingStatus"], "inProgress");
        assert_eq!(
            keys(item),
            ["id", "processingStatus"].map(String::from).into()
        );
    }
    let (_, not) = g
        .get(&format!("{base}?$filter=processingStatus ne 'inProgress'"))
        .await;
    assert!(not["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["processingStatus"] != "inProgress"));
    let (status, bad) = g
        .get(&format!("{base}?$filter=startedDateTime eq '2026'"))
        .await;
    assert_eq!(
        (status.as_u16(), bad["error"]["code"].as_str()),
        (400, Some("BadRequest"))
    );

    // Walk every page of all four results: absolute, unique next links, and no empty last page.
    let mut seen = BTreeSet::new();
    let mut links = BTreeSet::new();
    let mut next = Some(g.url(&base));
    while let Some(url) = next.take() {
        let page: Value = g
            .http
            .get(&url)
            .bearer_auth(&g.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = page["value"].as_array().unwrap();
        assert!(!items.is_empty(), "no empty page by default");
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        if let Some(link) = page["@odata.nextLink"].as_str() {
            assert!(link.starts_with(&g.running.url()), "absolute: {link}");
            assert!(links.insert(link.to_string()), "unique");
            next = Some(link.to_string());
        }
    }
    assert_eq!(seen.len(), 4);
    assert_eq!(links.len(), 1);
}

#[tokio::test]
async fn entitlement_management_requests_list_get_and_resume_under_their_rules() {
    let g = start().await;
    let tenant = g.running.tenant();
    let waiting: Vec<_> = tenant
        .assignment_requests
        .iter()
        .filter(|r| r.status == "WaitingForCallback")
        .collect();
    let (status, list) = g
        .get("v1.0/identityGovernance/entitlementManagement/assignmentRequests")
        .await;
    assert_eq!(status, 200);
    assert_eq!(list["value"].as_array().unwrap().len(), 4);
    let request = waiting[0];
    let instance = &request.custom_extension_callout_instances[0];
    let (_, one) = g
        .get(&format!(
            "v1.0/identityGovernance/entitlementManagement/assignmentRequests/{}",
            request.id
        ))
        .await;
    assert_eq!(
        one["customExtensionCalloutInstances"][0]["status"],
        "waitingForCallback"
    );
    assert_eq!(
        keys(&one["customExtensionCalloutInstances"][0]),
        [
            "customExtensionId",
            "detail",
            "externalCorrelationId",
            "id",
            "status"
        ]
        .map(String::from)
        .into()
    );
    let body = |stage: &str, instance_id: &str, state: Option<&str>| {
        let mut data = json!({"@odata.type": "microsoft.graph.accessPackageAssignmentRequestCallbackData",
            "stage": stage, "customExtensionStageInstanceId": instance_id});
        if let Some(state) = state {
            data["state"] = json!(state);
        }
        json!({"source": "test", "type": format!("microsoft.graph.accessPackageCustomExtensionStage.{stage}"), "data": data})
    };
    let resume = |version: &str, collection: &str, id: &str| {
        format!("{version}/identityGovernance/entitlementManagement/{collection}/{id}/resume")
    };
    // The legacy collection is beta-only.
    let (status, _) = g
        .post(
            &resume("v1.0", "accessPackageAssignmentRequests", &request.id),
            &body(&instance.stage, &instance.id, None),
        )
        .await;
    assert_eq!(status, 400);
    // Wrong instance, wrong stage: refused, state unchanged.
    assert_eq!(
        g.post(
            &resume("v1.0", "assignmentRequests", &request.id),
            &body(&instance.stage, "other", None)
        )
        .await
        .0,
        400
    );
    let other_stage = if instance.stage == "assignmentRequestCreated" {
        "assignmentRequestGranted"
    } else {
        "assignmentRequestCreated"
    };
    assert_eq!(
        g.post(
            &resume("v1.0", "assignmentRequests", &request.id),
            &body(other_stage, &instance.id, None)
        )
        .await
        .0,
        400
    );
    assert_eq!(
        g.post(
            &resume("v1.0", "assignmentRequests", "no-such"),
            &body(&instance.stage, &instance.id, None)
        )
        .await
        .0,
        404
    );
    // The real thing, through beta's legacy collection.
    let (status, _) = g
        .post(
            &resume("beta", "accessPackageAssignmentRequests", &request.id),
            &body(&instance.stage, &instance.id, Some("denied")),
        )
        .await;
    assert_eq!(status, 204);
    let after = g.running.assignment_request(&request.id).unwrap();
    assert_eq!(
        (after.status.as_str(), after.state.as_str()),
        ("Denied", "denied")
    );
    assert_eq!(
        after.custom_extension_callout_instances[0].status,
        "callbackReceived"
    );
    let (status, _) = g
        .post(
            &resume("v1.0", "assignmentRequests", &request.id),
            &body(&instance.stage, &instance.id, None),
        )
        .await;
    assert_eq!(
        status, 400,
        "only a request waiting for a callback can be resumed"
    );
}

#[tokio::test]
async fn injected_faults_throttle_fail_drop_and_delay() {
    let g = start().await;
    let workflows = format!("v1.0/{LCW}/workflows");
    g.running
        .add_fault("429:match=/workflows,times=1,retry-after=7")
        .unwrap();
    let r = g.raw_get(&workflows).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(g.get(&workflows).await.0, 200, "times=1");
    g.running.clear_faults();
    g.running.add_fault("504:times=1").unwrap();
    assert_eq!(g.get(&workflows).await.0, 504);
    g.running.add_fault("latency:ms=300,times=1").unwrap();
    let started = std::time::Instant::now();
    assert_eq!(g.get(&workflows).await.0, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let (w, t, r) = g.waiting();
    g.running.add_fault("drop:match=/resume,times=1").unwrap();
    let sent = g
        .http
        .post(g.url(&format!(
            "v1.0/{LCW}/workflows/{w}/tasks/{t}/taskProcessingResults/{r}/resume"
        )))
        .bearer_auth(&g.token)
        .json(&json!({"data": {"operationStatus": "completed"}}))
        .send()
        .await;
    let lost = match sent {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(lost, "the answer is lost");
    assert_eq!(
        g.running
            .task_processing_result(&r)
            .unwrap()
            .processing_status,
        "completed",
        "but the resume was applied"
    );
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_beyond_its_rate() {
    let g = start_with(Settings {
        rate_limit: Some(5),
        ..Settings::default()
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = g
            .http
            .get(g.url(&format!("v1.0/{LCW}/workflows")))
            .bearer_auth(&g.token)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
        }
        statuses.push(r.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(g.running.stats().throttled, 3);
}

#[tokio::test]
async fn an_empty_page_fault_serves_an_empty_first_page_that_links_on() {
    let g = start().await;
    g.running.add_fault("empty-page:times=1").unwrap();
    let (_, page) = g.get(&format!("v1.0/{LCW}/workflows")).await;
    assert_eq!(page["value"], json!([]));
    let next = page["@odata.nextLink"].as_str().unwrap();
    let rest: Value = g
        .http
        .get(next)
        .bearer_auth(&g.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["value"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_state_endpoint_counts_results_and_requests() {
    let g = start().await;
    let state: Value = g
        .http
        .get(g.url("_emulator/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["workflows"], 2);
    let total: u64 = state["taskProcessingResults"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 2 * 3 * 4);
    assert_eq!(state["stats"]["tokenRequests"], 1);
}

#[tokio::test]
async fn hostile_faults_send_odd_retry_afters_self_links_huge_bodies_and_drips() {
    let g = start_with(Settings {
        page_size: 1,
        ..Settings::default()
    })
    .await;
    let workflows = format!("v1.0/{LCW}/workflows");

    g.running
        .add_fault("429:times=1,retry-after=18446744073709551615999")
        .unwrap();
    let r = g.raw_get(&workflows).await;
    assert_eq!(r.headers()["retry-after"], "18446744073709551615999");
    g.running.add_fault("503:times=1,retry-after=past").unwrap();
    let r = g.raw_get(&workflows).await;
    let at = httpdate::parse_http_date(r.headers()["retry-after"].to_str().unwrap()).unwrap();
    assert!(at < std::time::SystemTime::now());

    g.running.add_fault("self-link:times=1").unwrap();
    let (_, page) = g.get(&workflows).await;
    assert_eq!(page["@odata.nextLink"], g.url(&workflows));

    g.running
        .add_fault("huge-body:status=500,bytes=10000000,times=1")
        .unwrap();
    let mut r = g.raw_get(&workflows).await;
    assert_eq!(r.status(), 500);
    let mut read = 0;
    while let Some(chunk) = r.chunk().await.unwrap() {
        read += chunk.len();
    }
    assert_eq!(read, 10_000_000, "streamed to the last byte");

    g.running.add_fault("drip:ms=5,times=1").unwrap();
    let started = std::time::Instant::now();
    let (status, page) = g.get(&workflows).await;
    assert_eq!(status, 200);
    let bytes = page.to_string().len() as u128;
    assert!(
        started.elapsed().as_millis() >= bytes * 5 / 2,
        "one byte at a time"
    );
}

#[tokio::test]
async fn an_identity_fault_refuses_tokens_with_a_secret_in_its_body_and_leaves_graph_alone() {
    let g = start().await;
    g.running.add_fault("503:match=/msi/token,times=1").unwrap();
    let token = |header: &'static str| {
        g.http
            .get(g.running.identity_endpoint())
            .query(&[
                ("api-version", "2019-08-01"),
                ("resource", "https://graph.microsoft.com"),
            ])
            .header("X-IDENTITY-HEADER", header)
            .send()
    };
    let refused = token("local-dev").await.unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused
        .text()
        .await
        .unwrap()
        .contains(graph_emulator::msi::SECRET_IN_ERROR));
    assert_eq!(token("local-dev").await.unwrap().status(), 200);
    let (status, _) = g.get(&format!("v1.0/{LCW}/workflows")).await;
    assert_eq!(status, 200, "an identity fault is not a Graph fault");
}

#[tokio::test]
async fn waiting_requests_expand_their_package_and_target_and_policies_their_extensions() {
    let g = start_tenant("requests=60", Settings::default()).await;
    let tenant = g.running.tenant();
    let base = "v1.0/identityGovernance/entitlementManagement";
    let (status, page) = g
        .get(&format!(
            "{base}/assignmentRequests?$filter=status eq 'WaitingForCallback'\
             &$select=id,createdDateTime,customExtensionCalloutInstances\
             &$expand=accessPackage($select=id,displayName),assignment($expand=target)"
        ))
        .await;
    assert_eq!(status, 200);
    let items = page["value"].as_array().unwrap();
    assert_eq!(items.len(), 30);
    let first = &items[0];
    let request = tenant
        .assignment_requests
        .iter()
        .find(|r| r.id == first["id"])
        .unwrap();
    assert_eq!(
        keys(first),
        [
            "accessPackage",
            "assignment",
            "createdDateTime",
            "customExtensionCalloutInstances",
            "id"
        ]
        .map(String::from)
        .into()
    );
    assert_eq!(
        first["accessPackage"]["id"],
        request.access_package_id.as_str()
    );
    assert_eq!(
        first["assignment"]["target"]["objectId"],
        request.target.object_id.as_str()
    );

    // Dates order as dates; a property the seed does not allow is refused as Graph refuses it.
    let (_, recent) = g
        .get(&format!(
            "{base}/assignmentRequests?$filter=createdDateTime gt 2000-01-01T00:00:00Z&$select=id"
        ))
        .await;
    assert_eq!(recent["value"].as_array().unwrap().len(), 60);
    let narrow = Settings {
        request_filters: vec!["state".into(), "createdDateTime".into()],
        ..Settings::default()
    };
    let strict = start_tenant("requests=2", narrow).await;
    let (status, refused) = strict
        .get(&format!(
            "{base}/assignmentRequests?$filter=status eq 'WaitingForCallback'"
        ))
        .await;
    assert_eq!(status, 400, "{refused}");

    let (status, policies) = g
        .get(&format!(
            "{base}/assignmentPolicies?$expand=accessPackage($select=id),customExtensionStageSettings($expand=customExtension)"
        ))
        .await;
    assert_eq!(status, 200);
    let policies = policies["value"].as_array().unwrap();
    assert_eq!(policies.len(), 3, "one access package per 25 requests");
    let setting = &policies[0]["customExtensionStageSettings"][0];
    assert_eq!(setting["stage"], "assignmentRequestCreated");
    assert_eq!(
        setting["customExtension"]["callbackConfiguration"]["timeoutDuration"],
        "P1D"
    );
    assert!(policies[0]["accessPackage"]["id"].is_string());
}
