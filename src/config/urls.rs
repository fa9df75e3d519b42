//! The URL rules: where Graph is (`GRAPH_BASE_URL`), which proxy carries it (`GRAPH_PROXY`),
//! and which hosts plain http may reach (loopback, and link-local for the identity endpoint).
use super::cloud::Cloud;
use super::env::{invalid, ConfigError, Env};
use std::net::IpAddr;
use url::Url;

/// `GRAPH_BASE_URL`: the cloud's Graph root unless overridden; https, or plain http to loopback.
pub(super) fn parse_base_url(env: &Env, cloud: Cloud) -> Result<Url, ConfigError> {
    parse_root(env, "GRAPH_BASE_URL", cloud.graph_root())
}

/// `ARM_BASE_URL`: the cloud's Resource Manager unless overridden, by the same rules.
pub(super) fn parse_resource_manager(env: &Env, cloud: Cloud) -> Result<Url, ConfigError> {
    parse_root(env, "ARM_BASE_URL", cloud.resource_manager())
}

/// An API's root: `default` unless `setting` names another; https, or plain http to loopback,
/// without credentials, query or fragment.
fn parse_root(env: &Env, setting: &'static str, default: &str) -> Result<Url, ConfigError> {
    let Some(text) = env.get(setting) else {
        return Ok(Url::parse(default).expect("cloud roots are valid URLs"));
    };
    let url =
        Url::parse(text).map_err(|e| invalid(setting, format!("'{text}' is not a URL ({e})")))?;
    if url.query().is_some()
        || url.fragment().is_some()
        || url.username() != ""
        || url.password().is_some()
    {
        return Err(invalid(
            setting,
            "must be a plain root URL, without credentials, query or fragment",
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(invalid(setting, format!("'{text}': plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost)"))),
        other => Err(invalid(setting, format!("scheme '{other}' is not https"))),
    }
}

/// `GRAPH_PROXY`: the only proxy outbound requests use, when set.
pub(super) fn parse_proxy(env: &Env) -> Result<Option<Url>, ConfigError> {
    let Some(text) = env.get("GRAPH_PROXY") else {
        return Ok(None);
    };
    Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .filter(|_| reqwest::Proxy::all(text).is_ok())
        .map(Some)
        .ok_or_else(|| {
            invalid(
                "GRAPH_PROXY",
                format!("'{text}' is not a proxy URL such as http://proxy.contoso.com:3128"),
            )
        })
}

/// Loopback, or link-local (169.254.0.0/16, fe80::/10): addresses that never leave the host.
pub(super) fn is_host_local(url: &Url) -> bool {
    is_loopback(url)
        || match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_link_local(),
            Some(url::Host::Ipv6(ip)) => (ip.segments()[0] & 0xffc0) == 0xfe80,
            _ => false,
        }
}

/// Whether `url`'s host is this machine's loopback (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}
