//! Asking Graph which access package assignment requests wait at a custom extension stage:
//! the requests, then (only when some wait) the assignment policies, for the stage each
//! waiting callout was made at and its extension's callback timeout. docs/graph.md,
//! *Entitlement Management: what waits*, has the queries and why they were chosen.
//!
//! Graph documents `$filter` on assignment requests for `state`, `createdDateTime` and
//! `accessPackage/id` only, and says that not every property filters; it documents
//! `$expand=assignment`, but not the assignment's target expanded within it. So the listing
//! is tried in [`LISTINGS`] order, and one that Graph refuses (400) is not asked again for
//! [`REFUSAL_REMEMBERED`]: first `status eq 'WaitingForCallback'`, one page for a tenant's
//! waiting requests; then the documented `createdDateTime gt` filter over [`LOOKBACK`]; then
//! the same without the target. Whichever answers, a request is reported only when one of its
//! callouts says `waitingForCallback`.
use super::build::{format_utc, parse_date, SweepError};
use super::{listed_id, within};
use crate::app::App;
use crate::command::Kind;
use crate::graph::models::{
    AssignmentPolicy, AssignmentRequest, CalloutInstance, CalloutStatus, Stage,
};
use crate::graph::{reads, Call, GraphClient, GraphFailure, GraphPath};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use url::Url;

const REQUESTS: &str = "identityGovernance/entitlementManagement/assignmentRequests";
const SELECT: &str =
    "id,state,status,createdDateTime,completedDateTime,customExtensionCalloutInstances";

/// How the requests that may wait are listed, in the order tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    /// The fewest pages, with an undocumented filter.
    WaitingStatus,
    /// Documented filter, with the target of each request.
    RecentWithTarget,
    /// Documented filter and expansion only; targets stay empty.
    Recent,
}

const LISTINGS: [Listing; 3] = [
    Listing::WaitingStatus,
    Listing::RecentWithTarget,
    Listing::Recent,
];

impl Listing {
    /// The first of `listings` that Graph has not refused in the last
    /// [`REFUSAL_REMEMBERED`]; the last of them whatever Graph said.
    fn first_of(listings: &[Listing], app: &App) -> Self {
        let refusals = app.refused_listings.lock().expect("not poisoned");
        let now = Instant::now();
        let last = *listings.last().expect("at least one listing");
        listings
            .iter()
            .copied()
            .find(|l| !refusals.remembers(*l, now))
            .unwrap_or(last)
    }

    /// Graph refused this listing: it is not asked again for a while, and the next of
    /// `listings` is. False when it is the last (the refusal is then the sweep's error).
    fn refuse(self, listings: &[Listing], app: &App) -> bool {
        if listings.last() == Some(&self) {
            return false;
        }
        let mut refusals = app.refused_listings.lock().expect("not poisoned");
        refusals.refused(self, Instant::now());
        true
    }

    /// Its place in [`LISTINGS`].
    fn index(self) -> usize {
        LISTINGS
            .iter()
            .position(|l| *l == self)
            .expect("a listing of LISTINGS")
    }

    fn expand(self) -> &'static str {
        match self {
            Listing::WaitingStatus | Listing::RecentWithTarget => {
                "accessPackage($select=id,displayName),assignment($expand=target)"
            }
            Listing::Recent => "accessPackage($select=id,displayName),assignment",
        }
    }

    fn filter(self) -> String {
        match self {
            Listing::WaitingStatus => "status eq 'WaitingForCallback'".into(),
            Listing::RecentWithTarget | Listing::Recent => {
                let since = format_utc(OffsetDateTime::now_utc() - LOOKBACK)
                    .expect("a date within a year of now formats");
                format!("createdDateTime gt {since}")
            }
        }
    }
}

/// How long a refused listing is not asked again. Graph's refusal of an undocumented filter
/// may change, and the fallbacks cost pages (and, on a busy tenant, the page cap): so each
/// refused listing is tried again an hour after its refusal, one 400 an hour at most for each.
pub(super) const REFUSAL_REMEMBERED: Duration = Duration::from_secs(3_600);

/// When Graph last refused each listing, in [`LISTINGS`] order; kept by the app across
/// sweeps, and shared by the sweep of what waits and the look-back for what slipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refusals {
    at: [Option<Instant>; LISTINGS.len()],
}

impl Refusals {
    /// Whether a refusal of `listing` still counts at `now`: for [`REFUSAL_REMEMBERED`].
    fn remembers(&self, listing: Listing, now: Instant) -> bool {
        self.at[listing.index()]
            .is_some_and(|at| now.saturating_duration_since(at) < REFUSAL_REMEMBERED)
    }

