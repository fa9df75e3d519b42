//! The Azure Functions custom handler wire contract, with `enableForwardingHttpRequest`
//! off: every trigger arrives as `POST /{FunctionName}` with the host's JSON invocation
//! payload, and every answer is the host's JSON invocation response.
//!
//! A queue invocation, as the host sends it (note the JSON string inside a JSON string,
//! and Metadata numbers and ids as strings):
//!
//! ```text
//! POST /ResumeTaskQueue
//! X-Azure-Functions-InvocationId: 6d0f7f8c-…
//! {"Data": {"message": "\"{\\\"workflowId\\\":\\\"…\\\",\\\"operationStatus\\\":\\\"completed\\\"}\""},
//!  "Metadata": {"MessageId": "\"order-42\"", "DeliveryCount": "1", "sys": {"MethodName": "ResumeTaskQueue", …}}}
//! ```
//!
//! An HTTP invocation (`Body` is the raw request body as a string, present only when the
//! request had one; `Headers` values are arrays):
//!
//! ```text
//! POST /ResumeTask
//! {"Data": {"req": {"Url": "http://localhost:7071/api/ResumeTask", "Method": "POST",
//!   "Headers": {"Content-Type": ["application/json"]}, "Query": {}, "Params": {},
//!   "Identities": [{"AuthenticationType": "WebJobsAuthLevel", "Claims": […]}],
//!   "Body": "{\"workflowId\":\"…\"}"}},
//!  "Metadata": {…}}
//! ```
//!
//! The answer always has all three keys; HTTP functions answer through `Outputs.res`, and a
//! non-2xx status fails the invocation (for a queue: the message is redelivered):
//!
//! ```text
//! 200 {"Outputs": {"res": {"statusCode": 200, "headers": {"Content-Type": "application/json"},
//!                          "body": {"outcome": "resumed", "graphRequestId": "…"}}},
//!      "Logs": ["ResumeTask … outcome=resumed …"], "ReturnValue": null}
//! ```
//!
//! The protocol's details, read from the host's source, are in docs/host-protocol.md.
mod error;
mod invocation;
mod payload;
mod response;

pub use error::{BodyError, InvocationError};
pub use invocation::Invocation;
pub use payload::MAX_BODY_BYTES;
pub use response::{json_len, raw, HttpOutput, InvocationResponse};
