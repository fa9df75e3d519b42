//! `resume-handler doctor` against the emulator playing Resource Manager and Graph: the
//! template's healthy deployment is all ✓, and each misconfiguration turns exactly its own
//! checks ✗ (or ! where the doctor cannot tell), with a fix.
use crate::helpers::{run_cli as run, SMALL_TENANT};
use graph_emulator::generate::{deploy, GENERAL_CATALOG_ID, RESOURCE_GROUP, SUBSCRIPTION_ID};
use graph_emulator::{Emulator, GenerateSpec, Running, Settings, Tenant};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const LCW_STARTER: &str = "logic-resume-lcw-a1b2c3";
/// `doctor` on the emulator's deployment, as JSON.
const DOCTOR_JSON: [&str; 6] = [
    "doctor",
    "--subscription",
    SUBSCRIPTION_ID,
    "--resource-group",
    RESOURCE_GROUP,
    "--json",
];
const EM_STARTER: &str = "logic-resume-em-a1b2c3";

fn healthy() -> Tenant {
    let spec: GenerateSpec = SMALL_TENANT.parse().unwrap();
    let mut tenant = graph_emulator::generate(&spec);
    deploy(&mut tenant);
    tenant
}

async fn doctor(tenant: Tenant) -> (Option<i32>, Value, Running) {
    let graph = Emulator::start(tenant, Settings::default(), 0)
        .await
        .unwrap();
    let (code, stdout, stderr) = run(&graph, &DOCTOR_JSON).await;
    let checklist = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}\n{stderr}"));
    (code, checklist, graph)
}

/// The ids of the checks that did not pass.
fn not_passing(checklist: &Value) -> BTreeSet<String> {
    checklist["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] != "pass")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn check<'a>(checklist: &'a Value, id: &str) -> &'a Value {
    checklist["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

/// The Entitlement Management custom extensions some assignment policy runs.
fn access_extensions_in_use(tenant: &Tenant) -> BTreeSet<String> {
    tenant
        .assignment_policies
        .iter()
        .flat_map(|p| &p.custom_extension_stage_settings)
        .map(|s| s.custom_extension_id.clone())
        .collect()
}

/// The workflow extension `id`, to edit.
fn access_extension<'a>(
    tenant: &'a mut Tenant,
    id: &str,
) -> &'a mut graph_emulator::model::WorkflowExtension {
    tenant
        .custom_workflow_extensions
        .iter_mut()
        .find(|e| e.id == id)
        .unwrap()
}

/// The least-privilege route for tasks: the app reads workflows, and resumes through
/// authorizedApps.
fn read_only(tenant: &mut Tenant) {
    tenant.azure.function_apps[0].graph_app_roles = vec![
        "LifecycleWorkflows.Read.All".into(),
        "EntitlementManagement.ReadWrite.All".into(),
    ];
}

/// Entitlement Management's built-in catalog roles, by role definition id.
const ASSIGNMENT_MANAGER: &str = "e2182095-804a-4656-ae11-64734e9b7ae5";
const CATALOG_READER: &str = "44272f93-9762-48e8-af59-1b5351b1d6b3";

/// The least-privilege route for access requests: the app reads Entitlement Management, and
/// holds `role` over the catalog `scope` (`/AccessPackageCatalog/{id}`, or `/` for all).
fn catalog_role(tenant: &mut Tenant, role: &str, scope: &str) {
    let app = &mut tenant.azure.function_apps[0];
    app.graph_app_roles = vec![
        "LifecycleWorkflows.ReadWrite.All".into(),
        "EntitlementManagement.Read.All".into(),
    ];
    let principal_id = app.principal_id.clone();
    tenant
        .entitlement_role_assignments
        .push(graph_emulator::model::EntitlementRoleAssignment {
            id: format!("assignment-{}", tenant.entitlement_role_assignments.len()),
            principal_id,
            role_definition_id: role.into(),
            app_scope_id: scope.into(),
        });
}

/// A second catalog, holding none of the custom extensions.
fn sales_catalog(tenant: &mut Tenant) -> String {
    let id = "5a1e5c47-0b6d-4e2f-9a8c-7d6e5f4a3b2c".to_string();
    tenant.catalogs.push(graph_emulator::model::Catalog {
        id: id.clone(),
        display_name: "Sales".into(),
    });
    id
}

/// The check `what` of every access package extension in use.
fn each_access_extension(what: &str) -> Vec<String> {
    access_extensions_in_use(&healthy())
        .into_iter()
        .map(|e| format!("accessExtension/{e}/{what}"))
        .collect()
}

fn starter<'a>(tenant: &'a mut Tenant, name: &str) -> &'a mut graph_emulator::model::LogicApp {
    tenant
        .azure
        .logic_apps
        .iter_mut()
        .find(|l| l.name == name)
        .unwrap()
}

