//! Asking Graph which Lifecycle Workflows tasks wait: workflows, then each workflow's custom
//! tasks, then each custom task's waiting results, then each extension's callback timeout,
//! `GRAPH_MAX_CONCURRENCY` requests at a time. Each stage keeps what finished before the
//! call's deadline, so a sweep cut short still reports everything it learnt.
//!
//! The path through Graph is chosen by call count. Only "Run a custom task extension"
//! tasks can wait, and `…/tasks/{t}/taskProcessingResults` filters server-side on
//! `processingStatus`, so the sweep costs one call for the workflows, one per workflow for
//! its tasks, and one per custom task (plus one per extra page of waiting results): for
//! 100 workflows with 5 custom tasks each, about 600 calls. Walking userProcessingResults
//! instead costs a call per user per workflow, 10,000 for the same tenant.
use super::build::{parse_date, SweepError};
use super::{bounded_name, concurrently_within, listed_id, within};
use crate::app::App;
use crate::command::{Kind, ResourceId};
use crate::graph::models::{
    CustomExtension, ProcessingStatus, Task, TaskProcessingResult, Workflow,
};
use crate::graph::{reads, Call, GraphClient, GraphFailure, GraphPath};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const WORKFLOWS: &str = "identityGovernance/lifecycleWorkflows/workflows";
const SELECT_WORKFLOW: &str = "$select=id,displayName";

/// A workflow being swept: its id, safe to put in a path, and its name (shared by every
/// item of the workflow).
pub(super) struct SweptWorkflow {
    pub(super) id: ResourceId,
    pub(super) name: Arc<str>,
}

/// A "Run a custom task extension" task, with the workflow it belongs to.
pub(super) struct CustomTask {
    pub(super) workflow: Arc<SweptWorkflow>,
    pub(super) id: ResourceId,
    pub(super) name: Arc<str>,
    pub(super) extension_id: Option<String>,
}

/// A waiting result, with the task it belongs to.
pub(super) struct Found {
    pub(super) task: Arc<CustomTask>,
    pub(super) result: TaskProcessingResult,
}

/// What the sweep learnt, owned; read as it is when the deadline ends the sweep.
#[derive(Default)]
pub(super) struct Gathered {
    pub(super) workflows: Vec<Arc<SweptWorkflow>>,
    pub(super) tasks: Vec<Arc<CustomTask>>,
    pub(super) found: Vec<Found>,
    /// Callback timeouts by extension id.
    pub(super) timeouts: BTreeMap<String, Duration>,
    pub(super) errors: Vec<SweepError>,
    /// The deadline came before every request was answered.
    pub(super) cut_short: bool,
}

impl Gathered {
    fn failed(&mut self, workflow: Option<&ResourceId>, failure: &GraphFailure) {
        let workflow_id = workflow.map(ResourceId::as_str);
        self.errors
            .push(SweepError::new(Kind::Task, workflow_id, failure));
    }
}

/// Which task processing results a sweep is after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wanted {
    /// Those that wait for a callback (`inProgress`), with their extensions' timeouts.
    Waiting,
    /// Those that failed (Entra ended them, often at the callback timeout) at or after this.
    FailedSince(OffsetDateTime),
}

/// Sweeps the tenant's waiting task processing results, stage by stage, until `call`'s
/// deadline.
pub(super) async fn gather(app: &App, call: &Call) -> Gathered {
    gather_results(app, call, Wanted::Waiting).await
}

/// Sweeps the tenant for the task processing results `wanted`, stage by stage, until
/// `call`'s deadline.
pub(super) async fn gather_results(app: &App, call: &Call, wanted: Wanted) -> Gathered {
    let mut g = Gathered::default();
    let graph = match app.graph().await {
        Ok(graph) => graph,
        Err(failure) => {
            g.failed(None, &failure);
            return g;
        }
    };
    let sweep = Sweep {
        graph,
        call,
        width: app.settings.graph.max_concurrency,
    };
    // After a sweep that just listed them, the look-back for what slipped asks for results
    // only.
    let listed = match wanted {
        Wanted::FailedSince(_) => TaskListing::recent(app),
        Wanted::Waiting => None,
    };
    match listed {
        Some(tasks) => g.tasks = tasks,
        None => {
            match &app.settings.report.workflow_ids {
                None => sweep.all_workflows(&mut g).await,
                Some(ids) => sweep.named_workflows(&mut g, ids).await,
            }
            sweep.custom_tasks(&mut g).await;
            if g.errors.is_empty() && !g.cut_short {
                TaskListing::keep(app, &g.tasks);
            }
        }
    }
    sweep.results(&mut g, wanted).await;
    if wanted == Wanted::Waiting {
        sweep.callback_timeouts(&mut g).await;
    }
    g
}

