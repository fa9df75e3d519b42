//! ListInProgress (timer) and InProgress (HTTP GET): the task processing results that
//! wait for a custom task extension callback, with how long each has left (README, *ListInProgress and InProgress*).
//!
//! The path through Graph is chosen by call count. Only "Run a custom task extension"
//! tasks can wait, and `…/tasks/{t}/taskProcessingResults` filters server-side on
//! `processingStatus`, so the sweep costs one call for the workflows, one per workflow for
//! its tasks, and one per custom task (plus one per extra page of waiting results): for
//! 100 workflows with 5 custom tasks each, about 600 calls. Walking userProcessingResults
//! instead costs a call per user per workflow, 10,000 for the same tenant.
use super::outcome::Failure;
use crate::app::App;
use crate::graph::{Call, GraphClient, GraphFailure, GraphPath};
use futures::stream::{self, StreamExt};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use url::Url;

/// The task definition of "Run a custom task extension": the only tasks that wait.
pub const CUSTOM_TASK_DEFINITION_ID: &str = "4262b724-8dba-4fad-afc3-43fcbb497a0e";

/// The timer's sweep stops here with what it has (`partial: true`), well inside
/// host.json's ten-minute functionTimeout.
pub const SWEEP_BUDGET: Duration = Duration::from_secs(240);

/// `InProgress` stops here, so that it answers within 220 s: Azure's front end drops an
/// HTTP request after 230 s.
pub const HTTP_SWEEP_BUDGET: Duration = Duration::from_secs(210);

/// The longest callback timeout believed: Entitlement Management allows 14 days, Lifecycle
/// Workflows 3 hours; anything longer is malformed, and that item's deadline is left empty.
const MAX_CALLBACK_TIMEOUT: Duration = Duration::from_secs(366 * 86_400);

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub count: usize,
    pub stale_count: usize,
    pub partial: bool,
    pub graph_calls: u32,
    pub duration_ms: u64,
    pub items: Vec<Item>,
    pub errors: Vec<SweepError>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub workflow_id: String,
    pub workflow_name: String,
    pub task_id: String,
    pub task_name: String,
    pub task_processing_result_id: String,
    pub subject_id: Option<String>,
    pub started_date_time: Option<String>,
    pub age_seconds: Option<u64>,
    pub deadline: Option<String>,
    pub stale: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SweepError {
    pub workflow_id: Option<String>,
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl SweepError {
    /// A part of the sweep that failed, classified as every failure is (see [`Failure`]):
    /// Graph's status and code where Graph gave them.
    fn new(workflow_id: Option<&str>, failure: &GraphFailure) -> Self {
        let failure = Failure::from(failure.clone());
        Self {
            workflow_id: workflow_id.map(str::to_string),
            status: failure.upstream_status(),
            code: failure.graph_code().unwrap_or(failure.code()).to_string(),
            message: failure.message(),
        }
    }
}

struct Workflow {
    id: String,
    name: String,
}

struct CustomTask {
    workflow: usize,
    id: String,
    name: String,
    extension_id: Option<String>,
}

/// A waiting result, before its deadline is known.
struct Found {
    task: usize,
    result: Value,
}

/// What the sweep has gathered so far; read back as it is when the time budget ends it.
#[derive(Default)]
struct Gathered {
    workflows: Vec<Workflow>,
    tasks: Vec<CustomTask>,
    found: Vec<Found>,
    timeouts: BTreeMap<String, Duration>,
    errors: Vec<SweepError>,
}

pub async fn sweep(app: &App, call: &Call) -> Report {
    let started = Instant::now();
    let gathered = Mutex::new(Gathered::default());
    let finished = tokio::time::timeout_at(call.deadline().into(), gather(app, call, &gathered))
        .await
        .is_ok();
    let gathered = gathered.into_inner().expect("sweep lock");
    report(
        app,
        gathered,
        !finished,
        call.graph_requests(),
        started.elapsed(),
    )
}

async fn gather(app: &App, call: &Call, gathered: &Mutex<Gathered>) {
    let lock = || gathered.lock().expect("sweep lock");
    let graph = match app.graph().await {
        Ok(graph) => graph,
        Err(failure) => {
            lock().errors.push(SweepError::new(None, &failure));
            return;
        }
    };
    let workflows = match list_workflows(app, graph, call).await {
        Ok(workflows) => workflows,
        Err(failure) => {
            lock().errors.push(SweepError::new(None, &failure));
            return;
        }
    };
    lock().workflows = workflows
        .iter()
        .map(|(id, name)| Workflow {
            id: id.clone(),
            name: name.clone(),
        })
        .collect();
    let width = app.settings.max_concurrency;

    // Each workflow's custom tasks.
    stream::iter(workflows.into_iter().map(|(id, _)| id).enumerate())
        .map(|(index, id)| async move {
            let tasks = custom_tasks(graph, call, &id).await;
            (index, id, tasks)
        })
        .buffer_unordered(width)
        .for_each(|(index, id, tasks)| {
            let mut g = lock();
            match tasks {
                Ok(tasks) => g.tasks.extend(tasks.into_iter().map(|t| CustomTask {
                    workflow: index,
                    ..t
                })),
                Err(failure) => g.errors.push(SweepError::new(Some(&id), &failure)),
            }
            async {}
        })
        .await;

    // The waiting results of each custom task, and each extension's callback timeout, once.
    let tasks: Vec<(usize, String, String)> = {
        let g = lock();
        g.tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (i, g.workflows[t.workflow].id.clone(), t.id.clone()))
            .collect()
    };
    let failed_workflows: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    stream::iter(tasks)
        .map(|(index, workflow_id, task_id)| async move {
            let results = waiting_results(graph, call, &workflow_id, &task_id).await;
            (index, workflow_id, results)
        })
        .buffer_unordered(width)
        .for_each(|(index, workflow_id, results)| {
            match results {
                Ok(results) => lock().found.extend(results.into_iter().map(|result| Found {
                    task: index,
                    result,
                })),
                Err(failure) => {
                    if failed_workflows
                        .lock()
                        .expect("lock")
                        .insert(workflow_id.clone())
                    {
                        lock()
                            .errors
                            .push(SweepError::new(Some(&workflow_id), &failure));
                    }
                }
            }
            async {}
        })
        .await;

    let extensions: BTreeSet<String> = {
        let g = lock();
        g.found
            .iter()
            .filter_map(|f| g.tasks[f.task].extension_id.clone())
            .collect()
    };
    stream::iter(extensions)
        .map(|id| async move {
            let timeout = callback_timeout(graph, call, &id).await;
            (id, timeout)
        })
        .buffer_unordered(width)
        .for_each(|(id, timeout)| {
            if let Some(timeout) = timeout {
                lock().timeouts.insert(id, timeout);
            }
            async {}
        })
        .await;
}

