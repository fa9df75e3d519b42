//! What can be wrong with what the host sends, in the protocol's own terms: the host layer
//! knows nothing of commands, so the function layer decides what each error means to a
//! caller.
use super::payload::MAX_BODY_BYTES;

/// The invocation payload itself is malformed: the host (or whoever plays it) sent
/// something this protocol does not allow. Answered with a failed invocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvocationError {
    #[error("the invocation payload is not JSON")]
    NotJson,
    #[error("the invocation payload is not a JSON object")]
    NotAnObject,
    #[error("the invocation has no Data")]
    NoData,
    #[error("the invocation's Data is not an object")]
    DataNotAnObject,
    #[error("the invocation has no '{0}' binding in Data")]
    MissingBinding(&'static str),
    #[error("the 'req' binding is not an HTTP request object")]
    NotAnHttpRequest,
    #[error("a timer invocation carries no command")]
    NoCommand,
}

/// A binding value is not a usable body: the caller's or the sender's doing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is empty; send a JSON object")]
    Empty,
    #[error("the body is not JSON ({0})")]
    NotJson(String),
    #[error("the body must be a JSON object")]
    NotAnObject,
    #[error("the body is a JSON string encoded too many times")]
    TooManyLayers,
    #[error("the body is larger than {} KiB", MAX_BODY_BYTES / 1024)]
    TooLarge,
    #[error("the binary body is not valid base64")]
    NotBase64,
    #[error("the body is not UTF-8 text")]
    NotUtf8,
}
