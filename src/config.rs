//! Settings: read once at startup from the environment (the host passes app settings as
//! environment variables), validated into types that cannot be wrong later. A bad value
//! fails startup with one line naming the setting and what it accepts.
//!
//! The environment is injected as an [`Env`], so tests build settings from a list of pairs
//! instead of mutating the process environment.
use crate::command::{Kind, ResourceId};
use azure_core::credentials::Secret;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Duration;
use url::Url;

/// A snapshot of environment variables, which remembers the names it was asked for (so
/// the deployment's tests can check that every setting read is set or has a default).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    asked: RefCell<BTreeSet<String>>,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
            ..Self::default()
        }
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Self::default()
        }
    }

    /// The value, or `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.asked.borrow_mut().insert(name.to_string());
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every name [`Env::get`] was asked for so far.
    pub fn names_asked(&self) -> BTreeSet<String> {
        self.asked.borrow().clone()
    }
}

/// A setting that cannot be used, named, with what it accepts.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
}

fn invalid(setting: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        setting,
        problem: problem.into(),
    }
}

/// The national clouds Graph runs in (docs/graph.md, *Clouds*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Global,
    UsGov,
    UsGovDod,
    China,
}

impl Cloud {
    pub fn graph_root(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::UsGovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    pub fn authority(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov | Cloud::UsGovDod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The token scope: the cloud's Graph root with `/.default`, whatever `GRAPH_BASE_URL` says.
    pub fn scope(self) -> String {
        format!("{}/.default", self.graph_root())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    V1,
    Beta,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V1 => "v1.0",
            ApiVersion::Beta => "beta",
        }
    }
}

/// How the app authenticates to Graph, after `auto` has been resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    ManagedIdentity {
        client_id: Option<String>,
    },
    ClientSecret {
        tenant_id: String,
        client_id: String,
        /// `AZURE_CLIENT_SECRET`; its `Debug` never prints it.
        secret: Secret,
    },
    AzureCli {
        tenant_id: Option<String>,
    },
}

impl Auth {
    pub fn describe(&self) -> String {
        match self {
            Auth::ManagedIdentity { client_id: None } => {
                "managed identity (system-assigned)".into()
            }
            Auth::ManagedIdentity {
                client_id: Some(id),
            } => format!("managed identity (user-assigned, client id {id})"),
            Auth::ClientSecret { client_id, .. } => format!("client secret (app {client_id})"),
            Auth::AzureCli { .. } => "Azure CLI (local development)".into(),
        }
    }
}

/// The longest `GRAPH_RETRY_BUDGET`. A queue delivery holds its message for at most the
/// budget and one attempt ([`crate::graph::client::ATTEMPT_TIMEOUT`], 30 s); the message
/// lock is 5 minutes (Service Bus's maximum, set in `infra/modules/servicebus.bicep`, and
/// host.json's `maxAutoLockRenewalDuration`), and host.json's `functionTimeout` is 10.
/// Four minutes leaves a margin inside both.
pub const MAX_RETRY_BUDGET: Duration = Duration::from_secs(240);

/// The shortest `GRAPH_RETRY_BUDGET`: the first retry waits a second, so a shorter budget
/// retries nothing, and a delivery that meets an outage would fail at once instead of
/// holding its message (README, *Outages*).
pub const MIN_RETRY_BUDGET: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Settings {
    pub port: u16,
    pub cloud: Cloud,
    /// The Graph root, without a version: `https://graph.microsoft.com` or an override.
    pub graph_base_url: Url,
    pub api_version: ApiVersion,
    pub auth: Auth,
    pub retry_budget: Duration,
    pub resume_source: String,
    pub allowed_workflow_ids: Option<BTreeSet<ResourceId>>,
    pub list_workflow_ids: Option<Vec<ResourceId>>,
    /// `LIST_IN_PROGRESS_KINDS`: the kinds of waiting work the report covers.
    pub list_kinds: BTreeSet<Kind>,
    pub stale_after: Duration,
    /// `LIST_IN_PROGRESS_REUSE`: how recent a finished report answers another caller instead
    /// of a new sweep (`0s` by default; callers that ask while a sweep runs always share it).
    pub list_reuse: Duration,
    pub max_concurrency: usize,
    /// `GRAPH_PROXY`: the only proxy outbound requests use (see [`crate::outbound`]).
    pub proxy: Option<Url>,
}

