//! The one summary line of an invocation:
//! `Function invocationId=… key=value … outcome=… graphRequestId=… durationMs=…`.
//! Its names are what the template's alerts and workbook query (README, *Logging*).
//! Only ids and enums go in it: never a token, a secret or free text from a message; and
//! every value goes through [`field_value`], so no value (a MessageId with a line break, or
//! with ` outcome=resumed` in it) can forge a line or a field.
use crate::graph::CallStats;
use crate::host::Invocation;
use crate::telemetry::field_value;
use std::fmt::Write;
use std::time::Instant;

pub(crate) struct Summary {
    text: String,
    started: Instant,
}

impl Summary {
    pub(crate) fn new(invocation: &Invocation, started: Instant) -> Self {
        Self::of(&invocation.function, Some(&invocation.id), started)
    }

    /// The line of an invocation known only by its function's name and, where the host
    /// gave one, its id (an invocation the handler could not read).
    pub(crate) fn of(function: &str, invocation_id: Option<&str>, started: Instant) -> Self {
        Self {
            text: format!(
                "{} invocationId={}",
                field_value(function),
                field_value(invocation_id.unwrap_or("-"))
            ),
            started,
        }
    }

    pub(crate) fn field(&mut self, key: &str, value: Option<impl AsRef<str>>) {
        if let Some(value) = value {
            let _ = write!(self.text, " {key}={}", field_value(value.as_ref()));
        }
    }

    /// What Graph cost: `graphCalls`, `graphMs`, `throttled` (answers that were 429) and
    /// `graphStatus` (the last answer's status), the last only when Graph answered.
    pub(crate) fn graph(&mut self, stats: CallStats) {
        self.field("graphCalls", Some(stats.requests.to_string()));
        self.field("graphMs", Some(stats.graph_time.as_millis().to_string()));
        self.field("throttled", Some(stats.throttled.to_string()));
        self.field("graphStatus", stats.last_status.map(|s| s.to_string()));
    }

    pub(crate) fn finish(mut self, outcome: &str, graph_request_id: Option<&str>) -> String {
        self.field("outcome", Some(outcome));
        self.field("graphRequestId", graph_request_id);
        let elapsed = self.started.elapsed().as_millis().to_string();
        self.field("durationMs", Some(elapsed));
        self.text
    }
}
