//! Microsoft Graph: one HTTP client and one token source per process.
//!
//! - [`client`]: authenticated requests, correlation ids, the retry loop, paging;
//! - [`retry`]: the pure retry policy (what to retry, how long to wait);
//! - [`path`]: Graph URLs built from fixed words and validated ids only;
//! - [`error`]: how a Graph call failed;
//! - [`models`]: the resources read, as lenient serde types; [`enums`]: Graph's
//!   enumerations this app decides on, parsed once;
//! - [`reads`]: the reads more than one part of the app makes.
pub mod client;
pub mod enums;
pub mod error;
pub mod models;
pub mod path;
pub mod reads;
pub mod retry;

pub use client::{Call, CallStats, GraphClient};
pub use error::GraphFailure;
pub use path::GraphPath;
pub use retry::RetryPolicy;
