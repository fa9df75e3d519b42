//! The local Functions front, for people without Core Tools: what `func start` serves on
//! 7071 (each HTTP function at `/{routePrefix}/{Name}`), and a stand-in for the app's Service
//! Bus queues that takes the REST send the starters use (`POST /{queue}/messages` with a
//! `BrokerProperties` header) and delivers each message to its function as the host's
//! Service Bus trigger does. Every invocation reaches the handler in the host's own frames,
//! through host-sim.
use crate::app::{FunctionApp, Trigger};
use crate::queue::{Queue, Sent, Settlement};
use bytes::Bytes;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use warp::http::{HeaderMap, Method, Response, StatusCode};
use warp::Filter;

/// The front's state: the app, the handler behind it, and the queues.
pub struct Front {
    app: FunctionApp,
    handler: host_sim::Host,
    queues: Vec<Arc<Queue>>,
}

/// A front serving until dropped.
pub struct RunningFront {
    pub addr: SocketAddr,
    pub front: Arc<Front>,
    _server: tokio::task::JoinHandle<()>,
    _workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for RunningFront {
    fn drop(&mut self) {
        self._server.abort();
        for worker in &self._workers {
            worker.abort();
        }
    }
}

impl RunningFront {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Front {
    pub fn new(app: FunctionApp, handler: host_sim::Host) -> Self {
        let queues = app
            .queue_functions()
            .map(|(queue, function)| Arc::new(Queue::new(queue, function, app.queues)))
            .collect();
        Self {
            app,
            handler,
            queues,
        }
    }

    pub fn queue(&self, name: &str) -> Option<&Arc<Queue>> {
        self.queues.iter().find(|q| q.name == name)
    }

    pub fn queues(&self) -> &[Arc<Queue>] {
        &self.queues
    }

    /// Serves on 127.0.0.1:`port` (0 for any) and starts each queue's deliveries,
    /// `maxConcurrentCalls` at a time.
    pub async fn serve(self, port: u16) -> std::io::Result<RunningFront> {
        let front = Arc::new(self);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let routes = routes(Arc::clone(&front));
        let server = tokio::spawn(async move {
            warp::serve(routes).incoming(listener).run().await;
        });
        let mut workers = Vec::new();
        for queue in &front.queues {
            for _ in 0..front.app.max_concurrent_calls {
                let (front, queue) = (Arc::clone(&front), Arc::clone(queue));
                workers.push(tokio::spawn(async move { front.deliver(&queue).await }));
            }
        }
        Ok(RunningFront {
            addr,
            front,
            _server: server,
            _workers: workers,
        })
    }

    /// Delivers the queue's messages for ever: each to its function, then completed when
    /// the invocation succeeded and abandoned when it failed, as the host's trigger settles.
    async fn deliver(&self, queue: &Queue) {
        loop {
            let lease = queue.receive().await;
            let message = &lease.message;
            let payload = host_sim::queue_payload(
                &queue.function,
                &message.body,
                host_sim::Encoding::Double,
                &message.message_id,
                message.delivery_count,
            );
            let settlement = match self.handler.invoke(&queue.function, &payload).await {
                Ok((200, _)) => Settlement::Complete,
                Ok((status, answer)) => Settlement::Abandon {
                    error: failure(status, &answer),
                },
                Err(e) => Settlement::Abandon { error: e },
            };
            queue.settle(lease, settlement);
        }
    }

    /// An HTTP function, invoked as the host invokes it: the body in `Data.req`, the answer
    /// from `Outputs.res`.
    async fn http(&self, function: &str, method: &Method, body: Bytes) -> Response<Vec<u8>> {
        let body = String::from_utf8_lossy(&body);
        let payload = host_sim::http_payload(function, method.as_str(), Some(&body));
        match self.handler.invoke(function, &payload).await {
            Ok((200, answer)) => http_response(&answer["Outputs"]["res"]),
            // The host answers 500 when the handler fails an invocation.
            Ok((status, answer)) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!(
                    "the handler failed the invocation: {}\n",
                    failure(status, &answer)
                ),
            ),
            Err(e) => text(StatusCode::BAD_GATEWAY, format!("{e}\n")),
        }
    }

    /// `GET /`: where everything is.
    fn index(&self) -> Value {
        let prefix = &self.app.route_prefix;
        let functions: Vec<Value> = self
            .app
            .functions
            .iter()
            .map(|f| match &f.trigger {
                Trigger::Http { methods } => json!({"function": f.name, "trigger": "http",
                    "methods": methods, "url": format!("/{prefix}/{}", f.name)}),
                Trigger::Queue { queue } => json!({"function": f.name, "trigger": "serviceBus",
                    "send": format!("POST /{queue}/messages"), "state": format!("GET /{queue}")}),
                Trigger::Timer => json!({"function": f.name, "trigger": "timer"}),
            })
            .collect();
        json!({ "functions": functions })
    }
}

/// What a failed invocation said: the handler's error, or its status.
fn failure(status: u16, answer: &Value) -> String {
    let error = &answer["error"];
    match (error["code"].as_str(), error["message"].as_str()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        _ => format!("invocation answered {status}"),
    }
}

/// `Outputs.res` as an HTTP response: its status, headers and body (a string as it is, any
/// other JSON as JSON).
fn http_response(res: &Value) -> Response<Vec<u8>> {
    let status = res["statusCode"]
        .as_u64()
        .or_else(|| res["statusCode"].as_str()?.parse().ok())
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let body = match &res["body"] {
        Value::String(text) => text.clone().into_bytes(),
        Value::Null => Vec::new(),
        other => other.to_string().into_bytes(),
    };
    let mut response = Response::builder().status(status);
    if let Some(headers) = res["headers"].as_object() {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                response = response.header(name, value);
            }
        }
    }
    response.body(body).unwrap_or_else(|e| {
        text(
            StatusCode::BAD_GATEWAY,
            format!("the handler's answer is not HTTP: {e}\n"),
        )
    })
}

