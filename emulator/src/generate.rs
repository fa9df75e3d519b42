//! Generated tenants, for benchmarks and large tests, and the demo tenant.
//!
//! `--generate` takes comma-separated `key=value` pairs; every key is optional:
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `workflows` | LCW workflows (Graph allows 100) | 3 |
//! | `tasks` | tasks per workflow (Graph allows 25) | 4 |
//! | `customTasks` | of those, "Run a custom task extension" tasks | 1 |
//! | `users` | users processed per workflow (one run each) | 10 |
//! | `inProgress` | share of custom-task results still `inProgress` (0 to 1; 1 makes every one resumable) | 0.2 |
//! | `requests` | EM access package assignment requests (half of them `WaitingForCallback`), over one access package per 25 | 4 |
//! | `seed` | random seed: the same spec and seed give the same tenant | 1 |
//!
//! Example: `workflows=100,tasks=25,customTasks=5,users=100,inProgress=0.2` is the largest
//! tenant Graph allows with 10,000 users, 250,000 task processing results, 50,000 of them
//! from custom tasks and about 10,000 of those in progress.
use crate::clock;
use crate::model::*;

#[derive(Debug, Clone, PartialEq)]
pub struct GenerateSpec {
    pub workflows: usize,
    pub tasks: usize,
    pub custom_tasks: usize,
    pub users: usize,
    pub in_progress: f64,
    pub requests: usize,
    pub seed: u64,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        Self {
            workflows: 3,
            tasks: 4,
            custom_tasks: 1,
            users: 10,
            in_progress: 0.2,
            requests: 4,
            seed: 1,
        }
    }
}

impl std::str::FromStr for GenerateSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut spec = GenerateSpec::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("'{pair}' is not key=value"))?;
            let count = || {
                value
                    .parse::<usize>()
                    .map_err(|_| format!("'{key}' needs a whole number, not '{value}'"))
            };
            match key {
                "workflows" => spec.workflows = count()?,
                "tasks" => spec.tasks = count()?,
                "customTasks" => spec.custom_tasks = count()?,
                "users" => spec.users = count()?,
                "requests" => spec.requests = count()?,
                "seed" => spec.seed = count()? as u64,
                "inProgress" => {
                    spec.in_progress = value
                        .parse::<f64>()
                        .ok()
                        .filter(|p| (0.0..=1.0).contains(p))
                        .ok_or_else(|| format!("'inProgress' needs a share from 0 to 1, not '{value}'"))?
                }
                other => return Err(format!(
                    "unknown key '{other}' (expected workflows, tasks, customTasks, users, inProgress, requests, seed)"
                )),
            }
        }
        if spec.custom_tasks > spec.tasks {
            return Err(format!(
                "customTasks ({}) cannot exceed tasks ({})",
                spec.custom_tasks, spec.tasks
            ));
        }
        Ok(spec)
    }
}

/// A small deterministic generator (SplitMix64): the tenant must be reproducible from its
/// seed, and nothing else in the emulator needs randomness of this kind.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn guid(&mut self) -> String {
        let bits = (u128::from(self.next()) << 64) | u128::from(self.next());
        uuid::Builder::from_random_bytes(bits.to_be_bytes())
            .into_uuid()
            .to_string()
    }
}

const REGULAR_TASKS: [(&str, &str); 4] = [
    (
        "Enable User Account",
        "6fc52c9d-398b-4305-9763-15f42c1676fc",
    ),
    ("Add User To Groups", "22085229-5809-45e8-97fd-270d28d66910"),
    (
        "Remove all licenses for user",
        "8fa97d28-3e52-4985-b3a9-a1126f9b8b4e",
    ),
    (
        "Remove user from all Teams",
        "81f7b200-2816-4b3b-8c5d-dc556f07b024",
    ),
];
const TIMEOUTS: [&str; 3] = ["PT1H", "PT30M", "PT3H"];
const EM_STAGES: [&str; 2] = ["assignmentRequestCreated", "assignmentRequestApproved"];
/// The callback timeouts of the generated access package custom workflow extensions, one per stage.
const EM_TIMEOUTS: [&str; 2] = ["P1D", "PT4H"];
const REQUESTS_PER_PACKAGE: usize = 25;

