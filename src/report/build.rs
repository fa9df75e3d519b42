//! The report: what the sweeps gathered, with each waiting item's age, deadline and
//! staleness, in the shape the README documents. No I/O here.
use super::access_requests::{self, ExtensionInPackage};
use super::{bounded_name, tasks};
use crate::command::{Failure, Kind, ResourceId};
use crate::graph::models::{RequestState, Stage, TaskProcessingResult};
use crate::graph::GraphFailure;
use crate::host::json_len;
use serde::Serialize;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub count: usize,
    /// Items known to be stale; an item whose wait start is unknown is not counted here.
    pub stale_count: usize,
    /// Items whose wait start Graph does not give (`stale: null`).
    pub unknown_age_count: usize,
    /// Of those, the ones whose request was created longer ago than their callback timeout
    /// (Graph's longest, 14 days, where the extension's is unknown): the one bound the data
    /// supports, so they are waiting past it however late their callout began.
    pub unknown_age_overdue_count: usize,
    pub partial: bool,
    pub graph_calls: u32,
    pub duration_ms: u64,
    pub items: Vec<Item>,
    pub errors: Vec<SweepError>,
}

/// One piece of waiting work; its `kind` is written first, then its own fields, then how
/// long it has waited.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Item {
    Task(TaskItem),
    /// Boxed: it is the larger, and a backlog is mostly tasks.
    AccessRequest(Box<AccessRequestItem>),
}

impl Item {
    pub fn kind(&self) -> Kind {
        match self {
            Item::Task(_) => Kind::Task,
            Item::AccessRequest(_) => Kind::AccessRequest,
        }
    }

    pub fn waiting(&self) -> &Waiting {
        match self {
            Item::Task(item) => &item.waiting,
            Item::AccessRequest(item) => &item.waiting,
        }
    }

    /// The id a resume names: the task processing result's, or the request's.
    pub fn id(&self) -> &str {
        match self {
            Item::Task(item) => &item.result.task_processing_result_id,
            Item::AccessRequest(item) => &item.assignment_request_id,
        }
    }
}

/// A task processing result that a custom task extension left `inProgress`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskItem {
    #[serde(flatten)]
    pub result: NamedTaskResult,
    #[serde(flatten)]
    pub waiting: Waiting,
}

/// A task processing result with what finds it: its workflow's and its task's ids and names,
/// its own id, and its subject.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NamedTaskResult {
    /// Shared by every item of the workflow (and task): a backlog of thousands holds each
    /// workflow's and task's id and name once.
    pub workflow_id: ResourceId,
    pub workflow_name: Arc<str>,
    pub task_id: ResourceId,
    pub task_name: Arc<str>,
    pub task_processing_result_id: String,
    pub subject_id: Option<String>,
}

impl NamedTaskResult {
    /// `result` of `task`, named.
    pub(super) fn of(task: &tasks::CustomTask, result: &TaskProcessingResult) -> Self {
        Self {
            workflow_id: task.workflow.id.clone(),
            workflow_name: Arc::clone(&task.workflow.name),
            task_id: task.id.clone(),
            task_name: Arc::clone(&task.name),
            task_processing_result_id: result.id.as_ref().cloned().unwrap_or_default(),
            subject_id: result.subject.as_ref().and_then(|s| s.id.as_ref().cloned()),
        }
    }
}

/// An access package assignment request whose custom extension callout waits for its
/// callback.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessRequestItem {
    pub assignment_request_id: String,
    pub access_package_id: Option<String>,
    pub access_package_name: Option<String>,
    /// The stage the callout was made at, from the access package's policies; `None` when
    /// they could not be read, or run the same extension at more than one stage.
    pub stage: Option<Stage>,
    pub custom_extension_stage_instance_id: String,
    pub custom_extension_id: Option<String>,
    /// The user the request is for (its assignment's target).
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    pub request_state: Option<RequestState>,
    pub request_created_date_time: Option<String>,
    #[serde(flatten)]
    pub waiting: Waiting,
}