#[tokio::test]
async fn the_templates_deployment_is_all_ticks() {
    let (code, checklist, graph) = doctor(healthy()).await;
    assert_eq!(not_passing(&checklist), BTreeSet::new(), "{checklist:#}");
    assert_eq!(code, Some(0));
    assert_eq!(checklist["failed"], 0);
    assert_eq!(checklist["unknown"], 0);
    let extensions = graph.tenant().custom_task_extensions.len();
    let access_extensions = access_extensions_in_use(&graph.tenant()).len();
    assert!(access_extensions > 0);
    // 6 per starter, 3 per queue, 7 for the app (retry budget, function timeout, runtime,
    // identity, report kinds, 2 Graph permissions), 4 per task extension, 4 per access
    // package extension.
    assert_eq!(
        checklist["passed"],
        2 * 6 + 2 * 3 + 7 + 4 * extensions + 4 * access_extensions
    );
    // Each extension's starter check names what uses it.
    let tenant = graph.tenant();
    let extension = &tenant.custom_task_extensions[0];
    let workflows: BTreeSet<&str> = tenant
        .workflows
        .iter()
        .filter(|w| {
            w.tasks
                .iter()
                .any(|t| t.arguments.iter().any(|a| a.value == extension.id))
        })
        .map(|w| w.display_name.as_str())
        .collect();
    assert!(!workflows.is_empty());
    let message = check(&checklist, &format!("extension/{}/starter", extension.id))["message"]
        .as_str()
        .unwrap()
        .to_string();
    let plural = if workflows.len() == 1 { "" } else { "s" };
    assert!(
        message.contains(&format!("(used by {} workflow{plural}: ", workflows.len())),
        "{message}"
    );
    assert!(workflows.iter().all(|w| message.contains(w)), "{message}");
    let access = access_extensions_in_use(&tenant)
        .into_iter()
        .next()
        .unwrap();
    let message = check(&checklist, &format!("accessExtension/{access}/starter"))["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("(used by "), "{message}");
    assert!(message.contains("Access package 1"), "{message}");
    drop(tenant);

    // Read-only: nothing was written.
    assert!(graph
        .requests()
        .iter()
        .all(|r| r.method == "GET" || r.path.ends_with("/config/appsettings/list")));

    let (code, stdout, _) = run(
        &graph,
        &[
            "doctor",
            "--subscription",
            SUBSCRIPTION_ID,
            "--resource-group",
            RESOURCE_GROUP,
        ],
    )
    .await;
    assert_eq!(code, Some(0));
    assert!(
        stdout
            .lines()
            .next()
            .unwrap()
            .starts_with("✓ app/retryBudget"),
        "{stdout}"
    );
    assert!(stdout.ends_with("0 failed, 0 cannot tell\n"), "{stdout}");
}

#[tokio::test]
async fn each_misconfiguration_turns_its_own_check_and_says_how_to_fix_it() {
    let extension = healthy().custom_task_extensions[0].id.clone();
    let access = access_extensions_in_use(&healthy())
        .into_iter()
        .next()
        .unwrap();
    let (a1, a2, a3) = (access.clone(), access.clone(), access.clone());
    type Edit = Box<dyn Fn(&mut Tenant)>;
    let cases: Vec<(&str, Edit, Vec<String>)> = vec![
        (
            "SAS left on",
            Box::new(|t| {
                starter(t, LCW_STARTER).access_control["triggers"]["sasAuthenticationPolicy"]
                    ["state"] = json!("Enabled")
            }),
            vec![format!("starter/{LCW_STARTER}/sas")],
        ),
        (
            "the policy wiped",
            Box::new(|t| starter(t, EM_STARTER).access_control = json!({})),
            // Without access control, the signed URL is on too.
            vec![
                format!("starter/{EM_STARTER}/policy"),
                format!("starter/{EM_STARTER}/sas"),
            ],
        ),
        (
            "a claim spelled for another caller",
            Box::new(|t| {
                starter(t, EM_STARTER).access_control["triggers"]["openAuthenticationPolicies"]
                    ["policies"]["EntraCaller"]["claims"][1]["value"] =
                    json!(graph_emulator::generate::LIFECYCLE_WORKFLOWS_APP_ID)
            }),
            vec![format!("starter/{EM_STARTER}/policy")],
        ),
        (
            "the issuer without its trailing slash",
            Box::new(|t| {
                let claims = &mut starter(t, LCW_STARTER).access_control["triggers"]
                    ["openAuthenticationPolicies"]["policies"]["EntraCaller"]["claims"][0]["value"];
                *claims = json!(claims.as_str().unwrap().trim_end_matches('/'));
            }),
            vec![format!("starter/{LCW_STARTER}/policy")],
        ),
        (
            "a starter that may not send to its queue",
            Box::new(|t| t.azure.namespaces[0].queues[0].role_assignments.clear()),
            vec![format!("starter/{LCW_STARTER}/sender")],
        ),
        (
            "a trigger condition removed in code view",
            Box::new(|t| {
                starter(t, EM_STARTER).definition["triggers"]["manual"]["conditions"] = json!([])
            }),
            vec![format!("starter/{EM_STARTER}/condition")],
        ),
        (
            "a starter disabled",
            Box::new(|t| starter(t, LCW_STARTER).state = "Disabled".into()),
            vec![format!("starter/{LCW_STARTER}/state")],
        ),
        (
            "a queue drifted",
            Box::new(|t| {
                let queue = &mut t.azure.namespaces[0].queues[0];
                queue.requires_duplicate_detection = false;
                queue.max_delivery_count = 10;
            }),
            vec![
                "queue/resume-task/duplicateDetection".into(),
                "queue/resume-task/rideOut".into(),
            ],
        ),
        (
            "dead letters present",
            Box::new(|t| t.azure.namespaces[0].queues[1].dead_letter_message_count = 3),
            vec!["queue/resume-access-request/deadLetters".into()],
        ),
        (
            "an extension calling another Logic App",
            Box::new(|t| {
                t.custom_task_extensions[0]
                    .logic_app
                    .as_mut()
                    .unwrap()
                    .logic_app_workflow_name = "ManagerAccess".into()
            }),
            vec![format!("extension/{extension}/starter")],
        ),
        (
            "a callback timeout too long",
            Box::new(|t| t.custom_task_extensions[0].timeout_duration = "PT4H".into()),
            vec![format!("extension/{extension}/timeout")],
        ),
        (
            "callouts without proof of possession",
            Box::new(|t| {
                t.custom_task_extensions[0].authentication_type =
                    "#microsoft.graph.azureAdTokenAuthentication".into()
            }),
            vec![format!("extension/{extension}/pop")],
        ),
        (
            "an access package extension calling another Logic App",
            Box::new(move |t| {
                access_extension(t, &a1)
                    .logic_app
                    .as_mut()
                    .unwrap()
                    .logic_app_workflow_name = "access-check".into()
            }),
            vec![format!("accessExtension/{access}/starter")],
        ),
        (
            "an access package extension waiting longer than Entra allows",
            Box::new(move |t| access_extension(t, &a2).timeout_duration = "P15D".into()),
            vec![format!("accessExtension/{access}/timeout")],
        ),
        (
            "an access package extension without proof of possession",
            Box::new(move |t| {
                access_extension(t, &a3).authentication_type =
                    "#microsoft.graph.azureAdTokenAuthentication".into()
            }),
            vec![format!("accessExtension/{access}/pop")],
        ),
        (
            "the app reading workflows only, and not authorized by one extension",
            Box::new(|t| {
                read_only(t);
                t.custom_task_extensions[0].authorized_apps.clear();
            }),
            vec![format!("extension/{extension}/authorized")],
        ),
        (
            "no Graph permission for workflows",
            Box::new(|t| {
                t.azure.function_apps[0].graph_app_roles =
                    vec!["EntitlementManagement.ReadWrite.All".into()]
            }),
            vec!["app/graphPermissions/lifecycleWorkflows".into()],
        ),
        (
            "no Graph permission for access requests, which the report sweeps",
            Box::new(|t| {
                t.azure.function_apps[0].graph_app_roles =
                    vec!["LifecycleWorkflows.ReadWrite.All".into()]
            }),
            [
                vec![
                    "app/graphPermissions/entitlementManagement".into(),
                    "app/reportKinds".into(),
                ],
                each_access_extension("authorized"),
            ]
            .concat(),
        ),
        (
            "no Graph permission for access requests, which the report leaves out",
            Box::new(|t| {
                let app = &mut t.azure.function_apps[0];
                app.graph_app_roles = vec!["LifecycleWorkflows.ReadWrite.All".into()];
                app.app_settings
                    .insert("LIST_IN_PROGRESS_KINDS".into(), "task".into());
            }),
            [
                vec!["app/graphPermissions/entitlementManagement".into()],
                each_access_extension("authorized"),
            ]
            .concat(),
        ),
        (
            "the app's catalog role in another catalog than its extensions'",
            Box::new(|t| {
                let sales = sales_catalog(t);
                catalog_role(
                    t,
                    ASSIGNMENT_MANAGER,
                    &format!("/AccessPackageCatalog/{sales}"),
                );
            }),
            each_access_extension("authorized"),
        ),
        (
            "a catalog role that may not resume",
            Box::new(|t| {
                catalog_role(
                    t,
                    CATALOG_READER,
                    &format!("/AccessPackageCatalog/{GENERAL_CATALOG_ID}"),
                )
            }),
            [
                vec!["app/graphPermissions/entitlementManagement".into()],
                each_access_extension("authorized"),
            ]
            .concat(),
        ),
        (
            "a functionTimeout shorter than an invocation may take",
            Box::new(|t| {
                t.azure.function_apps[0].app_settings.insert(
                    "AzureFunctionsJobHost__functionTimeout".into(),
                    "00:02:00".into(),
                );
            }),
            vec!["app/functionTimeout".into()],
        ),
        (
            "a function app on another runtime",
            Box::new(|t| t.azure.function_apps[0].runtime = "dotnet-isolated".into()),
            vec!["app/runtime".into()],
        ),
    ];
    for (case, edit, expected) in cases {
        let mut tenant = healthy();
        edit(&mut tenant);
        let (code, checklist, _) = doctor(tenant).await;
        let expected: BTreeSet<String> = expected.into_iter().collect();
        assert_eq!(not_passing(&checklist), expected, "{case}: {checklist:#}");
        assert_eq!(code, Some(1), "{case}");
        for id in &expected {
            let turned = check(&checklist, id);
            assert!(
                turned["fix"].is_string(),
                "{case}: {id} has no fix: {turned}"
            );
        }
    }
}

#[tokio::test]
async fn the_fix_doctor_gives_for_an_unauthorized_app_makes_it_pass() {
    let mut tenant = healthy();
    read_only(&mut tenant);
    tenant.custom_task_extensions[0].authorized_apps.clear();
    let extension = tenant.custom_task_extensions[0].id.clone();
    let (_, checklist, graph) = doctor(tenant).await;
    let id = format!("extension/{extension}/authorized");
    let fix = check(&checklist, &id)["fix"].as_str().unwrap().to_string();
    let args: Vec<&str> = fix
        .strip_prefix("resume-handler ")
        .unwrap()
        .split(' ')
        .collect();
    let (code, stdout, stderr) = run(&graph, &args).await;
    assert_eq!(code, Some(0), "{fix}: {stdout}{stderr}");
    let (code, stdout, _) = run(&graph, &DOCTOR_JSON).await;
    let after: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(check(&after, &id)["status"], "pass");
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn the_least_privilege_routes_are_all_ticks() {
    let mut tenant = healthy();
    read_only(&mut tenant);
    catalog_role(
        &mut tenant,
        ASSIGNMENT_MANAGER,
        &format!("/AccessPackageCatalog/{GENERAL_CATALOG_ID}"),
    );
    tenant.azure.function_apps[0].graph_app_roles = vec![
        "LifecycleWorkflows.Read.All".into(),
        "EntitlementManagement.Read.All".into(),
    ];
    let (code, checklist, _) = doctor(tenant).await;
    assert_eq!(not_passing(&checklist), BTreeSet::new(), "{checklist:#}");
    assert_eq!(code, Some(0));
    let em = check(&checklist, "app/graphPermissions/entitlementManagement");
    assert!(
        em["message"].as_str().unwrap().contains("in the 1 catalog"),
        "{em}"
    );

    // A role over every catalog holds too.
    let mut tenant = healthy();
    catalog_role(&mut tenant, ASSIGNMENT_MANAGER, "/");
    let (code, checklist, _) = doctor(tenant).await;
    assert_eq!(not_passing(&checklist), BTreeSet::new(), "{checklist:#}");
    assert_eq!(code, Some(0));
}

/// Does what an `az rest --method post --url … --body '…'` fix says, against the emulator.
async fn az_rest_post(graph: &Running, fix: &str) {
    let command = &fix[fix.find("az rest ").expect(fix)..];
    let url = command
        .split(' ')
        .skip_while(|w| *w != "--url")
        .nth(1)
        .unwrap()
        .replace("https://graph.microsoft.com", &graph.url());
    let body = command
        .split("--body '")
        .nth(1)
        .and_then(|b| b.strip_suffix('\''))
        .unwrap();
    let client = reqwest::Client::new();
    let token: Value = client
        .get(format!(
            "{}?api-version=2019-08-01&resource=https://graph.microsoft.com",
            graph.identity_endpoint()
        ))
        .header("X-IDENTITY-HEADER", &graph.settings().identity_header)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = client
        .post(url)
        .bearer_auth(token["access_token"].as_str().unwrap())
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{fix}");
}

#[tokio::test]
async fn the_fix_doctor_gives_for_an_app_without_its_catalog_role_makes_it_pass() {
    let mut tenant = healthy();
    let sales = sales_catalog(&mut tenant);
    catalog_role(
        &mut tenant,
        ASSIGNMENT_MANAGER,
        &format!("/AccessPackageCatalog/{sales}"),
    );
    let (_, checklist, graph) = doctor(tenant).await;
    let ids = each_access_extension("authorized");
    let fix = check(&checklist, &ids[0])["fix"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(fix.contains("Roles and administrators"), "{fix}");
    az_rest_post(&graph, &fix).await;
    let (code, stdout, _) = run(&graph, &DOCTOR_JSON).await;
    let after: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(not_passing(&after), BTreeSet::new(), "{after:#}");
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn a_wrong_resource_group_or_no_sign_in_is_not_a_checklist() {
    let graph = Emulator::start(healthy(), Settings::default(), 0)
        .await
        .unwrap();
    let (code, _, stderr) = run(
        &graph,
        &[
            "doctor",
            "--subscription",
            SUBSCRIPTION_ID,
            "--resource-group",
            "rg-other",
        ],
    )
    .await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("check --subscription and --resource-group"),
        "{stderr}"
    );
    let (code, _, stderr) = run(
        &graph,
        &[
            "doctor",
            "--subscription",
            "a/b",
            "--resource-group",
            RESOURCE_GROUP,
        ],
    )
    .await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--subscription"), "{stderr}");
}

#[tokio::test]
async fn extensions_graph_will_not_list_are_a_check_that_cannot_tell_and_says_why() {
    let graph = Emulator::start(healthy(), Settings::default(), 0)
        .await
        .unwrap();
    graph
        .add_fault("403:match=/lifecycleWorkflows/customTaskExtensions")
        .unwrap();
    let (code, stdout, _) = run(&graph, &DOCTOR_JSON).await;
    assert_eq!(code, Some(1));
    let checklist: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        not_passing(&checklist),
        BTreeSet::from(["extensions".to_string()])
    );
    let why = check(&checklist, "extensions")["message"].as_str().unwrap();
    assert!(why.contains("Graph refused this app's identity"), "{why}");
}

#[tokio::test]
async fn catalog_roles_graph_will_not_list_are_checks_that_cannot_tell() {
    let mut tenant = healthy();
    catalog_role(
        &mut tenant,
        ASSIGNMENT_MANAGER,
        &format!("/AccessPackageCatalog/{GENERAL_CATALOG_ID}"),
    );
    let graph = Emulator::start(tenant, Settings::default(), 0)
        .await
        .unwrap();
    graph
        .add_fault("403:match=/roleManagement/entitlementManagement/roleAssignments")
        .unwrap();
    let (code, stdout, _) = run(&graph, &DOCTOR_JSON).await;
    assert_eq!(code, Some(1));
    let checklist: Value = serde_json::from_str(&stdout).unwrap();
    let expected: BTreeSet<String> = [
        vec!["app/graphPermissions/entitlementManagement".to_string()],
        each_access_extension("authorized"),
    ]
    .concat()
    .into_iter()
    .collect();
    assert_eq!(not_passing(&checklist), expected, "{checklist:#}");
    for id in &expected {
        let c = check(&checklist, id);
        assert_eq!(c["status"], "unknown", "{c}");
        assert!(
            c["message"]
                .as_str()
                .unwrap()
                .contains("catalog roles could not be read"),
            "{c}"
        );
    }
}