    /// Graph refused `listing` at `now`. Concurrent sweeps refused together record it once
    /// in effect: the later time wins.
    fn refused(&mut self, listing: Listing, now: Instant) {
        self.at[listing.index()] = Some(now);
    }
}

/// How far back the documented filter looks. A callout waits at most 14 days (Graph's
/// longest callback timeout). The longest path from a request's creation to a waiting
/// callout is a created-stage callout (14 days), three approval stages (14 days each) and
/// the approved-stage callout (14 days): 70 days. Ninety leaves a margin.
pub(super) const LOOKBACK: Duration = Duration::from_secs(90 * 86_400);

/// A callout that waits, with the request it belongs to. The request is shared by all its
/// waiting callouts and keeps none of them: a request with thousands of callouts is held
/// once, not once per callout.
pub(super) struct WaitingCallout {
    pub(super) request: Arc<AssignmentRequest>,
    pub(super) callout: CalloutInstance,
}

/// A custom extension as one access package's policies use it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct ExtensionInPackage {
    pub(super) access_package_id: String,
    pub(super) custom_extension_id: String,
}

/// What one custom extension does in one access package's policies.
#[derive(Debug, Default)]
pub(super) struct ExtensionUse {
    /// The stages it is set to run at (more than one makes a callout's stage unknown).
    pub(super) stages: BTreeSet<Stage>,
    pub(super) timeout: Option<Duration>,
}

/// What the sweep learnt of Entitlement Management, owned.
#[derive(Default)]
pub(super) struct Gathered {
    pub(super) waiting: Vec<WaitingCallout>,
    pub(super) uses: BTreeMap<ExtensionInPackage, ExtensionUse>,
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
    // The requests that may wait, through every listing.
    match within(call.deadline(), list_requests(app, graph, call, &LISTINGS)).await {
        None => g.cut_short = true,
        Some(Err(failure)) => g.errors.push(error(&failure)),
        Some(Ok(requests)) => {
            let callouts = waiting_callouts(requests);
            g.waiting = callouts.waiting;
            g.errors.extend(callouts.unusable.iter().map(error));
        }
    }
    if g.waiting.is_empty() {
        return g;
    }
    match within(call.deadline(), reads::assignment_policies(graph, call)).await {
        None => g.cut_short = true,
        Some(Err(failure)) => g.errors.push(error(&failure)),
        Some(Ok(policies)) => g.uses = uses(policies),
    }
    g
}

fn error(failure: &GraphFailure) -> SweepError {
    SweepError::new(Kind::AccessRequest, None, failure)
}

/// The requests of the first of `listings` that Graph has not refused; a refusal (400)
/// moves on to the next, and is remembered by the app.
async fn list_requests(
    app: &App,
    graph: &GraphClient,
    call: &Call,
    listings: &[Listing],
) -> Result<Vec<AssignmentRequest>, GraphFailure> {
    loop {
        let listing = Listing::first_of(listings, app);
        let listed = graph.list(call, requests_url(graph, listing)).await;
        match listed {
            Err(GraphFailure::Status { status: 400, .. }) if listing.refuse(listings, app) => {
                tracing::warn!("Graph refused the {listing:?} listing of access package requests; trying the next");
            }
            listed => return listed,
        }
    }
}

/// The listings of every recent request, by which the look-back for what slipped finds
/// callouts that no longer wait.
const RECENT_LISTINGS: [Listing; 2] = [Listing::RecentWithTarget, Listing::Recent];

/// A callout Entra stopped waiting for: it failed (the extension's endpoint was not
/// reached, or refused), or its callback came too late. Graph dates neither; the request's
/// end, where it has one, is the closest time there is.
pub(super) struct SlippedCallout {
    pub(super) request: Arc<AssignmentRequest>,
    pub(super) callout: CalloutInstance,
}

/// What the sweep for slipped callouts learnt.
#[derive(Default)]
pub(super) struct GatheredSlipped {
    pub(super) slipped: Vec<SlippedCallout>,
    pub(super) errors: Vec<SweepError>,
    pub(super) cut_short: bool,
}

