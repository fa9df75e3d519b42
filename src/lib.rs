//! resume-handler: an Azure Functions custom handler that resumes paused Microsoft Entra
//! ID Governance work (Lifecycle Workflows task processing results, Entitlement Management
//! access package assignment requests) through the Microsoft Graph resume APIs.
//!
//! - [`config`]: settings from the environment, validated once; [`app`]: what every
//!   invocation shares;
//! - [`host`]: the custom handler wire protocol;
//! - the core, which knows nothing of its callers: [`command`] (a resume of either kind,
//!   its outcome and its failure) and [`report`] (the sweep of waiting work);
//! - [`graph`] and [`auth`]: the Graph client and its credential; [`outbound`]: how
//!   every HTTP client that leaves the process is built;
//! - two front ends on the core: [`functions`] (the function table and the Functions
//!   host's answers, served by [`startup`] over [`host`], the wire protocol) and [`cli`]
//!   (the operator commands, on the same binary).
pub(crate) mod app;
pub(crate) mod auth;
pub mod cli;
pub(crate) mod command;
pub mod config;
pub mod doctor;
pub(crate) mod functions;
pub(crate) mod graph;
pub(crate) mod host;
pub(crate) mod outbound;
pub(crate) mod report;
pub mod startup;
pub mod telemetry;

// What the binary and the deployment's tests use; everything else is this crate's own.
pub use functions::table::Function;
pub use functions::ITEM_LINES;
pub use graph::client::ATTEMPT_TIMEOUT;
