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

/// How long a connection may wait for a request's headers: both a connection that sends
/// part of a request line and stops, and a kept-alive connection with nothing to send, are
/// closed after it. The host's HTTP client retires a pooled connection after one idle
/// minute (docs/host-protocol.md, *Connections*), so it always lets go first and never
/// sends on a connection this side is closing. An invocation in flight is not idle: the
/// clock runs only while a request's headers are awaited.
pub const CONNECTION_IDLE_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Application {
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    idle_timeout: Duration,
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
            idle_timeout: CONNECTION_IDLE_TIMEOUT,
        })
    }

    /// Replaces [`CONNECTION_IDLE_TIMEOUT`].
    pub fn with_idle_timeout(self, idle_timeout: Duration) -> Self {
        Self {
            idle_timeout,
            ..self
        }
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
        let server = serve(
            self.listener,
            routes(self.app),
            self.idle_timeout,
            async move {
                stop.await;
                signalled.cancel();
            },
        );
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

/// Accepts connections until `stop` resolves, then waits for the open ones to finish.
///
/// This is warp's own serve loop with a timer, which warp's does not set: without one,
/// hyper applies no header read timeout, and a connection that stops sending holds its
/// task for ever.
async fn serve(
    listener: tokio::net::TcpListener,
    routes: impl Filter<Extract = (warp::reply::Response,), Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    idle_timeout: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(idle_timeout);
    let connections = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors, most likely: the next accept may succeed.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(warp::service(routes.clone()));
        let connection = connections.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed");
            }
        });
    }
    drop(listener);
    connections.shutdown().await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const IDLE: Duration = Duration::from_millis(300);

    /// A connection to a new handler whose connections idle out after [`IDLE`], on which
    /// `sent` has been written.
    async fn connection_that_sent(sent: &[u8]) -> TcpStream {
        let settings = Settings::for_operator(&Env::from_pairs([(
            "IDENTITY_ENDPOINT",
            "http://127.0.0.1:1/msi/token",
        )]))
        .unwrap();
        let application = Application::build(settings)
            .await
            .unwrap()
            .with_idle_timeout(IDLE);
        let mut stream = TcpStream::connect(application.local_addr()).await.unwrap();
        tokio::spawn(application.run_until_stopped(std::future::pending()));
        stream.write_all(sent).await.unwrap();
        stream
    }

    /// Everything the handler sends until it closes the connection; `None` if it is still
    /// open after ten seconds.
    async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
        let mut received = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received))
            .await
            .ok()?
            .ok()?;
        Some(String::from_utf8_lossy(&received).into_owned())
    }

    #[tokio::test]
    async fn a_connection_that_stops_inside_its_headers_is_closed() {
        let mut stream =
            connection_that_sent(b"POST /ResumeTask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-").await;
        assert!(
            read_until_closed(&mut stream).await.is_some(),
            "a half-sent request line held its connection open"
        );
    }

    #[tokio::test]
    async fn a_kept_alive_connection_with_nothing_to_send_is_closed() {
        let mut stream = connection_that_sent(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
        let answered = read_until_closed(&mut stream)
            .await
            .expect("an idle kept-alive connection stayed open");
        assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    }

    #[tokio::test]
    async fn the_clock_stops_once_the_headers_have_arrived() {
        let mut stream = connection_that_sent(b"POST /NoSuchFunction HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n").await;
        tokio::time::sleep(IDLE * 3).await;
        stream.write_all(b"{}").await.unwrap();
        let answered = read_until_closed(&mut stream).await.unwrap();
        assert!(answered.starts_with("HTTP/1.1 "), "no answer: {answered:?}");
    }
}