impl Settings {
    /// The custom handler's settings: the host's port, and everything else.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let port = parse_port(env)?;
        Self::read(env, port)
    }

    /// The operator commands' settings: the same, but no port, as nothing listens.
    pub fn for_operator(env: &Env) -> Result<Self, ConfigError> {
        Self::read(env, 0)
    }

    fn read(env: &Env, port: u16) -> Result<Self, ConfigError> {
        let cloud = parse_cloud(env)?;
        Ok(Self {
            port,
            cloud,
            graph_base_url: parse_base_url(env, cloud)?,
            api_version: match env.get("GRAPH_API_VERSION") {
                None | Some("v1.0") => ApiVersion::V1,
                Some("beta") => ApiVersion::Beta,
                Some(other) => {
                    return Err(invalid(
                        "GRAPH_API_VERSION",
                        format!("'{other}' is not one of v1.0, beta"),
                    ))
                }
            },
            auth: parse_auth(env)?,
            retry_budget: parse_retry_budget(env)?,
            resume_source: env
                .get("RESUME_SOURCE")
                .unwrap_or("resume-handler")
                .to_string(),
            allowed_workflow_ids: id_list(env, "ALLOWED_WORKFLOW_IDS")?
                .map(|ids| ids.into_iter().collect()),
            list_workflow_ids: id_list(env, "LIST_IN_PROGRESS_WORKFLOW_IDS")?,
            list_kinds: parse_kinds(env)?,
            stale_after: parse_duration(env, "STALE_AFTER", "1h")?,
            list_reuse: parse_reuse(env)?,
            max_concurrency: match env.get("GRAPH_MAX_CONCURRENCY") {
                None => 8,
                Some(text) => text
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=64).contains(n))
                    .ok_or_else(|| {
                        invalid(
                            "GRAPH_MAX_CONCURRENCY",
                            format!("'{text}' is not a whole number from 1 to 64"),
                        )
                    })?,
            },
            proxy: parse_proxy(env)?,
        })
    }

    /// `{base}/{version}`, the prefix of every Graph URL this app calls.
    pub fn graph_versioned_root(&self) -> Url {
        let mut url = self.graph_base_url.clone();
        url.path_segments_mut()
            .expect("validated http(s) URL")
            .pop_if_empty()
            .push(self.api_version.as_str());
        url
    }
}

/// `LIST_IN_PROGRESS_KINDS`: `task,accessRequest` (the default), or either alone.
fn parse_kinds(env: &Env) -> Result<BTreeSet<Kind>, ConfigError> {
    const SETTING: &str = "LIST_IN_PROGRESS_KINDS";
    let Some(text) = env.get(SETTING) else {
        return Ok(Kind::ALL.into_iter().collect());
    };
    let kinds = text
        .split(',')
        .filter(|word| !word.trim().is_empty())
        .map(|word| {
            Kind::parse(word).ok_or_else(|| {
                invalid(
                    SETTING,
                    format!(
                        "'{}' is not a kind: use task, accessRequest (or access-request) or both, comma-separated",
                        word.trim()
                    ),
                )
            })
        })
        .collect::<Result<BTreeSet<Kind>, _>>()?;
    if kinds.is_empty() {
        return Err(invalid(
            SETTING,
            "names no kind: use task, accessRequest or both",
        ));
    }
    Ok(kinds)
}

fn parse_port(env: &Env) -> Result<u16, ConfigError> {
    let (setting, text) = match (
        env.get("FUNCTIONS_CUSTOMHANDLER_PORT"),
        env.get("FUNCTIONS_HTTPWORKER_PORT"),
    ) {
        (Some(port), _) => ("FUNCTIONS_CUSTOMHANDLER_PORT", port),
        (None, Some(port)) => ("FUNCTIONS_HTTPWORKER_PORT", port),
        (None, None) => return Err(invalid(
            "FUNCTIONS_CUSTOMHANDLER_PORT",
            "not set: the Functions host sets it; to run the handler alone, set it to a free port",
        )),
    };
    text.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| invalid(setting, format!("'{text}' is not a port number (1-65535)")))
}