async fn list_workflows(
    app: &App,
    graph: &GraphClient,
    call: &Call,
) -> Result<Vec<(String, String)>, GraphFailure> {
    let name_of = |w: &Value| {
        let text = |k: &str| {
            w.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        (text("id"), text("displayName"))
    };
    match &app.settings.list_workflow_ids {
        None => {
            let mut url = graph
                .url(&GraphPath::new().words("identityGovernance/lifecycleWorkflows/workflows"));
            url.set_query(Some("$select=id,displayName"));
            Ok(graph.list(call, url).await?.iter().map(name_of).collect())
        }
        Some(ids) => {
            let mut workflows = Vec::new();
            for id in ids {
                let id = crate::domain::ResourceId::parse_str("LIST_IN_PROGRESS_WORKFLOW_IDS", id)
                    .expect("validated at startup");
                let mut url = graph.url(
                    &GraphPath::new()
                        .words("identityGovernance/lifecycleWorkflows/workflows")
                        .id(&id),
                );
                url.set_query(Some("$select=id,displayName"));
                workflows.push(name_of(&graph.get(call, url).await?.json()?));
            }
            Ok(workflows)
        }
    }
}

async fn custom_tasks(
    graph: &GraphClient,
    call: &Call,
    workflow_id: &str,
) -> Result<Vec<CustomTask>, GraphFailure> {
    let url = tasks_url(graph, workflow_id, None)?;
    let tasks = graph.list(call, url).await?;
    Ok(tasks
        .iter()
        .filter(|t| {
            t.get("taskDefinitionId").and_then(Value::as_str) == Some(CUSTOM_TASK_DEFINITION_ID)
        })
        .map(|t| CustomTask {
            workflow: 0,
            id: t
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            name: t
                .get("displayName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            extension_id: t
                .get("arguments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|a| {
                    a.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| n.eq_ignore_ascii_case("customTaskExtensionID"))
                })
                .and_then(|a| a.get("value").and_then(Value::as_str))
                .map(str::to_string),
        })
        .collect())
}

async fn waiting_results(
    graph: &GraphClient,
    call: &Call,
    workflow_id: &str,
    task_id: &str,
) -> Result<Vec<Value>, GraphFailure> {
    let url = tasks_url(graph, workflow_id, Some(task_id))?;
    let results = graph.list(call, url).await?;
    // The filter is Graph's; checking again costs nothing and guards against a server that ignores it.
    Ok(results
        .into_iter()
        .filter(|r| r.get("processingStatus").and_then(Value::as_str) == Some("inProgress"))
        .collect())
}

/// `workflows/{w}/tasks`, or `workflows/{w}/tasks/{t}/taskProcessingResults?$filter=…`.
fn tasks_url(
    graph: &GraphClient,
    workflow_id: &str,
    task_id: Option<&str>,
) -> Result<Url, GraphFailure> {
    let id = |text: &str| {
        crate::domain::ResourceId::parse_str("id", text).map_err(|e| GraphFailure::Unexpected {
            reason: format!(
                "Graph listed an id this app will not put in a path: {}",
                e.message
            ),
            request_id: None,
        })
    };
    let path = GraphPath::new()
        .words("identityGovernance/lifecycleWorkflows/workflows")
        .id(&id(workflow_id)?)
        .words("tasks");
    Ok(match task_id {
        None => {
            let mut url = graph.url(&path);
            url.set_query(Some("$select=id,displayName,taskDefinitionId,arguments"));
            url
        }
        Some(task_id) => {
            let mut url = graph.url(&path.id(&id(task_id)?).words("taskProcessingResults"));
            url.set_query(Some("$filter=processingStatus%20eq%20'inProgress'&$select=id,processingStatus,startedDateTime,subject"));
            url
        }
    })
}

