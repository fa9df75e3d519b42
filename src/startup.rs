//! Builds the app from settings and serves the custom handler protocol on 127.0.0.1.
use crate::app::App;
use crate::config::Settings;
use crate::functions;
use crate::host::InvocationResponse;
use bytes::{Buf, Bytes, BytesMut};
use futures::{FutureExt, Stream, StreamExt};
use serde_json::json;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use warp::http::StatusCode;
use warp::{Filter, Reply};

/// After the stop signal, in-flight invocations have this long to answer; then the process
/// exits anyway (a held queue delivery is released at once: its message comes back).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

/// The largest invocation payload read: a 256 KiB Service Bus message, JSON-escaped twice
/// by the host, stays well below it.
const MAX_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;

/// The longest an invocation payload may take to arrive. The host sends it at once over
/// loopback; a connection that trickles it (or stops half way) is not left holding a task
/// and its buffer.
pub const PAYLOAD_READ_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Application {
    app: Arc<App>,
    listener: tokio::net::TcpListener,
}

impl Application {
    /// Binds `127.0.0.1:{settings.port}`.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", settings.port))
            .await
            .map_err(|e| anyhow::anyhow!("Failed to listen on 127.0.0.1:{}: {e}", settings.port))?;
        Ok(Self {
            app: Arc::new(App::new(settings)),
            listener,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn settings(&self) -> &Settings {
        &self.app.settings
    }

    /// Serves until `stop` resolves, then stops accepting invocations and lets the ones in
    /// flight answer, for at most [`DRAIN_TIMEOUT`].
    pub async fn run_until_stopped(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let stopping = self.app.stopping.clone();
        let signalled = stopping.clone();
        let server = warp::serve(routes(self.app))
            .incoming(self.listener)
            .graceful(async move {
                stop.await;
                signalled.cancel();
            })
            .run();
        let deadline = async {
            stopping.cancelled().await;
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        };
        tokio::select! {
            _ = server => {}
            _ = deadline => tracing::warn!(
                "invocations still in flight {} s after the stop signal; exiting",
                DRAIN_TIMEOUT.as_secs()
            ),
        }
    }
}

pub fn routes(
    app: Arc<App>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone {
    // Readiness: the host polls `GET /` until anything answers.
    let ready = warp::get()
        .and(warp::path::end())
        .map(|| warp::reply().into_response());
    let invoke = warp::post()
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::header::optional::<String>(
            "x-azure-functions-invocationid",
        ))
        .and(warp::body::stream())
        .then(
            move |function: String, invocation_id: Option<String>, body| {
                let app = app.clone();
                async move {
                    invoke(app, function, invocation_id, body)
                        .await
                        .into_response()
                }
            },
        );
    let other = warp::any().map(|| {
        InvocationResponse::failed(StatusCode::NOT_FOUND, json!({"code": "notFound", "message": "POST /{FunctionName} with an invocation payload"}))
            .into_response()
    });
    ready.or(invoke).unify().or(other).unify()
}

async fn invoke(
    app: Arc<App>,
    function: String,
    invocation_id: Option<String>,
    body: impl Stream<Item = Result<impl Buf, warp::Error>> + Send + Unpin,
) -> InvocationResponse {
    let read = tokio::time::timeout(PAYLOAD_READ_TIMEOUT, read_capped(body, MAX_PAYLOAD_BYTES));
    let payload = match read.await {
        Ok(Ok(payload)) => payload,
        Ok(Err(message)) => {
            return InvocationResponse::failed(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"code": "payloadTooLarge", "message": message}),
            );
        }
        Err(_) => {
            return InvocationResponse::failed(
                StatusCode::REQUEST_TIMEOUT,
                json!({"code": "payloadTimeout", "message": format!(
                    "the invocation payload did not arrive within {} s",
                    PAYLOAD_READ_TIMEOUT.as_secs()
                )}),
            );
        }
    };
    // Even a bug that panics answers with a complete response, and the process lives on.
    let invocation = functions::invoke(&app, &function, invocation_id.as_deref(), &payload);
    match AssertUnwindSafe(invocation).catch_unwind().await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(function, "the invocation panicked");
            InvocationResponse::failed(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"code": "internalError", "message": "the handler failed; see its stderr"}),
            )
        }
    }
}

/// Reads a (possibly chunked) body, refusing more than `limit` bytes.
async fn read_capped(
    mut body: impl Stream<Item = Result<impl Buf, warp::Error>> + Unpin,
    limit: usize,
) -> Result<Bytes, String> {
    let mut collected = BytesMut::new();
    while let Some(chunk) = body.next().await {
        let mut chunk =
            chunk.map_err(|e| format!("the invocation payload could not be read: {e}"))?;
        if collected.len() + chunk.remaining() > limit {
            return Err(format!(
                "the invocation payload is larger than {} MiB",
                limit / (1024 * 1024)
            ));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            collected.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(collected.freeze())
}