pub fn generate(spec: &GenerateSpec) -> Tenant {
    let mut rng = SplitMix(spec.seed);
    let extensions: Vec<CustomTaskExtension> = (0..spec.custom_tasks.min(100))
        .map(|i| CustomTaskExtension {
            id: rng.guid(),
            display_name: format!("Custom extension {}", i + 1),
            timeout_duration: TIMEOUTS[i % TIMEOUTS.len()].to_string(),
            authorized_apps: Vec::new(),
            logic_app: None,
            authentication_type: String::new(),
        })
        .collect();
    let workflows = (0..spec.workflows)
        .map(|w| generate_workflow(spec, w, &extensions, &mut rng))
        .collect();
    let em = generate_entitlement_management(spec.requests, &mut rng);
    Tenant {
        workflows,
        custom_task_extensions: extensions,
        assignment_requests: em.requests,
        access_packages: em.packages,
        assignment_policies: em.policies,
        custom_workflow_extensions: em.extensions,
        catalogs: vec![Catalog {
            id: GENERAL_CATALOG_ID.into(),
            display_name: "General".into(),
        }],
        entitlement_role_assignments: Vec::new(),
        azure: Azure::default(),
        settings: None,
    }
}

/// The catalog of every generated access package custom extension: Entra's built-in one is
/// named General. A constant, so that generating it draws nothing from the seed.
pub const GENERAL_CATALOG_ID: &str = "3f7e9a1c-5b2d-4c6e-8a0f-1d2e3c4b5a69";

/// The subscription, resource group and tenant of [`deploy`]'s deployment.
pub const SUBSCRIPTION_ID: &str = "c500b67c-e9b7-4ad2-a90d-77d41385ae55";
pub const RESOURCE_GROUP: &str = "rg-resume";
pub const TENANT_ID: &str = "d3b1c2a0-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
/// The function app's system-assigned identity: object id, and the client id (appId) of its
/// service principal.
pub const APP_PRINCIPAL_ID: &str = "6f1d2c3b-4a59-4e8d-9c7b-1a2b3c4d5e6f";
pub const APP_CLIENT_ID: &str = "0e9a8b7c-6d5e-4f3a-8b1c-2d3e4f5a6b7c";

/// Azure Service Bus Data Sender, the role the template gives each starter on its queue.
pub const SERVICE_BUS_DATA_SENDER: &str = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39";

/// The object id of a starter's system-assigned identity (`lcw` or `em`).
pub fn starter_principal(kind: &str) -> String {
    match kind {
        "lcw" => "1a2b3c4d-0000-4000-8000-00000000a1c1".into(),
        _ => "1a2b3c4d-0000-4000-8000-00000000a1e1".into(),
    }
}

/// Entra's first-party callers, as the template's starters admit them.
pub const LIFECYCLE_WORKFLOWS_APP_ID: &str = "ce79fdc4-cd1d-4ea5-8139-e74d7dbe0bb7";
pub const ENTITLEMENT_MANAGEMENT_APP_ID: &str = "810dcf14-1858-4bf2-8134-4c369fa3235b";

