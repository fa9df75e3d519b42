//! What every invocation shares: the settings, the one Graph client of the process, and
//! the signal that the process is stopping.
use crate::auth::TokenSource;
use crate::config::Settings;
use crate::graph::{GraphClient, GraphFailure};
use crate::report::{LastSweep, Refusals, TaskListing};
use std::sync::Mutex;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

pub struct App {
    pub settings: Settings,
    graph: tokio::sync::OnceCell<GraphClient>,
    /// Cancelled when the process is told to stop: waits end at once, so in-flight
    /// invocations answer and the process can drain.
    pub stopping: CancellationToken,
    /// When Graph last refused each of the report's access request listings; the listings,
    /// their order and how long a refusal is remembered are `report`'s.
    pub(crate) refused_listings: Mutex<Refusals>,
    /// The custom tasks the last complete sweep listed, and when: the timer's look-back for
    /// what slipped, which follows its sweep, asks Graph for them once, not twice.
    pub(crate) listed_tasks: Mutex<Option<TaskListing>>,
    /// The last sweep of the in-progress report and when it ended; held while a sweep runs,
    /// so that concurrent callers share one (`report::shared_sweep`).
    pub(crate) last_sweep: tokio::sync::Mutex<Option<LastSweep>>,
}

impl App {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            graph: tokio::sync::OnceCell::new(),
            stopping: CancellationToken::new(),
            refused_listings: Mutex::new(Refusals::default()),
            listed_tasks: Mutex::new(None),
            last_sweep: tokio::sync::Mutex::new(None),
        }
    }

    /// The process's Graph client (credential, TLS configuration, connection pool), built
    /// by the first invocation that needs Graph, and only once. Building it takes a few
    /// milliseconds of CPU: at startup, that would delay the answer to the host's readiness
    /// probe (measured: 1.07× → 1.66× the minimal server's time to `GET /`), and an
    /// invocation that fails validation never needs it. If it cannot be built, every
    /// invocation that needs Graph says why, and building is tried again on the next one.
    pub async fn graph(&self) -> Result<&GraphClient, GraphFailure> {
        self.graph
            .get_or_try_init(|| async {
                let tokens =
                    TokenSource::from_settings(&self.settings).map_err(GraphFailure::from_auth)?;
                GraphClient::new(&self.settings, tokens).map_err(|_| GraphFailure::Unexpected {
                    reason: "the HTTP client for Graph could not be built".into(),
                    request_id: None,
                })
            })
            .await
    }

    /// Waits until `deadline`, or until the process is told to stop.
    pub(crate) async fn wait_until(&self, deadline: Instant) {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => {}
            _ = self.stopping.cancelled() => {}
        }
    }
}