/// How long an item has waited and has left. Graph dates a callout only where the work
/// says when it began: a task result's `startedDateTime`, and an access request's creation
/// for a callout at the created stage. Elsewhere these are `None`, and so is `stale`:
/// unknown, not false.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    pub started_date_time: Option<String>,
    pub age_seconds: Option<u64>,
    pub deadline: Option<String>,
    pub stale: Option<bool>,
    /// The start is unknown, but the request was created longer ago than the callback
    /// timeout (Graph's longest, 14 days, where the extension's is unknown): waiting past it
    /// however late the callout began. Counted in `unknownAgeOverdueCount`.
    #[serde(skip)]
    pub overdue: bool,
}

impl Waiting {
    /// Known to be stale.
    pub fn is_stale(&self) -> bool {
        self.stale == Some(true)
    }
}

impl Waiting {
    fn new(
        started: Option<OffsetDateTime>,
        timeout: Option<Duration>,
        now: OffsetDateTime,
        stale_after: Duration,
    ) -> Self {
        let age = started.map(|s| (now - s).whole_seconds().max(0) as u64);
        Self {
            started_date_time: started.and_then(format_utc),
            age_seconds: age,
            deadline: started
                .zip(timeout)
                .and_then(|(s, t)| s.checked_add(time::Duration::try_from(t).ok()?))
                .and_then(format_utc),
            stale: age.map(|a| a > stale_after.as_secs()),
            overdue: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SweepError {
    /// The kind whose listing failed; none for the report as a whole (its size).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    pub workflow_id: Option<String>,
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl SweepError {
    /// A part of the sweep that failed, classified as every failure is (see [`Failure`]):
    /// Graph's status and code where Graph gave them.
    pub(super) fn new(kind: Kind, workflow_id: Option<&str>, failure: &GraphFailure) -> Self {
        let problem = Failure::from(failure.clone()).problem();
        Self {
            kind: Some(kind),
            workflow_id: workflow_id.map(str::to_string),
            status: problem.upstream_status(),
            code: problem.graph_code.unwrap_or(problem.code),
            message: problem.message,
        }
    }
}

/// Graph's longest callback timeout for an access package custom extension.
const LONGEST_CALLBACK_TIMEOUT: Duration = Duration::from_secs(14 * 86_400);

/// The report of what the sweeps gathered: every item, or with `keep` the oldest `keep`
/// of them (the counts are always of every item).
pub(super) fn report(
    tasks: Option<tasks::Gathered>,
    requests: Option<access_requests::Gathered>,
    stale_after: Duration,
    graph_calls: u32,
    elapsed: Duration,
    keep: Option<usize>,
) -> Report {
    let now = OffsetDateTime::now_utc();
    let date = |text: Option<&str>| text.and_then(parse_date);
    let waiting = |started: Option<OffsetDateTime>, timeout: Option<Duration>| {
        Waiting::new(started, timeout, now, stale_after)
    };
    let found = tasks.as_ref().map_or(0, |g| g.found.len())
        + requests.as_ref().map_or(0, |g| g.waiting.len());
    let mut items = Kept::new(keep, found);
    let mut errors = Vec::new();
    let mut cut_short = false;
    if let Some(g) = tasks {
        items.extend(g.found.into_iter().map(|found| {
            let task = &*found.task;
            let result = &found.result;
            let timeout = task.extension_id.as_ref().and_then(|id| g.timeouts.get(id));
            Item::Task(TaskItem {
                result: NamedTaskResult::of(task, result),
                waiting: waiting(date(result.started_date_time.as_deref()), timeout.copied()),
            })
        }));
        errors.extend(g.errors);
        cut_short |= g.cut_short;
    }
    if let Some(g) = requests {
        items.extend(g.waiting.into_iter().map(|found| {
            let request = &*found.request;
            let package = request.access_package.as_ref();
            let callout = found.callout;
            let used = package
                .and_then(|p| p.id.as_ref())
                .zip(callout.custom_extension_id.as_ref())
                .and_then(|(access_package_id, custom_extension_id)| {
                    g.uses.get(&ExtensionInPackage {
                        access_package_id: access_package_id.clone(),
                        custom_extension_id: custom_extension_id.clone(),
                    })
                });
            let stage = used
                .filter(|u| u.stages.len() == 1)
                .and_then(|u| u.stages.first().cloned());
            let created_stage = stage == Some(Stage::Created);
            let target = request.target();
            let created = date(request.created_date_time.as_deref());
            let timeout = used.and_then(|u| u.timeout);
            let mut waited = waiting(created.filter(|_| created_stage), timeout);
            if waited.stale.is_none() {
                let longest = timeout.unwrap_or(LONGEST_CALLBACK_TIMEOUT);
                waited.overdue =
                    created.is_some_and(|c| (now - c).whole_seconds() > longest.as_secs() as i64);
            }
            Item::AccessRequest(Box::new(AccessRequestItem {
                assignment_request_id: request.id.as_deref().unwrap_or_default().to_string(),
                access_package_id: package.and_then(|p| p.id.as_ref().cloned()),
                access_package_name: bounded_name(package.and_then(|p| p.display_name.as_deref())),
                stage,
                custom_extension_stage_instance_id: callout.id.into_option().unwrap_or_default(),
                custom_extension_id: callout.custom_extension_id.into_option(),
                target_id: target.and_then(|t| t.object_id.as_ref().cloned()),
                target_name: bounded_name(target.and_then(|t| t.display_name.as_deref())),
                request_state: request.state.as_ref().cloned(),
                waiting: waited,
                request_created_date_time: created.and_then(format_utc),
            }))
        }));
        errors.extend(g.errors);
        cut_short |= g.cut_short;
    }
    let tally = items.tally;
    let items = items.oldest_first();
    if items.len() < tally.count {
        errors.push(not_all_listed(items.len(), tally.count, "the report holds"));
    }
    Report {
        count: tally.count,
        stale_count: tally.stale,
        unknown_age_count: tally.unknown_age,
        unknown_age_overdue_count: tally.unknown_age_overdue,
        partial: cut_short || !errors.is_empty(),
        graph_calls,
        duration_ms: elapsed.as_millis() as u64,
        items,
        errors,
    }
}

/// Oldest first; work Graph does not date last.
fn age_order(item: &Item) -> (bool, Option<&str>, Kind, &str) {
    let started = item.waiting().started_date_time.as_deref();
    (started.is_none(), started, item.kind(), item.id())
}

/// The error that says a report lists only the oldest `listed` of `of` waiting items.
fn not_all_listed(listed: usize, of: usize, why: &str) -> SweepError {
    SweepError {
        kind: None,
        workflow_id: None,
        status: 0,
        code: "answerTooLarge".into(),
        message: format!(
            "the answer lists the oldest {listed} of the {of} waiting items ({why}); `resume-handler report --json` lists them all"
        ),
    }
}

/// The counts of a report, of every item whether it is kept or not.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    count: usize,
    stale: usize,
    unknown_age: usize,
    unknown_age_overdue: usize,
}

impl Tally {
    fn of<'a>(items: impl Iterator<Item = &'a Item>) -> Self {
        let mut tally = Tally::default();
        for item in items {
            tally.add(item);
        }
        tally
    }

    fn add(&mut self, item: &Item) {
        let waiting = item.waiting();
        self.count += 1;
        self.stale += usize::from(waiting.is_stale());
        self.unknown_age += usize::from(waiting.stale.is_none());
        self.unknown_age_overdue += usize::from(waiting.overdue);
    }
}

/// The items a report keeps as they are made: the oldest `limit` (all of them when there is
/// none), in a heap whose top is the youngest kept and is let go when an older one comes, so
/// that a backlog of any size holds at most `limit` items.
struct Kept {
    limit: usize,
    heap: BinaryHeap<ByAge>,
    tally: Tally,
}

/// An item ordered by [`age_order`].
struct ByAge(Item);

impl PartialEq for ByAge {
    fn eq(&self, other: &Self) -> bool {
        age_order(&self.0) == age_order(&other.0)
    }
}
impl Eq for ByAge {}
impl PartialOrd for ByAge {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ByAge {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        age_order(&self.0).cmp(&age_order(&other.0))
    }
}

impl Kept {
    fn new(limit: Option<usize>, expected: usize) -> Self {
        let limit = limit.unwrap_or(usize::MAX);
        Kept {
            limit,
            heap: BinaryHeap::with_capacity(expected.min(limit.saturating_add(1))),
            tally: Tally::default(),
        }
    }

    fn extend(&mut self, items: impl Iterator<Item = Item>) {
        for item in items {
            self.tally.add(&item);
            self.heap.push(ByAge(item));
            if self.heap.len() > self.limit {
                self.heap.pop();
            }
        }
    }

    fn oldest_first(self) -> Vec<Item> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|kept| kept.0)
            .collect()
    }
}

