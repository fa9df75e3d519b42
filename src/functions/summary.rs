//! The one summary line of an invocation:
//! `Function invocationId=… key=value … outcome=… graphRequestId=… durationMs=…`.
//! Only ids and enums go in it: never a token, a secret or free text from a message; and
//! every value is escaped, so a MessageId with a line break cannot forge a second line.
use crate::host::Invocation;
use crate::telemetry::escape;
use std::fmt::Write;
use std::time::Instant;

pub(crate) struct Summary {
    text: String,
    started: Instant,
}

impl Summary {
    pub(crate) fn new(invocation: &Invocation, started: Instant) -> Self {
        Self {
            text: format!(
                "{} invocationId={}",
                invocation.function,
                escape(&invocation.id)
            ),
            started,
        }
    }

    pub(crate) fn field(&mut self, key: &str, value: Option<impl AsRef<str>>) {
        if let Some(value) = value {
            let _ = write!(self.text, " {key}={}", escape(value.as_ref()));
        }
    }

    pub(crate) fn finish(mut self, outcome: &str, graph_request_id: Option<&str>) -> String {
        self.field("outcome", Some(outcome));
        self.field("graphRequestId", graph_request_id);
        let elapsed = self.started.elapsed().as_millis().to_string();
        self.field("durationMs", Some(elapsed));
        self.text
    }
}
