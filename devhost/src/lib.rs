//! The local run of the function app, for people without Azure Functions Core Tools: the
//! app as the host reads it ([`app`]), the local Functions front with its queues ([`front`],
//! [`queue`]). The `devhost` binary puts them together with the Graph emulator and the
//! handler; tests use the front on its own.
pub mod app;
pub mod front;
pub mod queue;
