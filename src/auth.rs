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
//! Token requests go through [`crate::outbound`] with [`TOKEN_TIMEOUT`] per request, and
//! the Graph client bounds each wait for a token by its own call's deadline, so an
//! identity endpoint that hangs holds no invocation past its budget. What the endpoint
//! answered is never repeated: an [`AuthError`] says only what went wrong, in this app's
//! words, with the status.
use crate::config::{Auth, Cloud, Settings};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::error::ErrorKind;
use azure_core::http::{ClientOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId,
};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The longest one token request may take.
pub const TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A rejected token is renewed at most this often.
pub const MIN_RENEWAL_INTERVAL: Duration = Duration::from_secs(30);

type Factory = Box<dyn Fn() -> azure_core::Result<Arc<dyn TokenCredential>> + Send + Sync>;

/// A token could not be had. The message is this app's own, safe to log and to return.
#[derive(Debug, thiserror::Error)]
#[error("token endpoint: {0}")]
pub struct AuthError(String);

impl AuthError {
    /// What went wrong, without anything the endpoint wrote.
    fn of(error: &azure_core::Error) -> Self {
        let inner = error.downcast_ref::<azure_core::Error>().unwrap_or(error);
        AuthError(match inner.kind() {
            ErrorKind::HttpResponse { status, .. } => {
                format!("answered {}", u16::from(*status))
            }
            ErrorKind::Connection | ErrorKind::Io => {
                "could not be reached, or did not answer in time".into()
            }
            ErrorKind::DataConversion => "answered something that is not a token".into(),
            _ => "no token could be had from the configured credential".into(),
        })
    }
}

pub struct TokenSource {
    scope: String,
    factory: Factory,
    current: RwLock<Arc<dyn TokenCredential>>,
    /// When a rejected token was last renewed; the lock makes renewals one at a time.
    renewed_at: tokio::sync::Mutex<Option<Instant>>,
}

impl TokenSource {
    pub fn from_settings(settings: &Settings) -> Result<Self, AuthError> {
        let auth = settings.auth.clone();
        let cloud = settings.cloud;
        let http = crate::outbound::client(settings, Some(TOKEN_TIMEOUT))
            .build()
            .map_err(|_| AuthError("its HTTP client could not be built".into()))?;
        let transport = Transport::new(Arc::new(http));
        Self::new(
            cloud.scope(),
            Box::new(move || credential(&auth, cloud, &transport)),
        )
    }

    /// A token source over any credential factory (tests use their own credentials).
    pub fn new(scope: String, factory: Factory) -> Result<Self, AuthError> {
        let first = factory().map_err(|e| AuthError::of(&e))?;
        Ok(Self {
            scope,
            factory,
            current: RwLock::new(first),
            renewed_at: tokio::sync::Mutex::new(None),
        })
    }

    fn credential(&self) -> Arc<dyn TokenCredential> {
        self.current.read().expect("credential lock").clone()
    }

    pub async fn token(&self) -> Result<Secret, AuthError> {
        fetch(self.credential().as_ref(), &self.scope).await
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
            return Err(AuthError(
                "Graph refused a token renewed moments ago; not renewing again yet".into(),
            ));
        }
        *renewed_at = Some(Instant::now());
        let fresh = (self.factory)().map_err(|e| AuthError::of(&e))?;
        let token = fetch(fresh.as_ref(), &self.scope).await?;
        *self.current.write().expect("credential lock") = fresh;
        Ok(token)
    }
}

async fn fetch(credential: &dyn TokenCredential, scope: &str) -> Result<Secret, AuthError> {
    credential
        .get_token(&[scope], None)
        .await
        .map(|t| t.token)
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
