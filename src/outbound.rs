//! Every HTTP client that leaves the process (Graph, and the token endpoint through
//! `azure_identity`) is built here, the same way:
//! - no redirects: a redirect could carry a token to another host;
//! - a connect timeout, and the caller's own total timeout per request;
//! - proxies only when `GRAPH_PROXY` asks for one. reqwest would otherwise follow
//!   `HTTP_PROXY`/`HTTPS_PROXY` from the environment and send the bearer token, and the
//!   managed identity request with its `X-IDENTITY-HEADER`, to whatever they name. Even
//!   with `GRAPH_PROXY`, loopback and link-local hosts (the managed identity endpoint)
//!   are reached directly.
use crate::config::Settings;
use std::time::Duration;

/// How long a TCP (and TLS) connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Hosts never reached through `GRAPH_PROXY`: the machine itself and its link-local
/// neighbours, where App Service serves the managed identity endpoint.
const DIRECT_HOSTS: &str = "localhost,127.0.0.0/8,::1,169.254.0.0/16,fe80::/10";

/// A client builder with this module's rules; `timeout` bounds each whole exchange.
pub fn client(settings: &Settings, timeout: Option<Duration>) -> reqwest::ClientBuilder {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("resume-handler/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60));
    if let Some(timeout) = timeout {
        builder = builder.timeout(timeout);
    }
    match &settings.graph.proxy {
        None => builder.no_proxy(),
        Some(proxy) => builder.proxy(
            reqwest::Proxy::all(proxy.as_str())
                .expect("GRAPH_PROXY was validated at startup")
                .no_proxy(reqwest::NoProxy::from_string(DIRECT_HOSTS)),
        ),
    }
}
