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
use super::build::SweepError;
use super::{before, bounded_name, each, listed_id};
use crate::app::App;
use crate::command::{Kind, ResourceId};
use crate::graph::models::{
    CustomExtension, ProcessingStatus, Task, TaskProcessingResult, Workflow,
};
use crate::graph::{Call, GraphClient, GraphFailure, GraphPath};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const WORKFLOWS: &str = "identityGovernance/lifecycleWorkflows/workflows";
const SELECT_WORKFLOW: &str = "$select=id,displayName";

/// A workflow being swept: its id, safe to put in a path, and its name.
pub(super) struct SweptWorkflow {
    pub(super) id: ResourceId,
    pub(super) name: String,
}

/// A "Run a custom task extension" task, with the workflow it belongs to.
pub(super) struct CustomTask {
    pub(super) workflow: usize,
    pub(super) id: ResourceId,
    pub(super) name: String,
    pub(super) extension_id: Option<String>,
}

/// A waiting result, with the task it belongs to.
pub(super) struct Found {
    pub(super) task: usize,
    pub(super) result: TaskProcessingResult,
}

/// What the sweep learnt, owned; read as it is when the deadline ends the sweep.
#[derive(Default)]
pub(super) struct Gathered {
    pub(super) workflows: Vec<SweptWorkflow>,
    pub(super) tasks: Vec<CustomTask>,
    pub(super) found: Vec<Found>,
    /// Callback timeouts by extension id.
    pub(super) timeouts: BTreeMap<String, Duration>,
    pub(super) errors: Vec<SweepError>,
    /// The deadline came before every request was answered.
    pub(super) cut_short: bool,
}

pub(super) async fn gather(app: &App, call: &Call) -> Gathered {
    let mut g = Gathered::default();
    let deadline = call.deadline();
    let width = app.settings.graph.max_concurrency;
    let graph = match app.graph().await {
        Ok(graph) => graph,
        Err(failure) => {
            g.errors.push(error(None, &failure));
            return g;
        }
    };
    match &app.settings.report.workflow_ids {
        None => match before(deadline, all_workflows(graph, call)).await {
            None => {
                g.cut_short = true;
                return g;
            }
            Some(Err(failure)) => {
                g.errors.push(error(None, &failure));
                return g;
            }
            Some(Ok(workflows)) => {
                for workflow in workflows {
                    match listed_id(workflow.id.as_deref()) {
                        Ok(id) => g.workflows.push(SweptWorkflow {
                            id,
                            name: bounded_name(workflow.display_name.as_deref())
                                .unwrap_or_default(),
                        }),
                        Err(failure) => g.errors.push(error(workflow.id.as_deref(), &failure)),
                    }
                }
            }
        },
        // The workflows the settings name, read side by side: one that cannot be read (a
        // deleted workflow, a 403) is an error naming it, and the others are swept.
        Some(ids) => {
            let mut read = each(
                deadline,
                width,
                ids.iter().cloned().enumerate(),
                |(n, id)| async move {
                    let workflow = one_workflow(graph, call, &id).await;
                    (n, id, workflow)
                },
            )
            .await;
            g.cut_short |= read.len() < ids.len();
            read.sort_by_key(|(n, _, _)| *n);
            for (_, id, workflow) in read {
                match workflow {
                    Ok(workflow) => g.workflows.push(SweptWorkflow {
                        id,
                        name: bounded_name(workflow.display_name.as_deref()).unwrap_or_default(),
                    }),
                    Err(failure) => g.errors.push(error(Some(id.as_str()), &failure)),
                }
            }
        }
    }

    // Each stage works on owned ids: the futures must be Send, with no borrow of `g`.
    let ids: Vec<ResourceId> = g.workflows.iter().map(|w| w.id.clone()).collect();
    let listed = each(
        deadline,
        width,
        ids.into_iter().enumerate(),
        |(w, id)| async move { (w, custom_tasks(graph, call, &id).await) },
    )
    .await;
    g.cut_short |= listed.len() < g.workflows.len();
    for (w, tasks) in listed {
        match tasks {
            Ok(tasks) => {
                g.tasks.extend(
                    tasks
                        .into_iter()
                        .map(|(id, name, extension_id)| CustomTask {
                            workflow: w,
                            id,
                            name,
                            extension_id,
                        }),
                )
            }
            Err(failure) => g
                .errors
                .push(error(Some(g.workflows[w].id.as_str()), &failure)),
        }
    }

    let ids: Vec<(ResourceId, ResourceId)> = g
        .tasks
        .iter()
        .map(|t| (g.workflows[t.workflow].id.clone(), t.id.clone()))
        .collect();
    let listed =
        each(
            deadline,
            width,
            ids.into_iter().enumerate(),
            |(t, (workflow, task))| async move {
                (t, waiting_results(graph, call, &workflow, &task).await)
            },
        )
        .await;
    g.cut_short |= listed.len() < g.tasks.len();
    let mut failed_workflows = BTreeSet::new();
    for (t, results) in listed {
        match results {
            Ok(results) => g
                .found
                .extend(results.into_iter().map(|result| Found { task: t, result })),
            // One error per workflow, however many of its tasks failed.
            Err(failure) => {
                let workflow = g.tasks[t].workflow;
                if failed_workflows.insert(workflow) {
                    g.errors
                        .push(error(Some(g.workflows[workflow].id.as_str()), &failure));
                }
            }
        }
    }

    let extensions: BTreeSet<String> = g
        .found
        .iter()
        .filter_map(|f| g.tasks[f.task].extension_id.clone())
        .collect();
    let wanted = extensions.len();
    let read = each(deadline, width, extensions, |id| async move {
        let timeout = callback_timeout(graph, call, &id).await;
        (id, timeout)
    })
    .await;
    g.cut_short |= read.len() < wanted;
    g.timeouts = read
        .into_iter()
        .filter_map(|(id, timeout)| Some((id, timeout?)))
        .collect();
    g
}