/// The most a report's answer (`InProgress`'s body, the timer's return value) holds: at
/// about 600 bytes an item, some 7,000 items. Beyond it the answer lists the oldest items that
/// fit, and says so.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

impl Report {
    /// The report cut to the oldest items whose JSON fits in `max_bytes`, `partial`, with an
    /// error that says how many of how many it lists. The counts stay the whole sweep's, so
    /// the summary line, the alerts and `staleCount` still tell all that waits.
    pub fn truncated(&self, max_bytes: usize) -> Report {
        // The report's own fields and an error take well under 4 KiB.
        let mut room = max_bytes.saturating_sub(4 * 1024);
        let mut kept = Vec::new();
        for item in &self.items {
            let size = json_len(item).saturating_add(1);
            if size > room {
                break;
            }
            room -= size;
            kept.push(item.clone());
        }
        let mut errors: Vec<SweepError> = self
            .errors
            .iter()
            .filter(|e| e.code != "answerTooLarge")
            .cloned()
            .collect();
        let why = format!("the answer is limited to {} MiB", max_bytes / (1024 * 1024));
        errors.push(not_all_listed(kept.len(), self.count, &why));
        // Field by field: `..self.clone()` would copy every item only to drop them.
        Report {
            count: self.count,
            stale_count: self.stale_count,
            unknown_age_count: self.unknown_age_count,
            unknown_age_overdue_count: self.unknown_age_overdue_count,
            partial: true,
            graph_calls: self.graph_calls,
            duration_ms: self.duration_ms,
            items: kept,
            errors,
        }
    }