/// The extension's `callbackConfiguration.timeoutDuration`, when it can be read.
async fn callback_timeout(
    graph: &GraphClient,
    call: &Call,
    extension_id: &str,
) -> Option<Duration> {
    let id = crate::domain::ResourceId::parse_str("customTaskExtensionID", extension_id).ok()?;
    let url = graph.url(
        &GraphPath::new()
            .words("identityGovernance/lifecycleWorkflows/customTaskExtensions")
            .id(&id),
    );
    let body = graph.get(call, url).await.ok()?.json().ok()?;
    parse_iso8601_duration(
        body.get("callbackConfiguration")?
            .get("timeoutDuration")?
            .as_str()?,
    )
}

fn report(app: &App, g: Gathered, timed_out: bool, graph_calls: u32, elapsed: Duration) -> Report {
    let now = OffsetDateTime::now_utc();
    let mut items: Vec<Item> = g
        .found
        .iter()
        .map(|found| {
            let task = &g.tasks[found.task];
            let workflow = &g.workflows[task.workflow];
            let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
            let started = text(found.result.get("startedDateTime"))
                .and_then(|s| OffsetDateTime::parse(&s, &Rfc3339).ok());
            let age = started.map(|s| (now - s).whole_seconds().max(0) as u64);
            let timeout = task.extension_id.as_ref().and_then(|id| g.timeouts.get(id));
            Item {
                workflow_id: workflow.id.clone(),
                workflow_name: workflow.name.clone(),
                task_id: task.id.clone(),
                task_name: task.name.clone(),
                task_processing_result_id: text(found.result.get("id")).unwrap_or_default(),
                subject_id: text(found.result.get("subject").and_then(|s| s.get("id"))),
                started_date_time: started.and_then(format_utc),
                age_seconds: age,
                deadline: started
                    .zip(timeout)
                    .and_then(|(s, t)| s.checked_add(time::Duration::try_from(*t).ok()?))
                    .and_then(format_utc),
                stale: age.is_some_and(|a| a > app.settings.stale_after.as_secs()),
            }
        })
        .collect();
    items.sort_by(|a, b| {
        (
            &a.started_date_time,
            &a.workflow_id,
            &a.task_processing_result_id,
        )
            .cmp(&(
                &b.started_date_time,
                &b.workflow_id,
                &b.task_processing_result_id,
            ))
    });
    Report {
        count: items.len(),
        stale_count: items.iter().filter(|i| i.stale).count(),
        partial: timed_out || !g.errors.is_empty(),
        graph_calls,
        duration_ms: elapsed.as_millis() as u64,
        items,
        errors: g.errors,
    }
}

fn format_utc(at: OffsetDateTime) -> Option<String> {
    at.replace_nanosecond(0).unwrap_or(at).format(&Rfc3339).ok()
}

/// `PT1H`, `PT30M`, `PT1H30M`, `P1D`, `PT90S`: the ISO 8601 durations Graph uses for
/// callback timeouts (years and months never occur there and are refused). Whatever the
/// text, nothing panics: a duration beyond [`MAX_CALLBACK_TIMEOUT`] is `None`.
pub fn parse_iso8601_duration(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((days, time)) => (days, time),
        None => (rest, ""),
    };
    let mut seconds = 0f64;
    let mut take = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
            } else {
                let (_, scale) = units.iter().find(|(u, _)| *u == c)?;
                seconds += number.parse::<f64>().ok()? * scale;
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    take(days, &[('D', 86_400.0), ('W', 604_800.0)])?;
    take(time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    if rest == "T" || rest.is_empty() {
        return None;
    }
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| *d <= MAX_CALLBACK_TIMEOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_timeouts_parse_from_iso_8601() {
        assert_eq!(
            parse_iso8601_duration("PT1H"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            parse_iso8601_duration("PT5M"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            parse_iso8601_duration("PT1H30M"),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            parse_iso8601_duration("P1DT2S"),
            Some(Duration::from_secs(86_402))
        );
        for bad in ["", "P", "PT", "1H", "PT1X", "P1Y", "PT1H5"] {
            assert_eq!(parse_iso8601_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_absurd_callback_timeout_is_no_timeout_and_no_panic() {
        let nines = format!("P{}D", "9".repeat(400));
        for absurd in ["P9999999D", &nines, "PT1e309S", "P367D"] {
            assert_eq!(parse_iso8601_duration(absurd), None, "{absurd}");
        }
        assert_eq!(
            parse_iso8601_duration("P14D"),
            Some(Duration::from_secs(14 * 86_400))
        );
    }
}
