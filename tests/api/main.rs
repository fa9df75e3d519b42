//! Black-box tests: the real handler binary, started as the Functions host starts it, and
//! the Graph emulator on loopback; every request is built as docs/host-protocol.md describes.
mod helpers;

mod access_request;
mod cli;
mod doctor;
mod graph_client;
mod host_protocol;
mod hostile_graph;
mod list_in_progress;
mod local_front;
mod monitoring;
mod readme;
mod resume_task;
mod starters;
