//! Credentials for Graph: one `azure_identity` credential per process, chosen by
//! `GRAPH_AUTH` (see [`crate::config::Auth`]), behind a [`TokenSource`].
//!
//! `azure_identity` caches tokens and refreshes them before expiry behind a write lock,
//! so concurrent invocations never stampede the token endpoint. What it cannot do is
//! drop a token that Graph has rejected (revoked, or issued before a permission change):
//! its cache would hand the same token back until it nears expiry. So after a 401 the
//! token source builds a fresh credential, once for all the invocations that saw the
//! same rejected token.
use crate::config::{Auth, Cloud, Settings};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, RetryOptions};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions, ManagedIdentityCredential, ManagedIdentityCredentialOptions,
    UserAssignedId,
};
use std::sync::{Arc, RwLock};

type Factory = Box<dyn Fn() -> azure_core::Result<Arc<dyn TokenCredential>> + Send + Sync>;

/// A token could not be had; the message is safe to log (it never holds a secret).
#[derive(Debug, thiserror::Error)]
#[error("token endpoint: {0}")]
pub struct AuthError(String);

pub struct TokenSource {
    scope: String,
    factory: Factory,
    current: RwLock<Arc<dyn TokenCredential>>,
    renewal: tokio::sync::Mutex<()>,
}

impl TokenSource {
    pub fn from_settings(settings: &Settings) -> Result<Self, AuthError> {
        let auth = settings.auth.clone();
        let cloud = settings.cloud;
        let secret = std::env::var("AZURE_CLIENT_SECRET").unwrap_or_default();
        Self::new(
            cloud.scope(),
            Box::new(move || credential(&auth, cloud, &secret)),
        )
    }

    /// A token source over any credential factory (tests use their own credentials).
    pub fn new(scope: String, factory: Factory) -> Result<Self, AuthError> {
        let first = factory().map_err(|e| AuthError(e.to_string()))?;
        Ok(Self {
            scope,
            factory,
            current: RwLock::new(first),
            renewal: tokio::sync::Mutex::new(()),
        })
    }

    fn credential(&self) -> Arc<dyn TokenCredential> {
        self.current.read().expect("credential lock").clone()
    }

    pub async fn token(&self) -> Result<Secret, AuthError> {
        fetch(self.credential().as_ref(), &self.scope).await
    }

    /// A token other than `rejected`: the cached one if another invocation already
    /// renewed, otherwise one from a freshly built credential.
    pub async fn renew(&self, rejected: &Secret) -> Result<Secret, AuthError> {
        let _one_at_a_time = self.renewal.lock().await;
        let cached = self.token().await?;
        if cached.secret() != rejected.secret() {
            return Ok(cached);
        }
        let fresh = (self.factory)().map_err(|e| AuthError(e.to_string()))?;
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
        .map_err(|e| AuthError(e.to_string()))
}

/// The credential's own HTTP pipeline does not retry: the Graph client's retry loop and
/// `GRAPH_RETRY_BUDGET` govern token requests too.
fn client_options(cloud: Cloud) -> ClientOptions {
    let cloud_config = match cloud {
        Cloud::Global => azure_core::cloud::CloudConfiguration::AzurePublic,
        Cloud::UsGov | Cloud::UsGovDod => azure_core::cloud::CloudConfiguration::AzureGovernment,
        Cloud::China => azure_core::cloud::CloudConfiguration::AzureChina,
    };
    ClientOptions {
        retry: RetryOptions::none(),
        cloud: Some(Arc::new(cloud_config)),
        ..ClientOptions::default()
    }
}

fn credential(
    auth: &Auth,
    cloud: Cloud,
    secret: &str,
) -> azure_core::Result<Arc<dyn TokenCredential>> {
    Ok(match auth {
        Auth::ManagedIdentity { client_id } => {
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
                client_options: client_options(cloud),
            }))?
        }
        Auth::ClientSecret {
            tenant_id,
            client_id,
        } => ClientSecretCredential::new(
            tenant_id,
            client_id.clone(),
            Secret::new(secret.to_string()),
            Some(ClientSecretCredentialOptions {
                client_options: client_options(cloud),
            }),
        )?,
        Auth::AzureCli { tenant_id } => AzureCliCredential::new(Some(AzureCliCredentialOptions {
            tenant_id: tenant_id.clone(),
            ..Default::default()
        }))?,
    })
}
