//! A faithful, stateful local stand-in for the Microsoft Graph identity governance
//! endpoints that resume-handler uses, and for the App Service managed identity endpoint.
//!
//! - [`model`]: the tenant, which is also the seed file format;
//! - [`generate`]: generated tenants (`--generate`) and the demo tenant;
//! - `server`: the HTTP surface: `/msi/token`, `/{v1.0|beta}/…`, `/_emulator/state`;
//! - `route`: what a Graph route is given and answers, which the surface and the services share;
//! - `lcw` and `em`: the Lifecycle Workflows and Entitlement Management routes and rules;
//! - `odata`: `$filter`, `$select` and paging; [`faults`]: injected failures and rate limits;
//! - [`msi`]: the managed identity endpoint;
//! - `arm`: Azure Resource Manager, for the deployment `doctor` reads (the tenant's `azure`,
//!   a healthy one from [`generate::deploy`]);
//! - `rbac`: Entitlement Management's role assignments (a catalog role such as *Access
//!   package assignment manager*), listed and granted.
//!
//! The modules import each other one way: `server` → `lcw`/`em`/`arm`/`rbac` → `route` →
//! `odata`/`error`.
//!
//! Tests use it as a library: [`Emulator::start`] binds a free loopback port and serves
//! until the returned [`Running`] is dropped, and the emulator's state stays inspectable.
mod arm;
mod clock;
mod em;
mod error;
pub mod faults;
pub mod generate;
mod lcw;
pub mod model;
pub mod msi;
mod odata;
mod rbac;
mod route;
mod server;
mod state;

pub use faults::Fault;
pub use generate::{demo, generate, GenerateSpec};
pub use model::Tenant;
pub use state::{Emulator, LoggedRequest, Stats};

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;

/// How the emulator behaves; every field can also come from a seed's `settings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Items per collection page.
    pub page_size: usize,
    /// The `X-IDENTITY-HEADER` value the managed identity endpoint expects.
    pub identity_header: String,
    /// Lifetime of issued access tokens, in seconds.
    pub token_lifetime_seconds: u64,
    /// Added to every Graph answer, in milliseconds.
    pub latency_ms: u64,
    /// Graph requests admitted per second (token bucket); `None` for no limit.
    pub rate_limit: Option<u32>,
    /// Fault specs (see [`faults`]).
    pub faults: Vec<String>,
    /// Graph does not document how it refuses a resume of work that is no longer waiting:
    /// this is the status and code the emulator answers with.
    pub not_waiting: NotWaiting,
    /// EM stages at which a callback may deny the request (Microsoft's pages disagree; see docs/graph.md).
    pub deny_stages: Vec<String>,
    /// The properties `$filter` accepts on assignment requests. Graph documents `state`,
    /// `createdDateTime` and `accessPackage/id`, and says not all properties filter; the
    /// default also accepts `id` and `status`, and a seed can narrow it to see what a client
    /// does when Graph refuses one.
    pub request_filters: Vec<String>,
    /// Whether assignment requests accept an `$expand` nested in another
    /// (`assignment($expand=target)`), which Graph does not document; a seed can refuse it.
    pub nested_expand: bool,
    /// The root written into `@odata.nextLink` and `@odata.context` (default: the emulator's
    /// own address), for an emulator behind a proxy, or to test what clients do with a
    /// next link to another host.
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotWaiting {
    pub status: u16,
    pub code: String,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            page_size: 100,
            identity_header: "local-dev".into(),
            token_lifetime_seconds: 3600,
            latency_ms: 0,
            rate_limit: None,
            faults: Vec::new(),
            not_waiting: NotWaiting {
                status: 400,
                code: "BadRequest".into(),
            },
            deny_stages: vec![
                "assignmentRequestCreated".into(),
                "assignmentRequestApproved".into(),
            ],
            request_filters: [
                "id",
                "state",
                "status",
                "createdDateTime",
                "accessPackage/id",
            ]
            .map(String::from)
            .to_vec(),
            nested_expand: true,
            public_url: None,
        }
    }
}

/// A served emulator; dropping it stops the server.
pub struct Running {
    pub emulator: Arc<Emulator>,
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    /// `http://127.0.0.1:PORT`, the value for `GRAPH_BASE_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The value for `IDENTITY_ENDPOINT`.
    pub fn identity_endpoint(&self) -> String {
        format!("{}/msi/token", self.url())
    }

    /// The settings that point resume-handler at this emulator, as Graph, as Resource
    /// Manager and as its managed identity: `GRAPH_BASE_URL`, `ARM_BASE_URL`,
    /// `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`.
    pub fn handler_settings(&self) -> [(&'static str, String); 4] {
        [
            ("GRAPH_BASE_URL", self.url()),
            ("ARM_BASE_URL", self.url()),
            ("IDENTITY_ENDPOINT", self.identity_endpoint()),
            (
                "IDENTITY_HEADER",
                self.emulator.settings.identity_header.clone(),
            ),
        ]
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl std::ops::Deref for Running {
    type Target = Emulator;
    fn deref(&self) -> &Emulator {
        &self.emulator
    }
}

impl Emulator {
    /// Serves `tenant` on `127.0.0.1:port` (0 picks a free port) in the current tokio runtime.
    pub async fn start(tenant: Tenant, settings: Settings, port: u16) -> std::io::Result<Running> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let base_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let emulator = Arc::new(
            Emulator::new(tenant, settings, base_url)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = warp::serve(server::routes(emulator.clone()))
            .incoming(listener)
            .graceful(async {
                let _ = rx.await;
            });
        tokio::spawn(server.run());
        Ok(Running {
            emulator,
            addr,
            shutdown: Some(tx),
        })
    }
}
