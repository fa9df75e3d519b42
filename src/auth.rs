//! Credentials for Graph: one `azure_identity` credential per process, chosen by
//! `GRAPH_AUTH` (see [`crate::config::Auth`]), behind a [`TokenSource`].
//!
//! `azure_identity` caches tokens and refreshes them before expiry behind a write lock,
//! so concurrent invocations never stampede the token endpoint. What it cannot do is
//! drop a token that Graph has rejected (revoked, or issued before a permission change):
//! its cache would hand the same token back until it nears expiry. So after a 401 the
//! token source builds a fresh credential, once for all the invocations that saw the
//! same rejected token, and at most once every [`MIN_RENEWAL_INTERVAL`]: a 401 that a
//! fresh token does not cure is not the token's fault, and renewing again only loads the
//! token endpoint.
//!
//! `azure_identity` refreshes a token once it is within a few minutes of expiry, so a short
//! lifetime (an identity endpoint that issues 4-minute tokens) would make every Graph call a
//! token request. The token source keeps the last token itself and hands it out until half
//! its life is left (or five minutes, whichever is less).
//!
//! Token requests go through [`crate::outbound`] with [`TOKEN_TIMEOUT`] per request, and
//! the Graph client bounds each wait for a token by its own call's deadline, so an
//! identity endpoint that hangs holds no invocation past its budget. What the endpoint
//! answered is never repeated: an [`AuthError`] says only what went wrong, in this app's
//! words, with the status.
use crate::config::{Auth, Cloud, Settings};
use azure_core::credentials::{AccessToken, Secret, TokenCredential};
use azure_core::error::ErrorKind;
use azure_core::http::{ClientOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId,
};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The longest one token request may take.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A rejected token is renewed at most this often.
pub const MIN_RENEWAL_INTERVAL: Duration = Duration::from_secs(30);

type Factory = Box<dyn Fn() -> azure_core::Result<Arc<dyn TokenCredential>> + Send + Sync>;

/// A token could not be had. The message is this app's own, safe to log and to return.
#[derive(Debug, thiserror::Error)]
#[error("token endpoint: {message}")]
pub struct AuthError {
    message: String,
    /// The credential itself cannot sign in (the Azure CLI is missing or not signed in, a
    /// credential cannot be set up): asking again does not help, the settings or a sign-in do.
    pub cannot_sign_in: bool,
}

impl AuthError {
    /// What went wrong, without the words that say where.
    pub fn what(&self) -> &str {
        &self.message
    }

    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            cannot_sign_in: false,
        }
    }

    /// What went wrong, without anything the endpoint (or the Azure CLI) wrote.
    fn of(error: &azure_core::Error) -> Self {
        let inner = error.downcast_ref::<azure_core::Error>().unwrap_or(error);
        match inner.kind() {
            ErrorKind::HttpResponse { status, .. } => {
                Self::new(format!("answered {}", u16::from(*status)))
            }
            ErrorKind::Connection | ErrorKind::Io => {
                Self::new("could not be reached, or did not answer in time")
            }
            ErrorKind::DataConversion => Self::new("answered something that is not a token"),
            // azure_identity's word for a credential that cannot run at all: for the Azure
            // CLI, `az` not found, or `az account get-access-token` failing (not signed in).
            ErrorKind::Credential => Self {
                message: "the configured credential cannot give a token (for the Azure CLI: `az` is not installed, or not signed in)".into(),
                cannot_sign_in: true,
            },
            _ => Self::new("no token could be had from the configured credential"),
        }
    }
}

pub struct TokenSource {
    scope: String,
    factory: Factory,
    current: RwLock<Arc<dyn TokenCredential>>,
    /// When a rejected token was last renewed; the lock makes renewals one at a time.
    renewed_at: tokio::sync::Mutex<Option<Instant>>,
    /// The last token, with when it was had and when it expires.
    last: std::sync::Mutex<Option<Held>>,
}

/// A token, and its life: reused while more than [`Held::margin`] of it is left.
#[derive(Clone)]
struct Held {
    token: Secret,
    had_at: OffsetDateTime,
    expires_on: OffsetDateTime,
}

impl Held {
    /// Half the token's life, at most five minutes.
    fn margin(&self) -> time::Duration {
        let life: time::Duration = self.expires_on - self.had_at;
        let half: time::Duration = life / 2i32;
        half.min(time::Duration::minutes(5))
    }

    fn usable_at(&self, now: OffsetDateTime) -> bool {
        now + self.margin() < self.expires_on
    }
}

impl TokenSource {
    /// Tokens for Graph.
    pub fn from_settings(settings: &Settings) -> Result<Self, AuthError> {
        Self::for_scope(settings, settings.graph.cloud.scope())
    }

    /// Tokens for Azure Resource Manager, from the same credential.
    pub fn for_resource_manager(settings: &Settings) -> Result<Self, AuthError> {
        Self::for_scope(settings, settings.graph.cloud.resource_manager_scope())
    }

