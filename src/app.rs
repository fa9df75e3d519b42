//! What every invocation shares: the settings, the one Graph client of the process, and
//! the signal that the process is stopping.
use crate::auth::TokenSource;
use crate::config::Settings;
use crate::functions::list_in_progress::{Listing, LISTINGS};
use crate::graph::{GraphClient, GraphFailure};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub struct App {
    pub settings: Settings,
    graph: tokio::sync::OnceCell<GraphClient>,
    /// Cancelled when the process is told to stop: waits end at once, so in-flight
    /// invocations answer and the process can drain.
    pub stopping: CancellationToken,
    /// How many of the access request listings Graph has refused, in the order they are
    /// tried: the report uses the next from then on
    /// (see `functions/list_in_progress/access_requests.rs`).
    refused_listings: AtomicUsize,
}

impl App {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            graph: tokio::sync::OnceCell::new(),
            stopping: CancellationToken::new(),
            refused_listings: AtomicUsize::new(0),
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
                let tokens = TokenSource::from_settings(&self.settings).map_err(|e| {
                    GraphFailure::unavailable(format!(
                        "cannot set up {}: {e}",
                        self.settings.auth.describe()
                    ))
                    .with_retry_after(Duration::from_secs(60))
                })?;
                GraphClient::new(&self.settings, tokens).map_err(|_| GraphFailure::Unexpected {
                    reason: "the HTTP client for Graph could not be built".into(),
                    request_id: None,
                })
            })
            .await
    }

    /// The access request listing to use: the first that Graph has not refused.
    pub(crate) fn request_listing(&self) -> Listing {
        let refused = self.refused_listings.load(Ordering::Relaxed);
        LISTINGS[refused.min(LISTINGS.len() - 1)]
    }

    /// Graph refused `listing`: the next one is used from now on. False when there is no
    /// next one (the refusal is then the report's error).
    pub(crate) fn refuse_request_listing(&self, listing: Listing) -> bool {
        let at = LISTINGS
            .iter()
            .position(|l| *l == listing)
            .expect("a listing of LISTINGS");
        if at + 1 >= LISTINGS.len() {
            return false;
        }
        // Concurrent sweeps may both be refused: the count moves past `listing` once.
        let _ = self.refused_listings.compare_exchange(
            at,
            at + 1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        true
    }

    /// Waits until `deadline`, or until the process is told to stop.
    pub(crate) async fn wait_until(&self, deadline: Instant) {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => {}
            _ = self.stopping.cancelled() => {}
        }
    }
}
