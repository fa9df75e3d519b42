//! Asking Graph what waits: workflows, then each workflow's custom tasks, then each custom
//! task's waiting results, then each extension's callback timeout, `GRAPH_MAX_CONCURRENCY`
//! requests at a time. Each stage keeps what finished before the call's deadline, so a
//! sweep cut short still reports everything it learnt.
use super::report::SweepError;
use crate::app::App;
use crate::domain::ResourceId;
use crate::graph::models::{CustomTaskExtension, Task, TaskProcessingResult, Workflow};
use crate::graph::{Call, GraphClient, GraphFailure, GraphPath};
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::{Duration, Instant};
use url::Url;

const WORKFLOWS: &str = "identityGovernance/lifecycleWorkflows/workflows";

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
    let width = app.settings.max_concurrency;
    let graph = match app.graph().await {
        Ok(graph) => graph,
        Err(failure) => {
            g.errors.push(SweepError::new(None, &failure));
            return g;
        }
    };
    let workflows = list_workflows(app, graph, call);
    match tokio::time::timeout_at(deadline.into(), workflows).await {
        Err(_) => {
            g.cut_short = true;
            return g;
        }
        Ok(Err(failure)) => {
            g.errors.push(SweepError::new(None, &failure));
            return g;
        }
        Ok(Ok(workflows)) => {
            for workflow in workflows {
                match listed_id(workflow.id.as_deref()) {
                    Ok(id) => g.workflows.push(SweptWorkflow {
                        id,
                        name: workflow.display_name.unwrap_or_default(),
                    }),
                    Err(failure) => g
                        .errors
                        .push(SweepError::new(workflow.id.as_deref(), &failure)),
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
                .push(SweepError::new(Some(g.workflows[w].id.as_str()), &failure)),
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
                    g.errors.push(SweepError::new(
                        Some(g.workflows[workflow].id.as_str()),
                        &failure,
                    ));
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

/// Runs `work` on each item, `width` at a time, and returns what finished before `deadline`.
async fn each<I, F, Fut>(deadline: Instant, width: usize, items: I, work: F) -> Vec<Fut::Output>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future,
{
    stream::iter(items)
        .map(work)
        .buffer_unordered(width)
        .take_until(tokio::time::sleep_until(deadline.into()))
        .collect()
        .await
}

async fn list_workflows(
    app: &App,
    graph: &GraphClient,
    call: &Call,
) -> Result<Vec<Workflow>, GraphFailure> {
    let select = |mut url: Url| {
        url.set_query(Some("$select=id,displayName"));
        url
    };
    match &app.settings.list_workflow_ids {
        None => {
            let url = select(graph.url(&GraphPath::new().words(WORKFLOWS)));
            graph.list(call, url).await
        }
        Some(ids) => {
            let mut workflows = Vec::with_capacity(ids.len());
            for id in ids {
                let url = select(graph.url(&GraphPath::new().words(WORKFLOWS).id(id)));
                workflows.push(graph.get(call, url).await?.json()?);
            }
            Ok(workflows)
        }
    }
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
                t.display_name.clone().unwrap_or_default(),
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
        .filter(|r| r.processing_status.as_deref() == Some("inProgress"))
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
    let extension: CustomTaskExtension = graph.get(call, url).await.ok()?.json().ok()?;
    extension.callback_timeout()
}

/// An id Graph listed, if it is one this app will put in a path.
fn listed_id(id: Option<&str>) -> Result<ResourceId, GraphFailure> {
    ResourceId::parse_str("id", id.unwrap_or_default()).map_err(|e| GraphFailure::Unexpected {
        reason: format!(
            "Graph listed an id this app will not put in a path: {}",
            e.message
        ),
        request_id: None,
    })
}