    /// A credential that cannot even be set up is a sign-in problem, whatever the cause.
    fn for_scope(settings: &Settings, scope: String) -> Result<Self, AuthError> {
        let auth = settings.graph.auth.clone();
        let cloud = settings.graph.cloud;
        let cannot_set_up = |e: AuthError| AuthError {
            message: format!("{} cannot be set up: {}", auth.describe(), e.message),
            cannot_sign_in: true,
        };
        let http = crate::outbound::client(settings, Some(TOKEN_TIMEOUT))
            .build()
            .map_err(|_| cannot_set_up(AuthError::new("its HTTP client could not be built")))?;
        let transport = Transport::new(Arc::new(http));
        let factory_auth = auth.clone();
        Self::new(
            scope,
            Box::new(move || credential(&factory_auth, cloud, &transport)),
        )
        .map_err(cannot_set_up)
    }

    /// A token source over any credential factory (tests use their own credentials).
    pub fn new(scope: String, factory: Factory) -> Result<Self, AuthError> {
        let first = factory().map_err(|e| AuthError::of(&e))?;
        Ok(Self {
            scope,
            factory,
            current: RwLock::new(first),
            renewed_at: tokio::sync::Mutex::new(None),
            last: std::sync::Mutex::new(None),
        })
    }

    fn credential(&self) -> Arc<dyn TokenCredential> {
        self.current.read().expect("credential lock").clone()
    }

    pub async fn token(&self) -> Result<Secret, AuthError> {
        let now = OffsetDateTime::now_utc();
        if let Some(held) = self.last.lock().expect("token lock").clone() {
            if held.usable_at(now) {
                return Ok(held.token);
            }
        }
        let token = fetch(self.credential().as_ref(), &self.scope).await?;
        Ok(self.hold(token, now))
    }

    fn hold(&self, token: AccessToken, had_at: OffsetDateTime) -> Secret {
        *self.last.lock().expect("token lock") = Some(Held {
            token: token.token.clone(),
            had_at,
            expires_on: token.expires_on,
        });
        token.token
    }

    /// A token other than `rejected`: the cached one if another invocation already
    /// renewed, otherwise one from a freshly built credential, unless a renewal happened
    /// less than [`MIN_RENEWAL_INTERVAL`] ago.
    pub async fn renew(&self, rejected: &Secret) -> Result<Secret, AuthError> {
        let mut renewed_at = self.renewed_at.lock().await;
        let cached = self.token().await?;
        if cached.secret() != rejected.secret() {
            return Ok(cached);
        }
        if renewed_at.is_some_and(|at| at.elapsed() < MIN_RENEWAL_INTERVAL) {
            return Err(AuthError::new(
                "Graph refused a token renewed moments ago; not renewing again yet",
            ));
        }
        *renewed_at = Some(Instant::now());
        let fresh = (self.factory)().map_err(|e| AuthError::of(&e))?;
        let token = fetch(fresh.as_ref(), &self.scope).await?;
        *self.current.write().expect("credential lock") = fresh;
        Ok(self.hold(token, OffsetDateTime::now_utc()))
    }
}

async fn fetch(credential: &dyn TokenCredential, scope: &str) -> Result<AccessToken, AuthError> {
    credential
        .get_token(&[scope], None)
        .await
        .map_err(|e| AuthError::of(&e))
}

/// The credential's own HTTP pipeline does not retry: the Graph client's retry loop and
/// `GRAPH_RETRY_BUDGET` govern token requests too. Its transport is [`crate::outbound`]'s.
fn client_options(cloud: Cloud, transport: &Transport) -> ClientOptions {
    let cloud_config = match cloud {
        Cloud::Global => azure_core::cloud::CloudConfiguration::AzurePublic,
        Cloud::UsGov | Cloud::UsGovDod => azure_core::cloud::CloudConfiguration::AzureGovernment,
        Cloud::China => azure_core::cloud::CloudConfiguration::AzureChina,
    };
    ClientOptions {
        retry: RetryOptions::none(),
        transport: Some(transport.clone()),
        cloud: Some(Arc::new(cloud_config)),
        ..ClientOptions::default()
    }
}

fn credential(
    auth: &Auth,
    cloud: Cloud,
    transport: &Transport,
) -> azure_core::Result<Arc<dyn TokenCredential>> {
    Ok(match auth {
        Auth::ManagedIdentity { client_id } => {
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                client_options: client_options(cloud, transport),
            }))?
        }
        Auth::ClientSecret {
            tenant_id,
            client_id,
            secret,
        } => ClientSecretCredential::new(
            tenant_id,
            client_id.clone(),
            secret.clone(),
            Some(ClientSecretCredentialOptions {
                client_options: client_options(cloud, transport),
            }),
        )?,
        Auth::AzureCli { tenant_id } => AzureCliCredential::new(Some(AzureCliCredentialOptions {
            tenant_id: tenant_id.clone(),
            ..Default::default()
        }))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_reused_until_half_its_life_or_five_minutes_is_left() {
        let at = OffsetDateTime::now_utc();
        let held = |minutes: i64| Held {
            token: Secret::new("t"),
            had_at: at,
            expires_on: at + time::Duration::minutes(minutes),
        };
        let after = |minutes: i64| at + time::Duration::minutes(minutes);
        // A 4-minute token: kept for its first two minutes.
        assert!(held(4).usable_at(after(1)));
        assert!(!held(4).usable_at(after(2)));
        // An hour's token: kept until five minutes are left.
        assert!(held(60).usable_at(after(54)));
        assert!(!held(60).usable_at(after(55)));
    }
}
