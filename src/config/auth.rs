//! How the app authenticates to Graph (`GRAPH_AUTH`), resolved once from what the
//! environment offers: a managed identity, an app registration's secret, or the Azure CLI.
use super::env::{invalid, ConfigError, Env};
use super::urls::is_host_local;
use azure_core::credentials::Secret;
use url::Url;

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

/// `GRAPH_AUTH`, with `auto` resolved: managed identity where `IDENTITY_ENDPOINT` is set, a
/// client secret where `AZURE_CLIENT_SECRET` is, otherwise the Azure CLI (never in Azure).
pub(super) fn parse_auth(env: &Env) -> Result<Auth, ConfigError> {
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
