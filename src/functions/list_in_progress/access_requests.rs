//! Asking Graph which access package assignment requests wait at a custom extension stage:
//! the requests, then (only when some wait) the assignment policies, for the stage each
//! waiting callout was made at and its extension's callback timeout. docs/graph.md,
//! *Entitlement Management: what waits*, has the queries and why they were chosen.
//!
//! Graph documents `$filter` on assignment requests for `state`, `createdDateTime` and
//! `accessPackage/id` only, and says that not every property filters. The listing asks for
//! `status eq 'WaitingForCallback'` first: one page for a tenant's waiting requests, where
//! a documented filter would list every request of the period. If Graph refuses that filter
//! (400), the documented `createdDateTime gt` filter over [`LOOKBACK`] is used instead, from
//! then on for the life of the process. Either way, a request is reported only when one of
//! its callouts says `waitingForCallback`.
use super::report::SweepError;
use super::{before, listed_id};
use crate::app::App;
use crate::domain::Kind;
use crate::graph::models::{AssignmentPolicy, AssignmentRequest, CalloutInstance};
use crate::graph::{Call, GraphClient, GraphFailure, GraphPath};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use url::Url;

const REQUESTS: &str = "identityGovernance/entitlementManagement/assignmentRequests";
const POLICIES: &str = "identityGovernance/entitlementManagement/assignmentPolicies";
const SELECT: &str = "id,state,status,createdDateTime,customExtensionCalloutInstances";
const EXPAND: &str = "accessPackage($select=id,displayName),assignment($expand=target)";

/// How far back the documented filter looks. A callout waits at most 14 days (Graph's
/// longest callback timeout). The longest path from a request's creation to a waiting
/// callout is a created-stage callout (14 days), three approval stages (14 days each) and
/// the approved-stage callout (14 days): 70 days. Ninety leaves a margin.
pub(super) const LOOKBACK: Duration = Duration::from_secs(90 * 86_400);

/// A callout that waits, with the request it belongs to.
pub(super) struct Waiting {
    pub(super) request: AssignmentRequest,
    pub(super) callout: CalloutInstance,
}

/// What one custom extension does in one access package's policies.
#[derive(Debug, Default)]
pub(super) struct ExtensionUse {
    /// The stages it is set to run at (more than one makes a callout's stage unknown).
    pub(super) stages: BTreeSet<String>,
    pub(super) timeout: Option<Duration>,
}

/// What the sweep learnt of Entitlement Management, owned.
#[derive(Default)]
pub(super) struct Gathered {
    pub(super) waiting: Vec<Waiting>,
    /// By access package id, then custom extension id.
    pub(super) uses: BTreeMap<(String, String), ExtensionUse>,
    pub(super) errors: Vec<SweepError>,
    pub(super) cut_short: bool,
}

pub(super) async fn gather(app: &App, call: &Call) -> Gathered {
    let mut g = Gathered::default();
    let graph = match app.graph().await {
        Ok(graph) => graph,
        Err(failure) => {
            g.errors.push(error(&failure));
            return g;
        }
    };
    match before(call.deadline(), waiting_requests(app, graph, call)).await {
        None => g.cut_short = true,
        Some(Err(failure)) => g.errors.push(error(&failure)),
        Some(Ok(waiting)) => g.waiting = waiting,
    }
    if g.waiting.is_empty() {
        return g;
    }
    match before(call.deadline(), policies(graph, call)).await {
        None => g.cut_short = true,
        Some(Err(failure)) => g.errors.push(error(&failure)),
        Some(Ok(policies)) => g.uses = uses(policies),
    }
    g
}

fn error(failure: &GraphFailure) -> SweepError {
    SweepError::new(Kind::AccessRequest, None, failure)
}

/// Every waiting callout, by the status filter or, where Graph refuses it, the documented one.
async fn waiting_requests(
    app: &App,
    graph: &GraphClient,
    call: &Call,
) -> Result<Vec<Waiting>, GraphFailure> {
    if !app.status_filter_refused() {
        let url = requests_url(graph, "status eq 'WaitingForCallback'");
        match graph.list(call, url).await {
            Err(GraphFailure::Status { status: 400, .. }) => app.refuse_status_filter(),
            listed => return listed.map(waiting_callouts),
        }
    }
    let since = OffsetDateTime::now_utc() - LOOKBACK;
    let since = since
        .replace_nanosecond(0)
        .unwrap_or(since)
        .format(&Rfc3339)
        .expect("a date within a year of now formats");
    let url = requests_url(graph, &format!("createdDateTime gt {since}"));
    graph.list(call, url).await.map(waiting_callouts)
}

fn requests_url(graph: &GraphClient, filter: &str) -> Url {
    let mut url = graph.url(&GraphPath::new().words(REQUESTS));
    url.query_pairs_mut()
        .append_pair("$filter", filter)
        .append_pair("$select", SELECT)
        .append_pair("$expand", EXPAND);
    url
}

/// The callouts that wait, each with its request; a request whose id this app would not put
/// in a path is left out (a resume could not name it).
fn waiting_callouts(requests: Vec<AssignmentRequest>) -> Vec<Waiting> {
    requests
        .into_iter()
        .filter(|r| listed_id(r.id.as_deref()).is_ok())
        .flat_map(|request| {
            let callouts: Vec<CalloutInstance> = request
                .custom_extension_callout_instances
                .iter()
                .filter(|c| {
                    c.status
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("waitingForCallback"))
                })
                .cloned()
                .collect();
            callouts.into_iter().map(move |callout| Waiting {
                request: request.clone(),
                callout,
            })
        })
        .collect()
}

/// Every assignment policy, with its access package and the custom extension it runs at
/// each stage: one listing for the tenant, however many access packages wait.
async fn policies(graph: &GraphClient, call: &Call) -> Result<Vec<AssignmentPolicy>, GraphFailure> {
    let mut url = graph.url(&GraphPath::new().words(POLICIES));
    url.query_pairs_mut().append_pair(
        "$expand",
        "accessPackage($select=id),customExtensionStageSettings($expand=customExtension)",
    );
    graph.list(call, url).await
}

fn uses(policies: Vec<AssignmentPolicy>) -> BTreeMap<(String, String), ExtensionUse> {
    let mut uses: BTreeMap<(String, String), ExtensionUse> = BTreeMap::new();
    for policy in &policies {
        let Some(package) = policy.package_id() else {
            continue;
        };
        for setting in &policy.custom_extension_stage_settings {
            let (Some(stage), Some(extension)) = (&setting.stage, &setting.custom_extension) else {
                continue;
            };
            let Some(extension_id) = &extension.id else {
                continue;
            };
            let entry = uses
                .entry((package.to_string(), extension_id.clone()))
                .or_default();
            entry.stages.insert(stage.clone());
            entry.timeout = entry.timeout.or(extension.callback_timeout());
        }
    }
    uses
}