fn parse_cloud(env: &Env) -> Result<Cloud, ConfigError> {
    match env
        .get("GRAPH_CLOUD")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("global") => Ok(Cloud::Global),
        Some("usgov") => Ok(Cloud::UsGov),
        Some("usgovdod") => Ok(Cloud::UsGovDod),
        Some("china") => Ok(Cloud::China),
        Some(other) => Err(invalid(
            "GRAPH_CLOUD",
            format!("'{other}' is not one of global, usgov, usgovdod, china"),
        )),
    }
}

fn parse_base_url(env: &Env, cloud: Cloud) -> Result<Url, ConfigError> {
    let Some(text) = env.get("GRAPH_BASE_URL") else {
        return Ok(Url::parse(cloud.graph_root()).expect("cloud roots are valid URLs"));
    };
    let url = Url::parse(text)
        .map_err(|e| invalid("GRAPH_BASE_URL", format!("'{text}' is not a URL ({e})")))?;
    if url.query().is_some()
        || url.fragment().is_some()
        || url.username() != ""
        || url.password().is_some()
    {
        return Err(invalid(
            "GRAPH_BASE_URL",
            "must be a plain root URL, without credentials, query or fragment",
        ));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(invalid("GRAPH_BASE_URL", format!("'{text}': plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost)"))),
        other => Err(invalid("GRAPH_BASE_URL", format!("scheme '{other}' is not https"))),
    }
}

fn parse_retry_budget(env: &Env) -> Result<Duration, ConfigError> {
    let budget = parse_duration(env, "GRAPH_RETRY_BUDGET", "60s")?;
    if budget < MIN_RETRY_BUDGET {
        return Err(invalid(
            "GRAPH_RETRY_BUDGET",
            format!(
                "'{}' is shorter than 1s: the first retry waits a second, so a delivery that meets an outage would fail at once",
                env.get("GRAPH_RETRY_BUDGET").unwrap_or_default()
            ),
        ));
    }
    if budget > MAX_RETRY_BUDGET {
        return Err(invalid(
            "GRAPH_RETRY_BUDGET",
            format!(
                "'{}' is longer than 4m: a queue delivery must finish inside the message's 5-minute lock",
                env.get("GRAPH_RETRY_BUDGET").unwrap_or_default()
            ),
        ));
    }
    Ok(budget)
}

fn parse_proxy(env: &Env) -> Result<Option<Url>, ConfigError> {
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

/// `IDENTITY_ENDPOINT` as `azure_identity` will use it: an absolute URL, and plain http
/// only on the machine itself (App Service serves it on loopback or a link-local address).
fn check_identity_endpoint(text: &str) -> Result<(), ConfigError> {
    let problem = match Url::parse(text) {
        Err(_) => "is not an absolute URL",
        Ok(url) if url.host().is_none() => "has no host",
        Ok(url) if url.scheme() == "https" => return Ok(()),
        Ok(url) if url.scheme() == "http" && is_host_local(&url) => return Ok(()),
        Ok(url) if url.scheme() == "http" => {
            "uses plain http to a host that is not on this machine (loopback or link-local)"
        }
        Ok(_) => "is not an http(s) URL",
    };
    Err(invalid(
        "IDENTITY_ENDPOINT",
        format!(
            "'{text}' {problem}; App Service sets it, or point it at the emulator's /msi/token"
        ),
    ))
}

/// Loopback, or link-local (169.254.0.0/16, fe80::/10): addresses that never leave the host.
fn is_host_local(url: &Url) -> bool {
    is_loopback(url)
        || match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_link_local(),
            Some(url::Host::Ipv6(ip)) => (ip.segments()[0] & 0xffc0) == 0xfe80,
            _ => false,
        }
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn parse_auth(env: &Env) -> Result<Auth, ConfigError> {
    let client_id = env.get("AZURE_CLIENT_ID").map(str::to_string);
    let managed = || {
        let endpoint = env.get("IDENTITY_ENDPOINT").ok_or_else(|| invalid("GRAPH_AUTH", "managed-identity needs IDENTITY_ENDPOINT and IDENTITY_HEADER (set by App Service, or the emulator locally)"))?;
        check_identity_endpoint(endpoint)?;
        Ok(Auth::ManagedIdentity {
            client_id: client_id.clone(),
        })
    };
    let secret = || match (
        env.get("AZURE_TENANT_ID"),
        &client_id,
        env.get("AZURE_CLIENT_SECRET"),
    ) {
        (Some(tenant), Some(client), Some(secret)) => Ok(Auth::ClientSecret {
            tenant_id: tenant.to_string(),
            client_id: client.clone(),
            secret: Secret::new(secret.to_string()),
        }),
        _ => Err(invalid(
            "GRAPH_AUTH",
            "client-secret needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
        )),
    };
    let in_azure = env.get("WEBSITE_INSTANCE_ID").is_some();
    let cli = || {
        if in_azure {
            Err(invalid("GRAPH_AUTH", "azure-cli is for local development and is never used in Azure (WEBSITE_INSTANCE_ID is set); use managed-identity"))
        } else {
            Ok(Auth::AzureCli {
                tenant_id: env.get("AZURE_TENANT_ID").map(str::to_string),
            })
        }
    };
    match env
        .get("GRAPH_AUTH")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("managed-identity") => managed(),
        Some("client-secret") => secret(),
        Some("azure-cli") => cli(),
        None | Some("auto") => {
            if env.get("IDENTITY_ENDPOINT").is_some() {
                managed()
            } else if env.get("AZURE_CLIENT_SECRET").is_some() {
                secret()
            } else if in_azure {
                Err(invalid("GRAPH_AUTH", "auto found no managed identity in Azure: enable the Function App's identity (IDENTITY_ENDPOINT is not set)"))
            } else {
                cli()
            }
        }
        Some(other) => Err(invalid(
            "GRAPH_AUTH",
            format!("'{other}' is not one of managed-identity, client-secret, azure-cli, auto"),
        )),
    }
}

