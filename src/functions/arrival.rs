//! A resume command as it arrived, before it is parsed: its body, the correlation id for
//! Graph, and the start of its summary line, the same whichever trigger brought it.
use super::summary::Summary;
use super::table::Trigger;
use crate::command::CommandError;
use crate::host::{BodyError, Invocation, InvocationError, MAX_BODY_BYTES};
use serde_json::{Map, Value};
use std::time::Instant;

pub(crate) struct Arrival {
    pub(crate) body: Result<Map<String, Value>, CommandError>,
    /// The `client-request-id` for Graph: the Service Bus MessageId's, or the invocation's.
    pub(crate) correlation: String,
    pub(crate) summary: Summary,
}

impl Arrival {
    pub(crate) fn of(
        invocation: &Invocation,
        trigger: Trigger,
        started: Instant,
    ) -> Result<Self, InvocationError> {
        let mut summary = Summary::new(invocation, started);
        match trigger {
            Trigger::Queue => {
                let queue = invocation.queue()?;
                summary.field("messageId", queue.message_id.as_deref());
                summary.field("deliveryCount", queue.delivery_count.map(|n| n.to_string()));
                Ok(Self {
                    correlation: correlation_id(
                        queue.message_id.as_deref().unwrap_or(&invocation.id),
                    ),
                    body: queue.body.map_err(command_error),
                    summary,
                })
            }
            Trigger::Http => {
                let req = invocation.http()?;
                summary.field("caller", req.caller());
                Ok(Self {
                    body: req.command_body().map_err(command_error),
                    correlation: correlation_id(&invocation.id),
                    summary,
                })
            }
            Trigger::Timer => Err(InvocationError::NoCommand),
        }
    }
}

/// A body that is not a command is the caller's invalid command, named `body`.
fn command_error(error: BodyError) -> CommandError {
    match error {
        BodyError::TooLarge => CommandError::too_large(MAX_BODY_BYTES),
        other => CommandError::refused("body", other.to_string()),
    }
}

/// The `client-request-id` for Graph: the Service Bus MessageId when it is a GUID, else a
/// name-based GUID derived from it, so every redelivery of a message correlates in Graph.
pub(crate) fn correlation_id(seed: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5f1e_2c3a_8d4b_4e6f_9a0b_1c2d_3e4f_5a6b);
    match uuid::Uuid::parse_str(seed) {
        Ok(id) => id.to_string(),
        Err(_) => uuid::Uuid::new_v5(&NAMESPACE, seed.as_bytes()).to_string(),
    }
}
