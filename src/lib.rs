//! resume-handler: an Azure Functions custom handler that resumes paused Microsoft Entra
//! ID Governance work (Lifecycle Workflows task processing results, Entitlement Management
//! access package assignment requests) through the Microsoft Graph resume APIs.
//!
//! - [`config`]: settings from the environment, validated once; [`app`]: what every
//!   invocation shares;
//! - [`host`]: the custom handler wire protocol;
//! - [`domain`]: commands, parsed and validated;
//! - [`graph`] and [`auth`]: the Graph client and its credential; [`outbound`]: how
//!   every HTTP client that leaves the process is built;
//! - [`functions`]: the function table, one module per operation, and the outcomes;
//! - [`startup`]: the server.
pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod functions;
pub mod graph;
pub mod host;
pub mod outbound;
pub mod startup;
pub mod telemetry;
