//! The national clouds (`GRAPH_CLOUD`) and Graph's API versions (`GRAPH_API_VERSION`).
use super::env::{invalid, ConfigError, Env};

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

    /// Azure Resource Manager in this cloud.
    pub fn resource_manager(self) -> &'static str {
        match self {
            Cloud::Global => "https://management.azure.com",
            Cloud::UsGov | Cloud::UsGovDod => "https://management.usgovcloudapi.net",
            Cloud::China => "https://management.chinacloudapi.cn",
        }
    }

    /// The token scope for Resource Manager, whatever `ARM_BASE_URL` says.
    pub fn resource_manager_scope(self) -> String {
        format!("{}/.default", self.resource_manager())
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

/// `GRAPH_CLOUD`: `global` (the default), `usgov`, `usgovdod` or `china`, ignoring case.
pub(super) fn parse_cloud(env: &Env) -> Result<Cloud, ConfigError> {
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

/// `GRAPH_API_VERSION`: `v1.0` (the default) or `beta`.
pub(super) fn parse_api_version(env: &Env) -> Result<ApiVersion, ConfigError> {
    match env.get("GRAPH_API_VERSION") {
        None | Some("v1.0") => Ok(ApiVersion::V1),
        Some("beta") => Ok(ApiVersion::Beta),
        Some(other) => Err(invalid(
            "GRAPH_API_VERSION",
            format!("'{other}' is not one of v1.0, beta"),
        )),
    }
}