/// Every custom task a complete sweep listed (each workflow read, each workflow's tasks
/// read), and when. The timer's look-back for what slipped follows its sweep of what waits
/// within seconds, and takes the tasks from it rather than from Graph again: on a tenant of
/// 100 workflows that saves 101 requests a sweep.
pub struct TaskListing {
    at: Instant,
    tasks: Vec<Arc<CustomTask>>,
}

/// How long a listing of the custom tasks stands for Graph's: the time between the sweep of
/// what waits and the look-back that follows it, with room for a slow sweep's end.
const TASK_LISTING_REUSE: Duration = Duration::from_secs(60);

impl TaskListing {
    /// The tasks listed within [`TASK_LISTING_REUSE`], if any.
    fn recent(app: &App) -> Option<Vec<Arc<CustomTask>>> {
        let listing = app.listed_tasks.lock().expect("not poisoned");
        listing
            .as_ref()
            .filter(|l| l.at.elapsed() <= TASK_LISTING_REUSE)
            .map(|l| l.tasks.clone())
    }

    fn keep(app: &App, tasks: &[Arc<CustomTask>]) {
        *app.listed_tasks.lock().expect("not poisoned") = Some(TaskListing {
            at: Instant::now(),
            tasks: tasks.to_vec(),
        });
    }
}

/// The workflows that run each custom task extension: for `doctor`, which names the
/// workflows an extension's misconfiguration stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionUse {
    /// The names of the workflows with a task that calls the extension, by its id.
    pub workflows: BTreeMap<String, BTreeSet<Arc<str>>>,
    /// Every workflow and every workflow's tasks were read.
    pub complete: bool,
}

/// Every workflow of the tenant (whatever `LIST_IN_PROGRESS_WORKFLOW_IDS` says) and its
/// custom tasks, by the extension each calls: the sweep's first two stages.
pub async fn extension_use(app: &App, call: &Call) -> ExtensionUse {
    let mut g = Gathered::default();
    let Ok(graph) = app.graph().await else {
        return ExtensionUse::default();
    };
    let sweep = Sweep {
        graph,
        call,
        width: app.settings.graph.max_concurrency,
    };
    sweep.all_workflows(&mut g).await;
    sweep.custom_tasks(&mut g).await;
    let mut used = ExtensionUse {
        complete: g.errors.is_empty() && !g.cut_short,
        ..ExtensionUse::default()
    };
    for task in &g.tasks {
        if let Some(extension) = &task.extension_id {
            used.workflows
                .entry(extension.clone())
                .or_default()
                .insert(Arc::clone(&task.workflow.name));
        }
    }
    used
}

/// One sweep's way to Graph: the client, the call (its deadline and budget), and how many
/// requests may be in flight.
struct Sweep<'a> {
    graph: &'a GraphClient,
    call: &'a Call,
    width: usize,
}