fn text(status: StatusCode, body: String) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(body.into_bytes())
        .expect("a plain response")
}

fn json_response(status: StatusCode, value: &Value) -> Response<Vec<u8>> {
    let mut body = serde_json::to_vec_pretty(value).expect("JSON serializes");
    body.push(b'\n');
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(body)
        .expect("a JSON response")
}

fn routes(
    front: Arc<Front>,
) -> impl Filter<Extract = (Response<Vec<u8>>,), Error = Infallible> + Clone {
    let get = {
        let front = Arc::clone(&front);
        warp::get()
            .and(warp::path::full())
            .then(move |path: warp::path::FullPath| {
                let front = Arc::clone(&front);
                async move { front.get(path.as_str()).await }
            })
    };
    // A body is read only up to its declared length, at most MAX_BODY_BYTES.
    let post = warp::post()
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::bytes())
        .then(
            move |path: warp::path::FullPath, headers: HeaderMap, body: Bytes| {
                let front = Arc::clone(&front);
                async move { front.post(path.as_str(), &headers, body).await }
            },
        );
    get.or(post).unify().recover(refusal).unify()
}

/// What a request no route took is told.
async fn refusal(rejection: warp::Rejection) -> Result<Response<Vec<u8>>, Infallible> {
    Ok(
        if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
            text(
                StatusCode::PAYLOAD_TOO_LARGE,
                "a body is at most 256 KiB, as a Service Bus message is\n".into(),
            )
        } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
            text(
                StatusCode::LENGTH_REQUIRED,
                "send the body with a Content-Length\n".into(),
            )
        } else {
            text(
                StatusCode::NOT_FOUND,
                "see GET / for what is served\n".into(),
            )
        },
    )
}

/// A Service Bus Standard message's largest size, and the largest body this front reads.
const MAX_BODY_BYTES: u64 = 256 * 1024;

impl Front {
    async fn get(&self, path: &str) -> Response<Vec<u8>> {
        match segments(path).as_slice() {
            [""] => json_response(StatusCode::OK, &self.index()),
            [prefix, name] if *prefix == self.app.route_prefix => {
                self.function(name, &Method::GET, Bytes::new()).await
            }
            [queue] => match self.queue(queue) {
                Some(queue) => json_response(StatusCode::OK, &queue.state()),
                None => text(StatusCode::NOT_FOUND, format!("no queue {queue}\n")),
            },
            _ => text(
                StatusCode::NOT_FOUND,
                "see GET / for what is served\n".into(),
            ),
        }
    }

    async fn post(&self, path: &str, headers: &HeaderMap, body: Bytes) -> Response<Vec<u8>> {
        match segments(path).as_slice() {
            [prefix, name] if *prefix == self.app.route_prefix => {
                self.function(name, &Method::POST, body).await
            }
            [queue, "messages"] => match self.queue(queue) {
                Some(queue) => send(queue, headers, &body),
                None => text(StatusCode::NOT_FOUND, format!("no queue {queue}\n")),
            },
            _ => text(
                StatusCode::NOT_FOUND,
                "see GET / for what is served\n".into(),
            ),
        }
    }

    /// The HTTP function `name`, if one serves `method`.
    async fn function(&self, name: &str, method: &Method, body: Bytes) -> Response<Vec<u8>> {
        match self.app.http_function(name, method.as_str()) {
            Some(function) => self.http(&function.name, method, body).await,
            None => text(
                StatusCode::NOT_FOUND,
                format!("no HTTP function {name} serves {method}\n"),
            ),
        }
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_matches('/').split('/').collect()
}

/// Service Bus's REST send: the body is the message, `BrokerProperties` (JSON) may set its
/// `MessageId`; 201 whether it was enqueued or dropped as a duplicate, as Service Bus answers.
fn send(queue: &Queue, headers: &HeaderMap, body: &[u8]) -> Response<Vec<u8>> {
    let properties = match headers.get("BrokerProperties") {
        None => Value::Null,
        Some(value) => match serde_json::from_slice::<Value>(value.as_bytes()) {
            Ok(properties @ Value::Object(_)) => properties,
            _ => {
                return text(
                    StatusCode::BAD_REQUEST,
                    "BrokerProperties must be a JSON object, such as {\"MessageId\":\"m-1\"}\n"
                        .into(),
                )
            }
        },
    };
    let message_id = match &properties["MessageId"] {
        Value::Null => None,
        Value::String(id) if !id.is_empty() && id.len() <= 128 => Some(id.clone()),
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "BrokerProperties.MessageId must be a string of 1 to 128 characters\n".into(),
            )
        }
    };
    // The host hands the function the body as text; a JSON body is the command.
    let text_body = String::from_utf8_lossy(body);
    let message = serde_json::from_str(&text_body).unwrap_or(Value::String(text_body.into_owned()));
    let (status, note) = match queue.send(message_id, message) {
        Sent::Enqueued { sequence_number } => (
            StatusCode::CREATED,
            json!({"enqueued": true, "sequenceNumber": sequence_number}),
        ),
        Sent::Duplicate => (
            StatusCode::CREATED,
            json!({"enqueued": false, "duplicate": true}),
        ),
    };
    json_response(status, &note)
}
