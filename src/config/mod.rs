//! Settings: read once at startup from the environment (the host passes app settings as
//! environment variables), validated into types that cannot be wrong later. A bad value
//! fails startup with one line naming the setting and what it accepts.
//!
//! By concern: [`env`] (the environment, injected as an [`Env`] so tests build settings
//! from pairs, and the shared readers), [`cloud`] (national clouds, API versions), [`auth`]
//! (how the app signs in to Graph), [`urls`] (where requests may go), and [`SETTINGS`], the
//! one list of every setting that the README's table and the deployment's tests are held to.
mod auth;
mod cloud;
mod env;
mod list;
mod urls;

pub use auth::Auth;
pub use cloud::{ApiVersion, Cloud};
pub use env::{ConfigError, Env};
pub use list::{setting, ReadBy, SetBy, Setting, SETTINGS};
pub use urls::is_loopback;

use crate::command::{Kind, ResourceId};
use env::{id_list, invalid, parse_duration};
use std::collections::BTreeSet;
use std::time::Duration;
use url::Url;

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

/// Everything the app is told by its settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `FUNCTIONS_CUSTOMHANDLER_PORT`: where the handler listens on 127.0.0.1; 0 for the
    /// operator commands, which do not listen.
    pub port: u16,
    pub graph: GraphSettings,
    pub resume: ResumeSettings,
    pub report: ReportSettings,
    /// `ARM_BASE_URL`: Azure Resource Manager, which `doctor` reads (the cloud's own unless
    /// overridden, the emulator in tests); signed in to as Graph is.
    pub resource_manager: Url,
}

/// Where Graph is, how the app signs in to it, and how hard it may be pressed.
#[derive(Debug, Clone)]
pub struct GraphSettings {
    pub cloud: Cloud,
    /// The Graph root, without a version: `https://graph.microsoft.com` or an override.
    pub base_url: Url,
    pub api_version: ApiVersion,
    pub auth: Auth,
    /// `GRAPH_RETRY_BUDGET`: the time one invocation may spend retrying Graph.
    pub retry_budget: Duration,
    /// `GRAPH_MAX_CONCURRENCY`: parallel Graph requests in one report or bulk resume.
    pub max_concurrency: usize,
    /// `GRAPH_PROXY`: the only proxy outbound requests use (see [`crate::outbound`]).
    pub proxy: Option<Url>,
}

/// What a resume sends and which workflows it may touch.
#[derive(Debug, Clone)]
pub struct ResumeSettings {
    /// `RESUME_SOURCE`: the `source` sent to Graph when a command gives none.
    pub source: String,
    /// `ALLOWED_WORKFLOW_IDS`: the only workflows whose tasks may be resumed, when set.
    pub allowed_workflow_ids: Option<BTreeSet<ResourceId>>,
}

/// What the report covers and how it is shared.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    /// `LIST_IN_PROGRESS_WORKFLOW_IDS`: the only workflows swept, when set.
    pub workflow_ids: Option<Vec<ResourceId>>,
    /// `LIST_IN_PROGRESS_KINDS`: the kinds of waiting work the report covers.
    pub kinds: BTreeSet<Kind>,
    /// `STALE_AFTER`: the age that marks a waiting item stale.
    pub stale_after: Duration,
    /// `LIST_IN_PROGRESS_REUSE`: how recent a finished report answers another caller instead
    /// of a new sweep (`0s` by default; callers that ask while a sweep runs always share it).
    pub reuse: Duration,
    /// `SLIPPED_LOOK_BACK`: how far back each timer sweep also looks for what slipped
    /// (README, *Monitoring*); `None` (`0s`) looks for nothing.
    pub slipped_look_back: Option<Duration>,
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
        let cloud = cloud::parse_cloud(env)?;
        let graph = GraphSettings {
            cloud,
            base_url: urls::parse_base_url(env, cloud)?,
            api_version: cloud::parse_api_version(env)?,
            auth: auth::parse_auth(env)?,
            retry_budget: parse_retry_budget(env)?,
            max_concurrency: parse_concurrency(env)?,
            proxy: urls::parse_proxy(env)?,
        };
        let resume = ResumeSettings {
            source: env
                .get("RESUME_SOURCE")
                .unwrap_or("resume-handler")
                .to_string(),
            allowed_workflow_ids: id_list(env, "ALLOWED_WORKFLOW_IDS")?
                .map(|ids| ids.into_iter().collect()),
        };
        let report = ReportSettings {
            workflow_ids: id_list(env, "LIST_IN_PROGRESS_WORKFLOW_IDS")?,
            kinds: parse_kinds(env)?,
            stale_after: parse_duration(env, "STALE_AFTER", "1h")?,
            reuse: parse_reuse(env)?,
            slipped_look_back: parse_slipped_look_back(env)?,
        };
        Ok(Self {
            port,
            resource_manager: urls::parse_resource_manager(env, cloud)?,
            graph,
            resume,
            report,
        })
    }
}