impl Sweep<'_> {
    /// Every workflow of the tenant, in one listing.
    async fn all_workflows(&self, g: &mut Gathered) {
        let listed = within(self.call.deadline(), list_workflows(self.graph, self.call)).await;
        match listed {
            None => g.cut_short = true,
            Some(Err(failure)) => g.failed(None, &failure),
            Some(Ok(workflows)) => {
                for workflow in workflows {
                    match listed_id(workflow.id.as_deref()) {
                        Ok(id) => g.workflows.push(Arc::new(SweptWorkflow {
                            id,
                            name: shared_name(workflow.display_name.as_deref()),
                        })),
                        Err(failure) => {
                            let id = workflow.id.as_deref().unwrap_or_default().to_string();
                            g.errors
                                .push(SweepError::new(Kind::Task, Some(&id), &failure));
                        }
                    }
                }
            }
        }
    }

    /// The workflows the settings name, read side by side, in the settings' order: one that
    /// cannot be read (a deleted workflow, a 403) is an error naming it, and the others are
    /// swept.
    async fn named_workflows(&self, g: &mut Gathered, ids: &[ResourceId]) {
        let (graph, call) = (self.graph, self.call);
        let mut read = concurrently_within(
            call.deadline(),
            self.width,
            ids.iter().cloned().enumerate(),
            |(position, id)| async move {
                let workflow = one_workflow(graph, call, &id).await;
                NamedWorkflow {
                    position,
                    id,
                    workflow,
                }
            },
        )
        .await;
        g.cut_short |= read.len() < ids.len();
        read.sort_by_key(|named| named.position);
        for named in read {
            match named.workflow {
                Ok(workflow) => g.workflows.push(Arc::new(SweptWorkflow {
                    id: named.id,
                    name: shared_name(workflow.display_name.as_deref()),
                })),
                Err(failure) => g.failed(Some(&named.id), &failure),
            }
        }
    }

    /// Each workflow's "Run a custom task extension" tasks.
    async fn custom_tasks(&self, g: &mut Gathered) {
        let (graph, call) = (self.graph, self.call);
        // Each stage works on owned handles: the futures must be Send, with no borrow of `g`.
        let workflows = g.workflows.clone();
        let listed = concurrently_within(
            call.deadline(),
            self.width,
            workflows,
            |workflow| async move {
                let tasks = custom_tasks(graph, call, &workflow.id).await;
                (workflow, tasks)
            },
        )
        .await;
        g.cut_short |= listed.len() < g.workflows.len();
        for (workflow, tasks) in listed {
            match tasks {
                Ok(tasks) => g.tasks.extend(tasks.into_iter().map(|task| {
                    Arc::new(CustomTask {
                        workflow: Arc::clone(&workflow),
                        id: task.id,
                        name: task.name,
                        extension_id: task.extension_id,
                    })
                })),
                Err(failure) => g.failed(Some(&workflow.id), &failure),
            }
        }
    }

    /// Each custom task's results that are `wanted`; one error per workflow, however many
    /// of its tasks failed.
    async fn results(&self, g: &mut Gathered, wanted: Wanted) {
        let (graph, call) = (self.graph, self.call);
        let tasks = g.tasks.clone();
        let listed = concurrently_within(call.deadline(), self.width, tasks, |task| async move {
            let results = results(graph, call, &task.workflow.id, &task.id, wanted).await;
            (task, results)
        })
        .await;
        g.cut_short |= listed.len() < g.tasks.len();
        let mut failed_workflows = BTreeSet::new();
        for (task, results) in listed {
            match results {
                Ok(results) => g.found.extend(results.into_iter().map(|result| Found {
                    task: Arc::clone(&task),
                    result,
                })),
                Err(failure) => {
                    if failed_workflows.insert(task.workflow.id.clone()) {
                        g.failed(Some(&task.workflow.id), &failure);
                    }
                }
            }
        }
    }

    /// The callback timeout of each extension a waiting result's task calls.
    async fn callback_timeouts(&self, g: &mut Gathered) {
        let (graph, call) = (self.graph, self.call);
        let extensions: BTreeSet<String> = g
            .found
            .iter()
            .filter_map(|found| found.task.extension_id.clone())
            .collect();
        let wanted = extensions.len();
        let read = concurrently_within(call.deadline(), self.width, extensions, |id| async move {
            let timeout = callback_timeout(graph, call, &id).await;
            (id, timeout)
        })
        .await;
        g.cut_short |= read.len() < wanted;
        g.timeouts = read
            .into_iter()
            .filter_map(|(id, timeout)| Some((id, timeout?)))
            .collect();
    }
}

/// A workflow the settings name, as read, with its place in the setting.
struct NamedWorkflow {
    position: usize,
    id: ResourceId,
    workflow: Result<Workflow, GraphFailure>,
}