fn error(workflow_id: Option<&str>, failure: &GraphFailure) -> SweepError {
    SweepError::new(Kind::Task, workflow_id, failure)
}

/// Every workflow: id and name.
async fn all_workflows(graph: &GraphClient, call: &Call) -> Result<Vec<Workflow>, GraphFailure> {
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

/// A workflow's "Run a custom task extension" tasks: id, name, extension id.
async fn custom_tasks(
    graph: &GraphClient,
    call: &Call,
    workflow: &ResourceId,
) -> Result<Vec<(ResourceId, String, Option<String>)>, GraphFailure> {
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
            Ok((
                listed_id(t.id.as_deref())?,
                bounded_name(t.display_name.as_deref()).unwrap_or_default(),
                t.extension_id().map(str::to_string),
            ))
        })
        .collect()
}

async fn waiting_results(
    graph: &GraphClient,
    call: &Call,
    workflow: &ResourceId,
    task: &ResourceId,
) -> Result<Vec<TaskProcessingResult>, GraphFailure> {
    let path = GraphPath::new()
        .words(WORKFLOWS)
        .id(workflow)
        .words("tasks")
        .id(task)
        .words("taskProcessingResults");
    let mut url = graph.url(&path);
    url.set_query(Some("$filter=processingStatus%20eq%20'inProgress'&$select=id,processingStatus,startedDateTime,subject"));
    let results: Vec<TaskProcessingResult> = graph.list(call, url).await?;
    // The filter is Graph's; checking again costs nothing and guards against a server that ignores it.
    Ok(results
        .into_iter()
        .filter(|r| r.processing_status == Some(ProcessingStatus::InProgress))
        .collect())
}

/// The extension's callback timeout, when it can be read.
async fn callback_timeout(graph: &GraphClient, call: &Call, extension: &str) -> Option<Duration> {
    let id = ResourceId::parse_str("customTaskExtensionID", extension).ok()?;
    let url = graph.url(
        &GraphPath::new()
            .words("identityGovernance/lifecycleWorkflows/customTaskExtensions")
            .id(&id),
    );
    let extension: CustomExtension = graph.get(call, url).await.ok()?.json().ok()?;
    extension.callback_timeout()
}
