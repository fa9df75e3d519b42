//! The commands, parsed and validated before any Graph call ("parse, don't validate"):
//! once a [`ResumeTask`] or [`ResumeAccessRequest`] exists, every id in it is safe to put
//! in a Graph path and every enum is canonical.
mod access_request;
mod error;
mod id;
mod task;

pub use access_request::{AccessCommand, ResumeAccessRequest, Stage};
pub use error::CommandError;
pub use id::ResourceId;
pub use task::{OperationStatus, ResumeTask};

use serde_json::{Map, Value};

/// An optional string field: absent or null is `None`, anything but a string is refused.
fn optional_string<'a>(
    body: &'a Map<String, Value>,
    field: &str,
    target: &str,
) -> Result<Option<&'a str>, CommandError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(CommandError::invalid(
            target,
            format!("'{target}' must be a string"),
        )),
    }
}

/// Two spellings of one field (a canonical one and an alias) must agree when both are given.
fn one_of<'a>(
    body: &'a Map<String, Value>,
    canonical: &str,
    alias: &str,
) -> Result<Option<&'a str>, CommandError> {
    let a = optional_string(body, canonical, canonical)?;
    let b = optional_string(body, alias, canonical)?;
    match (a, b) {
        (Some(a), Some(b)) if a != b => Err(CommandError::invalid(
            canonical,
            format!("'{canonical}' and '{alias}' are both given and differ"),
        )),
        (a, b) => Ok(a.or(b)),
    }
}