/// The callouts that failed or timed out on requests that ended at or after `since`, or have
/// not ended. Requests are listed by the documented `createdDateTime` filter over
/// [`LOOKBACK`] (a callout can fail weeks after its request was made), with the target, then
/// without it where Graph refuses that expansion: a refusal the app remembers, as the sweep
/// of what waits does, so that a timer's look-back does not meet it every sweep.
pub(super) async fn gather_slipped(
    app: &App,
    call: &Call,
    since: OffsetDateTime,
) -> GatheredSlipped {
    let mut g = GatheredSlipped::default();
    let graph = match app.graph().await {
        Ok(graph) => graph,
        Err(failure) => {
            g.errors.push(error(&failure));
            return g;
        }
    };
    let listed = within(
        call.deadline(),
        list_requests(app, graph, call, &RECENT_LISTINGS),
    )
    .await;
    let requests: Vec<AssignmentRequest> = match listed {
        None => {
            g.cut_short = true;
            return g;
        }
        Some(Err(failure)) => {
            g.errors.push(error(&failure));
            return g;
        }
        Some(Ok(requests)) => requests,
    };
    for mut request in requests {
        let ended = request.completed_date_time.as_deref().and_then(parse_date);
        if ended.is_some_and(|at| at < since) {
            continue;
        }
        let slipped: Vec<CalloutInstance> =
            std::mem::take(&mut request.custom_extension_callout_instances)
                .into_iter()
                .filter(|c| {
                    matches!(
                        &*c.status,
                        Some(CalloutStatus::CalloutFailed | CalloutStatus::CallbackTimedOut)
                    )
                })
                .collect();
        if slipped.is_empty() {
            continue;
        }
        let request = Arc::new(request);
        g.slipped
            .extend(slipped.into_iter().map(|callout| SlippedCallout {
                request: Arc::clone(&request),
                callout,
            }));
    }
    g
}

fn requests_url(graph: &GraphClient, listing: Listing) -> Url {
    let mut url = graph.url(&GraphPath::new().words(REQUESTS));
    url.query_pairs_mut()
        .append_pair("$filter", &listing.filter())
        .append_pair("$select", SELECT)
        .append_pair("$expand", listing.expand());
    url
}

/// The callouts that wait, each with its request. A waiting request whose id this app would
/// not put in a path cannot be resumed by it: it is reported as a failure of the sweep, as a
/// task with such an id is.
fn waiting_callouts(requests: Vec<AssignmentRequest>) -> Callouts {
    let mut waiting = Vec::new();
    let mut unusable = Vec::new();
    for mut request in requests {
        let callouts: Vec<CalloutInstance> =
            std::mem::take(&mut request.custom_extension_callout_instances)
                .into_iter()
                .filter(|c| c.status == Some(CalloutStatus::WaitingForCallback))
                .collect();
        if callouts.is_empty() {
            continue;
        }
        if let Err(failure) = listed_id(request.id.as_deref()) {
            unusable.push(failure);
            continue;
        }
        let request = Arc::new(request);
        waiting.extend(callouts.into_iter().map(|callout| WaitingCallout {
            request: Arc::clone(&request),
            callout,
        }));
    }
    Callouts { waiting, unusable }
}

/// The callouts that wait, and why some waiting requests cannot be reported.
struct Callouts {
    waiting: Vec<WaitingCallout>,
    /// A waiting request's id that this app would not put in a path.
    unusable: Vec<GraphFailure>,
}