fn parse_duration(
    env: &Env,
    setting: &'static str,
    default: &str,
) -> Result<Duration, ConfigError> {
    let text = env.get(setting).unwrap_or(default);
    humantime::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            invalid(
                setting,
                format!("'{text}' is not a duration such as 45s, 90m, 1h, 2h30m"),
            )
        })
}

/// `LIST_IN_PROGRESS_REUSE`: from `0s`, the default (a finished sweep never answers a later
/// caller), to a minute.
fn parse_reuse(env: &Env) -> Result<Duration, ConfigError> {
    let text = env.get("LIST_IN_PROGRESS_REUSE").unwrap_or("0s");
    humantime::parse_duration(text)
        .ok()
        .filter(|d| *d <= Duration::from_secs(60))
        .ok_or_else(|| {
            invalid(
                "LIST_IN_PROGRESS_REUSE",
                format!("'{text}' is not a duration from 0s to 1m"),
            )
        })
}

/// A comma-separated list of ids, whitespace trimmed; each must be a valid id.
fn id_list(env: &Env, setting: &'static str) -> Result<Option<Vec<ResourceId>>, ConfigError> {
    let Some(text) = env.get(setting) else {
        return Ok(None);
    };
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|id| {
            ResourceId::parse_str(setting, id)
                .map_err(|e| invalid(setting, format!("'{id}': {}", e.message())))
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut all = vec![
            ("FUNCTIONS_CUSTOMHANDLER_PORT", "7000"),
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token"),
        ];
        all.extend_from_slice(pairs);
        Settings::from_env(&Env::from_pairs(all))
    }

    #[test]
    fn the_client_secret_is_held_but_never_printed() {
        let s = settings(&[
            ("GRAPH_AUTH", "client-secret"),
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "hunter2"),
        ])
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        match s.auth {
            Auth::ClientSecret { secret, .. } => assert_eq!(secret.secret(), "hunter2"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_spec() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.cloud, Cloud::Global);
        assert_eq!(
            s.graph_versioned_root().as_str(),
            "https://graph.microsoft.com/v1.0"
        );
        assert_eq!(s.retry_budget, Duration::from_secs(60));
        assert_eq!(s.stale_after, Duration::from_secs(3600));
        assert_eq!(s.list_reuse, Duration::ZERO);
        assert_eq!(s.max_concurrency, 8);
        assert_eq!(s.resume_source, "resume-handler");
        assert_eq!(s.auth, Auth::ManagedIdentity { client_id: None });
        assert!(s.allowed_workflow_ids.is_none());
    }

    #[test]
    fn operator_commands_need_no_port() {
        let s = Settings::for_operator(&Env::from_pairs([(
            "IDENTITY_ENDPOINT",
            "http://127.0.0.1:1/msi/token",
        )]))
        .unwrap();
        assert_eq!(s.port, 0);
        assert_eq!(
            Settings::for_operator(&Env::from_pairs([("GRAPH_CLOUD", "mars")]))
                .unwrap_err()
                .setting,
            "GRAPH_CLOUD"
        );
    }

    #[test]
    fn the_port_falls_back_to_the_http_worker_port_and_is_required() {
        let s = Settings::from_env(&Env::from_pairs([
            ("FUNCTIONS_HTTPWORKER_PORT", "7001"),
            ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token"),
        ]))
        .unwrap();
        assert_eq!(s.port, 7001);
        let err = Settings::from_env(&Env::from_pairs([(
            "IDENTITY_ENDPOINT",
            "http://127.0.0.1:1/msi/token",
        )]))
        .unwrap_err();
        assert_eq!(err.setting, "FUNCTIONS_CUSTOMHANDLER_PORT");
    }

    #[test]
    fn each_cloud_has_its_graph_root_and_scope() {
        let s = settings(&[("GRAPH_CLOUD", "usgovdod"), ("GRAPH_API_VERSION", "beta")]).unwrap();
        assert_eq!(
            s.graph_versioned_root().as_str(),
            "https://dod-graph.microsoft.us/beta"
        );
        assert_eq!(s.cloud.scope(), "https://dod-graph.microsoft.us/.default");
        assert_eq!(Cloud::China.authority(), "https://login.chinacloudapi.cn");
        assert_eq!(
            settings(&[("GRAPH_CLOUD", "mars")]).unwrap_err().setting,
            "GRAPH_CLOUD"
        );
    }

    #[test]
    fn plain_http_is_allowed_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:7070",
            "http://localhost:7070/",
            "http://[::1]:7070",
            "https://graph.example",
        ] {
            assert!(settings(&[("GRAPH_BASE_URL", ok)]).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.5:7070",
            "http://graph.microsoft.com",
            "ftp://x",
            "https://u:p@host",
            "not a url",
        ] {
            assert_eq!(
                settings(&[("GRAPH_BASE_URL", bad)]).unwrap_err().setting,
                "GRAPH_BASE_URL",
                "{bad}"
            );
        }
        let s = settings(&[("GRAPH_BASE_URL", "http://127.0.0.1:7070/")]).unwrap();
        assert_eq!(
            s.graph_versioned_root().as_str(),
            "http://127.0.0.1:7070/v1.0"
        );
    }

    #[test]
    fn auto_auth_prefers_managed_identity_then_secret_then_cli_but_never_cli_in_azure() {
        let env = |pairs: &[(&str, &str)]| {
            let mut all = vec![("FUNCTIONS_CUSTOMHANDLER_PORT", "7000")];
            all.extend_from_slice(pairs);
            Settings::from_env(&Env::from_pairs(all)).map(|s| s.auth)
        };
        assert_eq!(
            env(&[
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_CLIENT_SECRET", "s")
            ])
            .unwrap(),
            Auth::ClientSecret {
                tenant_id: "t".into(),
                client_id: "c".into(),
                secret: Secret::new("s"),
            }
        );
        assert_eq!(env(&[]).unwrap(), Auth::AzureCli { tenant_id: None });
        assert_eq!(
            env(&[("WEBSITE_INSTANCE_ID", "abc")]).unwrap_err().setting,
            "GRAPH_AUTH"
        );
        assert_eq!(
            env(&[("GRAPH_AUTH", "azure-cli"), ("WEBSITE_INSTANCE_ID", "abc")])
                .unwrap_err()
                .setting,
            "GRAPH_AUTH"
        );
        assert_eq!(
            env(&[("GRAPH_AUTH", "client-secret")]).unwrap_err().setting,
            "GRAPH_AUTH"
        );
        assert_eq!(
            env(&[
                ("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token"),
                ("AZURE_CLIENT_ID", "c")
            ])
            .unwrap(),
            Auth::ManagedIdentity {
                client_id: Some("c".into())
            }
        );
    }

    #[test]
    fn an_unusable_identity_endpoint_is_refused_at_startup() {
        for ok in [
            "http://127.0.0.1:41741/msi/token",
            "http://localhost:8081/msi/token",
            "http://169.254.255.2:8081/msi/token",
            "https://identity.example/msi/token",
        ] {
            assert!(settings(&[("IDENTITY_ENDPOINT", ok)]).is_ok(), "{ok}");
        }
        for bad in [
            "notaurl",
            "http://10.1.2.3/msi/token",
            "ftp://127.0.0.1/x",
            "/msi/token",
        ] {
            assert_eq!(
                settings(&[("IDENTITY_ENDPOINT", bad)]).unwrap_err().setting,
                "IDENTITY_ENDPOINT",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_retry_budget_longer_than_a_queue_lock_allows_or_too_short_to_retry_is_refused() {
        assert_eq!(
            settings(&[("GRAPH_RETRY_BUDGET", "4m")])
                .unwrap()
                .retry_budget,
            MAX_RETRY_BUDGET
        );
        for bad in ["1000d", "4m1s", "1h", "0s", "999ms"] {
            assert_eq!(
                settings(&[("GRAPH_RETRY_BUDGET", bad)])
                    .unwrap_err()
                    .setting,
                "GRAPH_RETRY_BUDGET",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_report_covers_both_kinds_unless_told_otherwise() {
        assert_eq!(settings(&[]).unwrap().list_kinds, BTreeSet::from(Kind::ALL));
        let s = settings(&[("LIST_IN_PROGRESS_KINDS", "accessrequest")]).unwrap();
        assert_eq!(s.list_kinds, BTreeSet::from([Kind::AccessRequest]));
        // The command line's spelling is taken too.
        let s = settings(&[("LIST_IN_PROGRESS_KINDS", "task, access-request")]).unwrap();
        assert_eq!(s.list_kinds, BTreeSet::from(Kind::ALL));
        for bad in [" , ", "task,requests"] {
            let e = settings(&[("LIST_IN_PROGRESS_KINDS", bad)]).unwrap_err();
            assert_eq!(e.setting, "LIST_IN_PROGRESS_KINDS", "{bad}");
        }
    }

    #[test]
    fn a_proxy_is_used_only_when_graph_proxy_names_one() {
        assert!(settings(&[]).unwrap().proxy.is_none());
        let s = settings(&[("GRAPH_PROXY", "http://proxy.contoso.com:3128")]).unwrap();
        assert_eq!(s.proxy.unwrap().host_str(), Some("proxy.contoso.com"));
        assert_eq!(
            settings(&[("GRAPH_PROXY", "not a url")])
                .unwrap_err()
                .setting,
            "GRAPH_PROXY"
        );
    }

    #[test]
    fn durations_lists_and_concurrency_are_validated() {
        let s = settings(&[
            ("STALE_AFTER", "2h30m"),
            ("GRAPH_RETRY_BUDGET", "45s"),
            ("LIST_IN_PROGRESS_WORKFLOW_IDS", " a , b ,"),
            ("ALLOWED_WORKFLOW_IDS", "wf-1"),
        ])
        .unwrap();
        assert_eq!(s.stale_after, Duration::from_secs(9000));
        assert_eq!(s.retry_budget, Duration::from_secs(45));
        let listed: Vec<String> = s
            .list_workflow_ids
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(listed, ["a", "b"]);
        assert!(s
            .allowed_workflow_ids
            .unwrap()
            .contains(&ResourceId::parse_str("id", "wf-1").unwrap()));
        assert_eq!(
            settings(&[("STALE_AFTER", "soon")]).unwrap_err().setting,
            "STALE_AFTER"
        );
        let reuse = |text| settings(&[("LIST_IN_PROGRESS_REUSE", text)]);
        assert_eq!(reuse("0s").unwrap().list_reuse, Duration::ZERO);
        for bad in ["2m", "soon"] {
            assert_eq!(reuse(bad).unwrap_err().setting, "LIST_IN_PROGRESS_REUSE");
        }
        assert_eq!(
            settings(&[("GRAPH_MAX_CONCURRENCY", "0")])
                .unwrap_err()
                .setting,
            "GRAPH_MAX_CONCURRENCY"
        );
        assert_eq!(
            settings(&[("ALLOWED_WORKFLOW_IDS", "a/b")])
                .unwrap_err()
                .setting,
            "ALLOWED_WORKFLOW_IDS"
        );
        let err = settings(&[("GRAPH_API_VERSION", "v2")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "GRAPH_API_VERSION: 'v2' is not one of v1.0, beta"
        );
    }
}