impl GraphSettings {
    /// `{base}/{version}`, the prefix of every Graph URL this app calls.
    pub fn versioned_root(&self) -> Url {
        let mut url = self.base_url.clone();
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

/// `FUNCTIONS_CUSTOMHANDLER_PORT`, or the older `FUNCTIONS_HTTPWORKER_PORT`: set by the host.
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

/// `GRAPH_RETRY_BUDGET`: from [`MIN_RETRY_BUDGET`] to [`MAX_RETRY_BUDGET`], `60s` by default.
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

/// `GRAPH_MAX_CONCURRENCY`: 1 to 64, 8 by default.
fn parse_concurrency(env: &Env) -> Result<usize, ConfigError> {
    let Some(text) = env.get("GRAPH_MAX_CONCURRENCY") else {
        return Ok(8);
    };
    text.parse::<usize>()
        .ok()
        .filter(|n| (1..=64).contains(n))
        .ok_or_else(|| {
            invalid(
                "GRAPH_MAX_CONCURRENCY",
                format!("'{text}' is not a whole number from 1 to 64"),
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

/// The longest `SLIPPED_LOOK_BACK`: a week, as far as an operator looks back on a timer.
pub const MAX_SLIPPED_LOOK_BACK: Duration = Duration::from_secs(7 * 86_400);

/// `SLIPPED_LOOK_BACK`: `1h` by default, `0s` for none, at most a week.
fn parse_slipped_look_back(env: &Env) -> Result<Option<Duration>, ConfigError> {
    let text = env.get("SLIPPED_LOOK_BACK").unwrap_or("1h");
    humantime::parse_duration(text)
        .ok()
        .filter(|d| *d <= MAX_SLIPPED_LOOK_BACK)
        .map(|d| Some(d).filter(|d| !d.is_zero()))
        .ok_or_else(|| {
            invalid(
                "SLIPPED_LOOK_BACK",
                format!("'{text}' is not a duration from 0s (none) to 7d"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::Secret;

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
        match s.graph.auth {
            Auth::ClientSecret { secret, .. } => assert_eq!(secret.secret(), "hunter2"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_follow_the_spec() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.graph.cloud, Cloud::Global);
        assert_eq!(
            s.graph.versioned_root().as_str(),
            "https://graph.microsoft.com/v1.0"
        );
        assert_eq!(s.graph.retry_budget, Duration::from_secs(60));
        assert_eq!(s.report.stale_after, Duration::from_secs(3600));
        assert_eq!(s.report.reuse, Duration::ZERO);
        assert_eq!(s.report.slipped_look_back, Some(Duration::from_secs(3600)));
        assert_eq!(s.graph.max_concurrency, 8);
        assert_eq!(s.resume.source, "resume-handler");
        assert_eq!(s.graph.auth, Auth::ManagedIdentity { client_id: None });
        assert!(s.resume.allowed_workflow_ids.is_none());
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
            s.graph.versioned_root().as_str(),
            "https://dod-graph.microsoft.us/beta"
        );
        assert_eq!(
            s.graph.cloud.scope(),
            "https://dod-graph.microsoft.us/.default"
        );
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
            s.graph.versioned_root().as_str(),
            "http://127.0.0.1:7070/v1.0"
        );
    }

    #[test]
    fn auto_auth_prefers_managed_identity_then_secret_then_cli_but_never_cli_in_azure() {
        let env = |pairs: &[(&str, &str)]| {
            let mut all = vec![("FUNCTIONS_CUSTOMHANDLER_PORT", "7000")];
            all.extend_from_slice(pairs);
            Settings::from_env(&Env::from_pairs(all)).map(|s| s.graph.auth)
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
                .graph
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
        assert_eq!(
            settings(&[]).unwrap().report.kinds,
            BTreeSet::from(Kind::ALL)
        );
        let s = settings(&[("LIST_IN_PROGRESS_KINDS", "accessrequest")]).unwrap();
        assert_eq!(s.report.kinds, BTreeSet::from([Kind::AccessRequest]));
        // The command line's spelling is taken too.
        let s = settings(&[("LIST_IN_PROGRESS_KINDS", "task, access-request")]).unwrap();
        assert_eq!(s.report.kinds, BTreeSet::from(Kind::ALL));
        for bad in [" , ", "task,requests"] {
            let e = settings(&[("LIST_IN_PROGRESS_KINDS", bad)]).unwrap_err();
            assert_eq!(e.setting, "LIST_IN_PROGRESS_KINDS", "{bad}");
        }
    }

    #[test]
    fn a_proxy_is_used_only_when_graph_proxy_names_one() {
        assert!(settings(&[]).unwrap().graph.proxy.is_none());
        let s = settings(&[("GRAPH_PROXY", "http://proxy.contoso.com:3128")]).unwrap();
        assert_eq!(s.graph.proxy.unwrap().host_str(), Some("proxy.contoso.com"));
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
        assert_eq!(s.report.stale_after, Duration::from_secs(9000));
        assert_eq!(s.graph.retry_budget, Duration::from_secs(45));
        let listed: Vec<String> = s
            .report
            .workflow_ids
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(listed, ["a", "b"]);
        assert!(s
            .resume
            .allowed_workflow_ids
            .unwrap()
            .contains(&ResourceId::parse_str("id", "wf-1").unwrap()));
        assert_eq!(
            settings(&[("STALE_AFTER", "soon")]).unwrap_err().setting,
            "STALE_AFTER"
        );
        let look_back = |text| settings(&[("SLIPPED_LOOK_BACK", text)]);
        assert_eq!(look_back("0s").unwrap().report.slipped_look_back, None);
        assert_eq!(
            look_back("7d").unwrap().report.slipped_look_back,
            Some(MAX_SLIPPED_LOOK_BACK)
        );
        for bad in ["8d", "soon", "-1h"] {
            assert_eq!(look_back(bad).unwrap_err().setting, "SLIPPED_LOOK_BACK");
        }
        let reuse = |text| settings(&[("LIST_IN_PROGRESS_REUSE", text)]);
        assert_eq!(reuse("0s").unwrap().report.reuse, Duration::ZERO);
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
