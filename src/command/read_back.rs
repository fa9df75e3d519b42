//! The resume shared by both kinds of work: POST the resume action, and when Graph
//! refuses it, read the resource back to tell a duplicate from a conflict. This is what
//! makes retries and redeliveries safe: a resume whose answer was lost is recognised.
use super::outcome::{Failure, Outcome, Retry};
use crate::graph::{Call, GraphClient, GraphFailure, GraphPath};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What the resource, read after a refused resume, says about it.
pub(super) enum ReadBack {
    /// It already left the waiting state the way the command asked: a duplicate.
    AlreadyResumed,
    /// It is still waiting, so Graph's refusal stands.
    StillWaiting,
    /// It finished otherwise, or can no longer be resumed; its current status.
    Finished(String),
}

/// A refusal that a read of the resource can explain (Graph's answer to a resume of work
/// that is no longer waiting is undocumented: any 4xx but auth, not-found and throttling).
fn is_refusal(failure: &GraphFailure) -> bool {
    failure
        .status()
        .is_some_and(|s| (400..500).contains(&s) && !matches!(s, 401 | 403 | 404 | 408 | 429))
}

/// POSTs `body` to `{resource}/resume`; on a refusal, reads `resource` as a `T` (one of
/// [`crate::graph::models`]) and lets `judge` say what it shows.
pub(super) async fn resume_or_explain<T: DeserializeOwned>(
    graph: &GraphClient,
    call: &Call,
    resource: &GraphPath,
    body: &Value,
    judge: impl FnOnce(T) -> ReadBack,
) -> Result<Outcome, Failure> {
    let refusal = match graph
        .post(call, &resource.clone().words("resume"), body)
        .await
    {
        Ok(answer) => {
            return Ok(Outcome::Resumed {
                graph_request_id: answer.request_id,
            })
        }
        Err(refusal) if is_refusal(&refusal) => refusal,
        Err(failure) => return Err(failure.into()),
    };
    let answer = match graph.get(call, graph.url(resource)).await {
        Ok(answer) => answer,
        Err(failure @ GraphFailure::Status { status: 404, .. }) => return Err(failure.into()),
        Err(failure) => {
            // The read could not be made (throttled, an outage): whether the refusal was of
            // a resume already applied (its answer lost) is unknown, so this is passing
            // trouble, held and tried again, not a refusal to fail on.
            let failure = Failure::from(failure);
            return Err(match failure.problem().retry {
                Retry::Later => failure,
                Retry::Never | Retry::AfterPropagation => refusal.into(),
            });
        }
    };
    match judge(answer.json()?) {
        ReadBack::AlreadyResumed => Ok(Outcome::AlreadyResumed {
            graph_request_id: answer.request_id,
        }),
        ReadBack::StillWaiting => Err(refusal.into()),
        ReadBack::Finished(current_status) => Err(Failure::Conflict {
            current_status,
            request_id: answer.request_id,
        }),
    }
}