fn uses(policies: Vec<AssignmentPolicy>) -> BTreeMap<ExtensionInPackage, ExtensionUse> {
    let mut uses: BTreeMap<ExtensionInPackage, ExtensionUse> = BTreeMap::new();
    for policy in &policies {
        let Some(package) = policy.package_id() else {
            continue;
        };
        for setting in &policy.custom_extension_stage_settings {
            let (Some(stage), Some(extension)) = (&*setting.stage, &*setting.custom_extension)
            else {
                continue;
            };
            let Some(extension_id) = &*extension.id else {
                continue;
            };
            let entry = uses
                .entry(ExtensionInPackage {
                    access_package_id: package.to_string(),
                    custom_extension_id: extension_id.clone(),
                })
                .or_default();
            entry.stages.insert(stage.clone());
            entry.timeout = entry.timeout.or(extension.callback_timeout());
        }
    }
    uses
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn requests(value: serde_json::Value) -> Vec<AssignmentRequest> {
        serde_json::from_value::<crate::graph::models::Page<AssignmentRequest>>(value)
            .unwrap()
            .value
            .into_vec()
    }

    #[test]
    fn only_waiting_callouts_count_and_a_request_with_an_unusable_id_is_an_error() {
        let Callouts {
            waiting,
            unusable: refused,
        } = waiting_callouts(requests(json!({"value": [
            {"id": "r1", "customExtensionCalloutInstances": [
                {"id": "c1", "status": "waitingForCallback"},
                {"id": "c0", "status": "callbackReceived"}]},
            {"id": "r2", "status": "WaitingForCallback", "customExtensionCalloutInstances": 7},
            {"id": "../r3", "customExtensionCalloutInstances": [{"id": "c3", "status": "WAITINGFORCALLBACK"}]},
            {"id": "../r4", "customExtensionCalloutInstances": [{"id": "c4", "status": "calloutSent"}]},
            {"customExtensionCalloutInstances": [{"id": "c5", "status": 1}]}
        ]})));
        let ids: Vec<_> = waiting
            .iter()
            .map(|w| (w.request.id.as_deref(), w.callout.id.as_deref()))
            .collect();
        assert_eq!(ids, [(Some("r1"), Some("c1"))]);
        assert_eq!(refused.len(), 1, "only the waiting request with a bad id");
    }

    #[test]
    fn a_refused_listing_is_tried_again_an_hour_after_its_refusal() {
        let at = Instant::now();
        let later = |d: Duration| at + d;
        let mut refusals = Refusals::default();
        assert!(!refusals.remembers(Listing::WaitingStatus, at));
        refusals.refused(Listing::WaitingStatus, at);
        assert!(refusals.remembers(Listing::WaitingStatus, later(Duration::from_secs(3_599))));
        assert!(!refusals.remembers(Listing::WaitingStatus, later(REFUSAL_REMEMBERED)));
        // Each listing on its own: a refusal of one says nothing of another.
        assert!(!refusals.remembers(Listing::RecentWithTarget, at));
        refusals.refused(Listing::RecentWithTarget, later(Duration::from_secs(1_800)));
        assert!(!refusals.remembers(Listing::WaitingStatus, later(REFUSAL_REMEMBERED)));
        assert!(refusals.remembers(Listing::RecentWithTarget, later(REFUSAL_REMEMBERED)));
    }

    #[test]
    fn a_request_with_many_waiting_callouts_is_held_once_without_its_callouts() {
        let callouts: Vec<_> = (0..2_000)
            .map(|n| json!({"id": format!("c{n}"), "status": "waitingForCallback"}))
            .collect();
        let Callouts { waiting, .. } = waiting_callouts(requests(
            json!({"value": [{"id": "r1", "customExtensionCalloutInstances": callouts}]}),
        ));
        assert_eq!(waiting.len(), 2_000);
        assert!(waiting
            .iter()
            .all(|w| Arc::ptr_eq(&w.request, &waiting[0].request)));
        assert!(waiting[0]
            .request
            .custom_extension_callout_instances
            .is_empty());
    }

    #[test]
    fn an_extension_at_two_stages_of_one_package_has_both_and_other_packages_stay_apart() {
        let policies: Vec<AssignmentPolicy> = serde_json::from_value(json!([
            {"accessPackage": {"id": "p1"}, "customExtensionStageSettings": [
                {"stage": "assignmentRequestCreated", "customExtension": {"id": "e1",
                    "callbackConfiguration": {"timeoutDuration": "P1D"}}},
                {"stage": "assignmentRequestApproved", "customExtension": {"id": "e1"}}]},
            {"accessPackageId": "p2", "customExtensionStageSettings": [
                {"stage": "assignmentRequestApproved", "customExtension": {"id": "e1",
                    "callbackConfiguration": {"timeoutDuration": "PT9999999999H"}}},
                {"stage": null, "customExtension": {"id": "e2"}},
                {"stage": "assignmentRequestCreated", "customExtension": "e3"}]},
            {"customExtensionStageSettings": [{"stage": "assignmentRequestCreated", "customExtension": {"id": "e9"}}]}
        ]))
        .unwrap();
        let uses = uses(policies);
        let key = |package: &str, extension: &str| ExtensionInPackage {
            access_package_id: package.to_string(),
            custom_extension_id: extension.to_string(),
        };
        let p1 = &uses[&key("p1", "e1")];
        assert_eq!(p1.stages.len(), 2);
        assert_eq!(p1.timeout, Some(Duration::from_secs(86_400)));
        let p2 = &uses[&key("p2", "e1")];
        assert_eq!(p2.stages.len(), 1);
        assert_eq!(p2.timeout, None, "an absurd timeout is no timeout");
        assert_eq!(
            uses.len(),
            2,
            "malformed settings and packageless policies are left out"
        );
    }
}