/// A deployment of the template as infra/main.bicep makes it, healthy: the two starters
/// (SAS off, the AADPOP policy with every claim, enabled), the namespace with both queues
/// (50 deliveries, 5-minute lock, duplicate detection), the function app with the template's
/// settings; and the tenant's custom task extensions calling the Lifecycle Workflows starter,
/// with the app among their authorized apps.
pub fn deploy(tenant: &mut Tenant) {
    let starter = |kind: &str, caller: &str, queue: &str| {
        let name = format!("logic-resume-{kind}-a1b2c3");
        LogicApp {
            principal_id: starter_principal(kind),
            access_control: serde_json::json!({"triggers": {
                "sasAuthenticationPolicy": {"state": "Disabled"},
                "openAuthenticationPolicies": {"policies": {"EntraCaller": {
                    "type": "AADPOP",
                    "claims": [
                        {"name": "iss", "value": format!("https://sts.windows.net/{TENANT_ID}/")},
                        {"name": "appid", "value": caller},
                        {"name": "m", "value": "POST"},
                        {"name": "u", "value": "management.azure.com"},
                        {"name": "p", "value": format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Logic/workflows/{name}")},
                    ],
                }}},
            }}),
            parameters: serde_json::json!({
                "resumeQueueUrl": {"value": format!("https://sb-resume-a1b2c3.servicebus.windows.net/{queue}/messages")},
                "serviceBusAudience": {"value": "https://servicebus.azure.net"},
            }),
            // The trigger of infra/starters/*.json: a second guard that refuses a call
            // without a PoP token, which needs the Authorization header in its outputs.
            definition: serde_json::json!({"triggers": {"manual": {
                "type": "Request",
                "kind": "Http",
                "conditions": [{"expression": "@startsWith(coalesce(triggerOutputs()?['headers']?['Authorization'], ''), 'PoP ')"}],
                "operationOptions": "IncludeAuthorizationHeadersInOutputs",
            }}}),
            state: "Enabled".into(),
            tags: [(
                "purpose".to_string(),
                serde_json::json!("resume-handler callout starter"),
            )]
            .into_iter()
            .collect(),
            name,
        }
    };
    // Each starter may send to its own queue (Azure Service Bus Data Sender), as the
    // template assigns.
    let queue = |name: &str, starter: &str| ServiceBusQueue {
        role_assignments: vec![RoleAssignment {
            principal_id: starter_principal(starter),
            role: SERVICE_BUS_DATA_SENDER.into(),
        }],
        name: name.into(),
        max_delivery_count: 50,
        lock_duration: "PT5M".into(),
        requires_duplicate_detection: true,
        active_message_count: 0,
        dead_letter_message_count: 0,
    };
    let settings = [
        ("GRAPH_RETRY_BUDGET", "240s"),
        ("LIST_IN_PROGRESS_KINDS", "task,accessRequest"),
        ("RESUME_SOURCE", "resume-handler"),
        ("STALE_AFTER", "1h"),
    ];
    tenant.azure = Azure {
        tenant_id: TENANT_ID.into(),
        subscription_id: SUBSCRIPTION_ID.into(),
        resource_group: RESOURCE_GROUP.into(),
        logic_apps: vec![
            starter("lcw", LIFECYCLE_WORKFLOWS_APP_ID, "resume-task"),
            starter("em", ENTITLEMENT_MANAGEMENT_APP_ID, "resume-access-request"),
        ],
        namespaces: vec![ServiceBusNamespace {
            name: "sb-resume-a1b2c3".into(),
            queues: vec![
                queue("resume-task", "lcw"),
                queue("resume-access-request", "em"),
            ],
        }],
        function_apps: vec![FunctionApp {
            name: "func-resume-a1b2c3".into(),
            principal_id: APP_PRINCIPAL_ID.into(),
            client_id: APP_CLIENT_ID.into(),
            runtime: "custom".into(),
            // As the template grants them (grantGraphPermissions=true).
            graph_app_roles: vec![
                "LifecycleWorkflows.ReadWrite.All".into(),
                "EntitlementManagement.ReadWrite.All".into(),
            ],
            app_settings: settings
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }],
    };
    for extension in &mut tenant.custom_workflow_extensions {
        extension.logic_app = Some(LogicAppEndpoint {
            subscription_id: SUBSCRIPTION_ID.into(),
            resource_group_name: RESOURCE_GROUP.into(),
            logic_app_workflow_name: "logic-resume-em-a1b2c3".into(),
        });
    }
    for extension in &mut tenant.custom_task_extensions {
        extension.logic_app = Some(LogicAppEndpoint {
            subscription_id: SUBSCRIPTION_ID.into(),
            resource_group_name: RESOURCE_GROUP.into(),
            logic_app_workflow_name: "logic-resume-lcw-a1b2c3".into(),
        });
        extension.authorized_apps = vec![APP_CLIENT_ID.into()];
    }
}

struct EntitlementManagement {
    packages: Vec<AccessPackage>,
    policies: Vec<AssignmentPolicy>,
    extensions: Vec<WorkflowExtension>,
    requests: Vec<AssignmentRequest>,
}

/// `requests` assignment requests over one access package per [`REQUESTS_PER_PACKAGE`], each
/// package with a policy that runs a custom workflow extension at the created and the
/// approved stage.
fn generate_entitlement_management(requests: usize, rng: &mut SplitMix) -> EntitlementManagement {
    let extensions: Vec<WorkflowExtension> = EM_TIMEOUTS
        .iter()
        .enumerate()
        .map(|(i, timeout)| WorkflowExtension {
            id: rng.guid(),
            display_name: format!("Access check {}", i + 1),
            timeout_duration: timeout.to_string(),
            logic_app: None,
            authentication_type: String::new(),
            catalog_id: GENERAL_CATALOG_ID.into(),
        })
        .collect();
    let packages: Vec<AccessPackage> = (0..requests.div_ceil(REQUESTS_PER_PACKAGE))
        .map(|i| AccessPackage {
            id: rng.guid(),
            display_name: format!("Access package {}", i + 1),
        })
        .collect();
    let policies = packages
        .iter()
        .map(|package| AssignmentPolicy {
            id: rng.guid(),
            display_name: "Employees with a custom check".into(),
            access_package_id: package.id.clone(),
            custom_extension_stage_settings: EM_STAGES
                .iter()
                .zip(&extensions)
                .map(|(stage, extension)| StageSetting {
                    id: rng.guid(),
                    stage: stage.to_string(),
                    custom_extension_id: extension.id.clone(),
                })
                .collect(),
        })
        .collect();
    let requests = (0..requests)
        .map(|i| {
            let package = &packages[i / REQUESTS_PER_PACKAGE];
            generate_request(i, package, &extensions, rng)
        })
        .collect();
    EntitlementManagement {
        packages,
        policies,
        extensions,
        requests,
    }
}

fn generate_workflow(
    spec: &GenerateSpec,
    index: usize,
    extensions: &[CustomTaskExtension],
    rng: &mut SplitMix,
) -> Workflow {
    let id = rng.guid();
    let category = if index.is_multiple_of(2) {
        "leaver"
    } else {
        "joiner"
    };
    let tasks: Vec<Task> = (0..spec.tasks)
        .map(|t| {
            let custom = t < spec.custom_tasks;
            let (name, definition) = if custom {
                ("Run a custom task extension", CUSTOM_TASK_DEFINITION_ID)
            } else {
                REGULAR_TASKS[t % REGULAR_TASKS.len()]
            };
            Task {
                id: rng.guid(),
                display_name: if custom {
                    format!("{name} {}", t + 1)
                } else {
                    name.to_string()
                },
                description: None,
                category: category.to_string(),
                task_definition_id: definition.to_string(),
                execution_sequence: t as u32 + 1,
                is_enabled: true,
                continue_on_error: false,
                arguments: match extensions.get(t).filter(|_| custom) {
                    Some(ext) => vec![TaskArgument {
                        name: "customTaskExtensionID".into(),
                        value: ext.id.clone(),
                    }],
                    None => Vec::new(),
                },
            }
        })
        .collect();
    let ticks = 638_000_000_000_000_000u64 + rng.next() % 1_000_000_000;
    let run_id = format!("{}_{ticks}", rng.guid());
    let started = clock::ago(4 * 3600);
    let user_processing_results = (0..spec.users)
        .map(|_| {
            let subject_id = rng.guid();
            let task_processing_results: Vec<TaskProcessingResult> = tasks
                .iter()
                .map(|task| {
                    let waiting = task.is_custom_extension() && rng.unit() < spec.in_progress;
                    let started_ago = (rng.next() % (3 * 3600)) as i64 + 5;
                    TaskProcessingResult {
                        id: rng.guid(),
                        task_id: task.id.clone(),
                        processing_status: if waiting { "inProgress" } else { "completed" }.into(),
                        created_date_time: Some(clock::ago(started_ago + 1)),
                        started_date_time: Some(clock::ago(started_ago)),
                        completed_date_time: (!waiting).then(|| clock::ago(started_ago - 1)),
                        failure_reason: None,
                        resumes: Vec::new(),
                    }
                })
                .collect();
            let waiting = task_processing_results
                .iter()
                .any(|r| r.processing_status == "inProgress");
            UserProcessingResult {
                id: format!("{id}_1_{id}_{ticks}_{subject_id}"),
                run_id: run_id.clone(),
                subject_id,
                processing_status: if waiting { "inProgress" } else { "completed" }.into(),
                started_date_time: Some(started.clone()),
                completed_date_time: None,
                task_processing_results,
            }
        })
        .collect();
    Workflow {
        id,
        display_name: format!(
            "{} workflow {}",
            if index.is_multiple_of(2) {
                "Leaver"
            } else {
                "Joiner"
            },
            index + 1
        ),
        description: None,
        category: category.into(),
        version: 1,
        tasks,
        runs: vec![Run {
            id: run_id,
            started_date_time: Some(started),
            completed_date_time: None,
            processing_status: "inProgress".into(),
        }],
        user_processing_results,
    }
}

fn generate_request(
    index: usize,
    package: &AccessPackage,
    extensions: &[WorkflowExtension],
    rng: &mut SplitMix,
) -> AssignmentRequest {
    let waiting = index.is_multiple_of(2);
    let stage_index = (index / 2) % EM_STAGES.len();
    // Waiting from 10 minutes to about 5 hours: most fresh, some stale.
    let created_ago = 600 + (rng.next() % (5 * 3600)) as i64;
    AssignmentRequest {
        id: rng.guid(),
        status: if waiting {
            "WaitingForCallback"
        } else {
            "Delivered"
        }
        .into(),
        state: if waiting { "submitted" } else { "delivered" }.into(),
        request_type: "userAdd".into(),
        created_date_time: Some(clock::ago(created_ago)),
        // A delivered request ended a few minutes after it was made.
        completed_date_time: (!waiting).then(|| clock::ago(created_ago - 300)),
        access_package_id: package.id.clone(),
        target: Subject {
            object_id: rng.guid(),
            display_name: format!("User {}", index + 1),
        },
        custom_extension_callout_instances: vec![CalloutInstance {
            id: rng.guid(),
            custom_extension_id: extensions[stage_index].id.clone(),
            stage: EM_STAGES[stage_index].into(),
            status: if waiting {
                "waitingForCallback"
            } else {
                "callbackReceived"
            }
            .into(),
            detail: None,
            external_correlation_id: Some(rng.guid()),
        }],
        resumes: Vec::new(),
    }
}

/// The tenant `graph-emulator` serves by default, and the one the README's local run uses:
/// three workflows with custom task extension tasks, results in every processing status
/// (about ten in progress, over more than one page at page size 5), and assignment requests
/// both waiting for a callback and finished.
pub fn demo() -> Tenant {
    let mut tenant = generate(&GenerateSpec {
        workflows: 3,
        tasks: 4,
        custom_tasks: 2,
        users: 6,
        in_progress: 0.0,
        requests: 4,
        seed: 2026,
    });
    let statuses = [
        "inProgress",
        "completed",
        "failed",
        "inProgress",
        "queued",
        "canceled",
        "completedWithErrors",
    ];
    let mut n = 0;
    for workflow in &mut tenant.workflows {
        for upr in &mut workflow.user_processing_results {
            for result in &mut upr.task_processing_results {
                if workflow
                    .tasks
                    .iter()
                    .any(|t| t.id == result.task_id && t.is_custom_extension())
                {
                    let status = statuses[n % statuses.len()];
                    n += 1;
                    result.processing_status = status.into();
                    if status == "inProgress" || status == "queued" {
                        result.completed_date_time = None;
                        // Waiting from 5 minutes to about 1.5 hours: most fresh, some stale.
                        result.started_date_time = Some(clock::ago(300 + n as i64 * 150));
                    }
                    if status == "failed" {
                        result.failure_reason =
                            Some("The custom task extension did not answer in time.".into());
                    }
                }
            }
            let waiting = upr
                .task_processing_results
                .iter()
                .any(|r| r.processing_status == "inProgress");
            upr.processing_status = if waiting { "inProgress" } else { "completed" }.into();
        }
    }
    tenant.workflows[0].display_name = "Leaver: offboarding with HR sign-off".into();
    tenant.workflows[1].display_name = "Joiner: provision with ticket".into();
    tenant.workflows[2].display_name = "Leaver: legal hold check".into();
    // A healthy deployment, for `resume-handler doctor` against devhost.
    deploy(&mut tenant);
    tenant
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_parses_every_key_and_refuses_unknown_ones() {
        let spec: GenerateSpec =
            "workflows=100,tasks=25,customTasks=5,users=100,inProgress=0.2,requests=0,seed=9"
                .parse()
                .unwrap();
        assert_eq!(
            (spec.workflows, spec.tasks, spec.custom_tasks, spec.users),
            (100, 25, 5, 100)
        );
        assert_eq!(spec.seed, 9);
        assert!("colour=red"
            .parse::<GenerateSpec>()
            .unwrap_err()
            .contains("colour"));
        assert!("inProgress=2".parse::<GenerateSpec>().is_err());
        assert!("tasks=2,customTasks=3".parse::<GenerateSpec>().is_err());
    }

    #[test]
    fn the_same_spec_gives_the_same_tenant() {
        let spec: GenerateSpec = "workflows=2,users=5,inProgress=0.5".parse().unwrap();
        let a = serde_json::to_string(&generate(&spec).workflows[1].tasks).unwrap();
        let b = serde_json::to_string(&generate(&spec).workflows[1].tasks).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn in_progress_one_makes_every_custom_task_result_resumable() {
        let spec: GenerateSpec = "workflows=2,tasks=3,customTasks=2,users=4,inProgress=1"
            .parse()
            .unwrap();
        let tenant = generate(&spec);
        let waiting = tenant
            .workflows
            .iter()
            .flat_map(|w| &w.user_processing_results)
            .flat_map(|u| &u.task_processing_results)
            .filter(|r| r.processing_status == "inProgress")
            .count();
        assert_eq!(waiting, 2 * 2 * 4);
    }

    #[test]
    fn the_demo_tenant_has_waiting_and_finished_work_of_both_kinds() {
        let tenant = demo();
        let statuses: std::collections::BTreeSet<&str> = tenant
            .workflows
            .iter()
            .flat_map(|w| &w.user_processing_results)
            .flat_map(|u| &u.task_processing_results)
            .map(|r| r.processing_status.as_str())
            .collect();
        for status in [
            "inProgress",
            "completed",
            "failed",
            "queued",
            "canceled",
            "completedWithErrors",
        ] {
            assert!(statuses.contains(status), "{status} missing");
        }
        assert!(tenant
            .assignment_requests
            .iter()
            .any(|r| r.status == "WaitingForCallback"));
        assert!(tenant
            .assignment_requests
            .iter()
            .any(|r| r.status == "Delivered"));
    }
}