/// A custom task as listed: its id, name and extension.
struct ListedTask {
    id: ResourceId,
    name: Arc<str>,
    extension_id: Option<String>,
}

/// A name from Graph, bounded, to be shared by every item that shows it.
fn shared_name(name: Option<&str>) -> Arc<str> {
    Arc::from(bounded_name(name).unwrap_or_default())
}

/// Every workflow: id and name.
async fn list_workflows(graph: &GraphClient, call: &Call) -> Result<Vec<Workflow>, GraphFailure> {
    let mut url = graph.url(&GraphPath::new().words(WORKFLOWS));
    url.set_query(Some(SELECT_WORKFLOW));
    graph.list(call, url).await
}

/// One workflow the settings name: id and name.
async fn one_workflow(
    graph: &GraphClient,
    call: &Call,
    id: &ResourceId,
) -> Result<Workflow, GraphFailure> {
    let mut url = graph.url(&GraphPath::new().words(WORKFLOWS).id(id));
    url.set_query(Some(SELECT_WORKFLOW));
    graph.get(call, url).await?.json()
}

/// A workflow's "Run a custom task extension" tasks.
async fn custom_tasks(
    graph: &GraphClient,
    call: &Call,
    workflow: &ResourceId,
) -> Result<Vec<ListedTask>, GraphFailure> {
    let mut url = graph.url(
        &GraphPath::new()
            .words(WORKFLOWS)
            .id(workflow)
            .words("tasks"),
    );
    url.set_query(Some("$select=id,displayName,taskDefinitionId,arguments"));
    let tasks: Vec<Task> = graph.list(call, url).await?;
    tasks
        .iter()
        .filter(|t| t.is_custom_extension())
        .map(|t| {
            Ok(ListedTask {
                id: listed_id(t.id.as_deref())?,
                name: shared_name(t.display_name.as_deref()),
                extension_id: t.extension_id().map(str::to_string),
            })
        })
        .collect()
}

/// A custom task's results that are `wanted`, filtered by status on Graph's side (the
/// documented `processingStatus` filter). Graph documents no filter on when a result
/// completed, so a window is applied here, to the failed results as they come.
async fn results(
    graph: &GraphClient,
    call: &Call,
    workflow: &ResourceId,
    task: &ResourceId,
    wanted: Wanted,
) -> Result<Vec<TaskProcessingResult>, GraphFailure> {
    let path = GraphPath::new()
        .words(WORKFLOWS)
        .id(workflow)
        .words("tasks")
        .id(task)
        .words("taskProcessingResults");
    let mut url = graph.url(&path);
    let (status, select) = match wanted {
        Wanted::Waiting => (
            ProcessingStatus::InProgress,
            "id,processingStatus,startedDateTime,subject",
        ),
        Wanted::FailedSince(_) => (
            ProcessingStatus::Failed,
            "id,processingStatus,startedDateTime,completedDateTime,failureReason,subject",
        ),
    };
    // Written out rather than form-encoded: spaces as %20, as Graph's own examples send them.
    url.set_query(Some(&format!(
        "$filter=processingStatus%20eq%20'{}'&$select={select}",
        status.as_str()
    )));
    let results: Vec<TaskProcessingResult> = graph.list(call, url).await?;
    // The filter is Graph's; checking again costs nothing and guards against a server that ignores it.
    Ok(results
        .into_iter()
        .filter(|r| *r.processing_status == Some(status.clone()))
        .filter(|r| match wanted {
            Wanted::Waiting => true,
            Wanted::FailedSince(since) => r
                .completed_date_time
                .as_deref()
                .and_then(parse_date)
                .is_some_and(|at| at >= since),
        })
        .collect())
}

/// The extension's callback timeout, when it can be read.
async fn callback_timeout(graph: &GraphClient, call: &Call, extension: &str) -> Option<Duration> {
    let id = ResourceId::parse_str("customTaskExtensionID", extension).ok()?;
    let url = graph.url(&GraphPath::new().words(reads::TASK_EXTENSIONS).id(&id));
    let extension: CustomExtension = graph.get(call, url).await.ok()?.json().ok()?;
    extension.callback_timeout()
}