    /// `count`, `staleCount`, `unknownAgeCount` and `unknownAgeOverdueCount`, from the items.
    pub fn count_items(&mut self) {
        let tally = Tally::of(self.items.iter());
        self.count = tally.count;
        self.stale_count = tally.stale;
        self.unknown_age_count = tally.unknown_age;
        self.unknown_age_overdue_count = tally.unknown_age_overdue;
    }
}

/// A date Graph wrote (RFC 3339), or `None` for one that is not.
pub(super) fn parse_date(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// RFC 3339 in UTC to the second; `None` for a time RFC 3339 cannot write (past year 9999).
pub(super) fn format_utc(at: OffsetDateTime) -> Option<String> {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(0).unwrap_or(at).format(&Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::id;
    use crate::report::access_requests::{ExtensionUse, WaitingCallout};
    use crate::report::tasks::{CustomTask, Found, SweptWorkflow};
    use serde_json::json;

    fn ago(seconds: i64) -> String {
        format_utc(OffsetDateTime::now_utc() - time::Duration::seconds(seconds)).unwrap()
    }

    /// One workflow with one custom task (whose extension waits an hour) and two waiting
    /// results: one begun two hours ago, one Graph does not date.
    fn tasks() -> tasks::Gathered {
        let workflow = Arc::new(SweptWorkflow {
            id: id("wf"),
            name: "Onboarding".into(),
        });
        let task = Arc::new(CustomTask {
            workflow: Arc::clone(&workflow),
            id: id("t"),
            name: "Notify HR".into(),
            extension_id: Some("ext".into()),
        });
        let found = |result| Found {
            task: Arc::clone(&task),
            result: serde_json::from_value(result).unwrap(),
        };
        tasks::Gathered {
            workflows: vec![workflow],
            found: vec![
                found(json!({"id": "r-undated", "processingStatus": "inProgress"})),
                found(
                    json!({"id": "r-old", "startedDateTime": ago(7_200), "subject": {"id": "u1"}}),
                ),
            ],
            tasks: vec![Arc::clone(&task)],
            timeouts: [("ext".to_string(), Duration::from_secs(3_600))].into(),
            ..Default::default()
        }
    }

    /// Two requests waiting for callbacks of one extension: at the created stage (dated by
    /// the request's creation) and at the approved stage of another package (undated,
    /// created 20 days ago: past Graph's longest timeout).
    fn requests() -> access_requests::Gathered {
        let waiting = |request, package: &str, callout| WaitingCallout {
            request: Arc::new(
                serde_json::from_value(json!({
                    "id": request, "createdDateTime": match request {
                        "q-created" => ago(600),
                        _ => ago(20 * 86_400),
                    },
                    "state": "pendingApproval",
                    "accessPackage": {"id": package, "displayName": "Sales"},
                    "assignment": {"target": {"objectId": "u2", "displayName": "Adele"}}
                }))
                .unwrap(),
            ),
            callout: serde_json::from_value(
                json!({"id": callout, "customExtensionId": "e1", "status": "waitingForCallback"}),
            )
            .unwrap(),
        };
        let used_at = |stage: Stage| ExtensionUse {
            stages: [stage].into(),
            timeout: Some(Duration::from_secs(3_600)),
        };
        let key = |package: &str| ExtensionInPackage {
            access_package_id: package.to_string(),
            custom_extension_id: "e1".to_string(),
        };
        access_requests::Gathered {
            waiting: vec![
                waiting("q-created", "p1", "c1"),
                waiting("q-approved", "p2", "c2"),
            ],
            uses: [
                (key("p1"), used_at(Stage::Created)),
                (key("p2"), used_at(Stage::Approved)),
            ]
            .into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_report_dates_counts_and_orders_what_both_sweeps_found() {
        let stale_after = Duration::from_secs(3_600);
        let report = report(
            Some(tasks()),
            Some(requests()),
            stale_after,
            7,
            Duration::from_millis(20),
            None,
        );
        assert_eq!(report.count, 4);
        assert_eq!(report.stale_count, 1, "only the two-hour-old task result");
        assert_eq!(report.unknown_age_count, 2);
        assert_eq!(report.unknown_age_overdue_count, 1, "created 20 days ago");
        assert!(!report.partial && report.errors.is_empty());
        assert_eq!((report.graph_calls, report.duration_ms), (7, 20));
        // Oldest first, then what Graph does not date (tasks before requests).
        let ids: Vec<&str> = report.items.iter().map(Item::id).collect();
        assert_eq!(ids, ["r-old", "q-created", "r-undated", "q-approved"]);
        let Item::Task(old) = &report.items[0] else {
            panic!("a task first")
        };
        assert_eq!(old.result.workflow_id.as_str(), "wf");
        assert_eq!(
            (&*old.result.workflow_name, &*old.result.task_name),
            ("Onboarding", "Notify HR")
        );
        assert_eq!(old.result.subject_id.as_deref(), Some("u1"));
        assert_eq!(old.waiting.stale, Some(true));
        assert_eq!(old.waiting.age_seconds.map(|a| a / 60), Some(120));
        assert!(
            old.waiting.deadline.is_some(),
            "start plus the extension's hour"
        );
        let Item::AccessRequest(created) = &report.items[1] else {
            panic!("then the created-stage request")
        };
        assert_eq!(created.stage, Some(Stage::Created));
        assert_eq!(created.waiting.stale, Some(false));
        assert_eq!(created.target_name.as_deref(), Some("Adele"));
        assert_eq!(created.access_package_name.as_deref(), Some("Sales"));
        assert_eq!(created.request_state, Some(RequestState::PendingApproval));
        let Item::AccessRequest(approved) = &report.items[3] else {
            panic!("the approved-stage request last")
        };
        assert_eq!(approved.waiting.stale, None, "unknown, not false");
        assert!(approved.waiting.overdue);
    }

    #[test]
    fn a_sweep_cut_short_makes_a_partial_report_of_what_it_found() {
        let mut cut = tasks();
        cut.cut_short = true;
        let report = report(
            Some(cut),
            None,
            Duration::from_secs(3_600),
            1,
            Duration::ZERO,
            None,
        );
        assert!(report.partial);
        assert_eq!(report.count, 2);
        let empty = report_of_nothing();
        assert_eq!((empty.count, empty.partial), (0, false));
    }

    fn report_of_nothing() -> Report {
        report(None, None, Duration::from_secs(1), 0, Duration::ZERO, None)
    }

    #[test]
    fn dates_are_written_in_utc_so_that_they_sort_as_instants() {
        let parse = |s: &str| OffsetDateTime::parse(s, &Rfc3339).unwrap();
        let east = parse("2026-11-22T12:00:00.123+02:00");
        let west = parse("2026-11-22T10:30:00-01:00");
        assert_eq!(format_utc(east).unwrap(), "2026-11-22T10:00:00Z");
        assert_eq!(format_utc(west).unwrap(), "2026-11-22T11:30:00Z");
        // East began first, though its local text sorts after west's.
        assert!(format_utc(east) < format_utc(west));
    }

    #[test]
    fn a_report_keeping_a_few_holds_the_oldest_and_counts_them_all() {
        let at = |minute: u32| -> Item {
            Item::Task(TaskItem {
                result: NamedTaskResult {
                    workflow_id: crate::command::id("w"),
                    workflow_name: "W".into(),
                    task_id: crate::command::id("t"),
                    task_name: "T".into(),
                    task_processing_result_id: format!("r-{minute}"),
                    subject_id: None,
                },
                waiting: Waiting {
                    started_date_time: Some(format!("2026-12-01T10:{minute:02}:00Z")),
                    age_seconds: Some(60),
                    deadline: None,
                    stale: Some(minute.is_multiple_of(2)),
                    overdue: false,
                },
            })
        };
        let mut kept = Kept::new(Some(3), 10);
        kept.extend([7, 3, 9, 1, 8, 2, 6, 0, 5, 4].into_iter().map(at));
        assert_eq!(kept.tally.count, 10);
        assert_eq!(kept.tally.stale, 5);
        let ids: Vec<String> = kept
            .oldest_first()
            .iter()
            .map(|i| i.id().to_string())
            .collect();
        assert_eq!(ids, ["r-0", "r-1", "r-2"]);
        let mut all = Kept::new(None, 10);
        all.extend([2, 0, 1].into_iter().map(at));
        let ids: Vec<String> = all
            .oldest_first()
            .iter()
            .map(|i| i.id().to_string())
            .collect();
        assert_eq!(ids, ["r-0", "r-1", "r-2"]);
    }

    #[test]
    fn an_answer_over_its_limit_lists_the_oldest_items_that_fit_and_says_so() {
        let item = |n: usize| {
            Item::Task(TaskItem {
                result: NamedTaskResult {
                    workflow_id: crate::command::id(&format!("wf-{n}")),
                    workflow_name: "W".repeat(200).into(),
                    task_id: crate::command::id("t"),
                    task_name: "Run a custom task extension".into(),
                    task_processing_result_id: format!("r-{n}"),
                    subject_id: Some("u".into()),
                },
                waiting: Waiting {
                    started_date_time: None,
                    age_seconds: Some(7_200),
                    deadline: None,
                    stale: Some(true),
                    overdue: false,
                },
            })
        };
        let mut report = Report {
            count: 0,
            stale_count: 0,
            unknown_age_count: 0,
            unknown_age_overdue_count: 0,
            partial: false,
            graph_calls: 9,
            duration_ms: 1,
            items: (0..1_000).map(item).collect(),
            errors: vec![],
        };
        report.count_items();
        let max = 64 * 1024;
        let cut = report.truncated(max);
        let written = serde_json::to_vec(&cut).unwrap();
        assert!(written.len() <= max, "{}", written.len());
        assert!(cut.items.len() > 50 && cut.items.len() < 1_000);
        assert_eq!(
            cut.items[..],
            report.items[..cut.items.len()],
            "the oldest first"
        );
        assert_eq!(
            (cut.count, cut.stale_count),
            (1_000, 1_000),
            "the whole sweep's counts"
        );
        assert!(cut.partial);
        let error = cut.errors.last().unwrap();
        assert_eq!(error.code, "answerTooLarge");
        assert!(error
            .message
            .contains(&format!("oldest {} of the 1000", cut.items.len())));
        assert!(serde_json::to_value(error).unwrap().get("kind").is_none());
    }
}
