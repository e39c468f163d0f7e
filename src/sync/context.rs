//! Everything a sync run needs, wired once from configuration, credentials and the store.
//!
//! One SP-API client per configured seller (each with its own rate limiter for its
//! seller and region, shared by every task that pulls for it), one EBS client per
//! ledger (the GL context names the ledger, the client dates in the ledger's time zone),
//! the routing of every marketplace, the per-run [`LedgerBook`](super::batches::LedgerBook)
//! and the audit actor. Secrets go straight from [`Credentials`] into the clients.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::amazon::lwa::LwaCredentials;
use crate::amazon::region::Region as AmzRegion;
use crate::amazon::{SpApiClient, SpApiClientBuilder};
use crate::config::{
    Config, Credentials, CredentialsError, EbsModule, EbsSecrets, Region, RoutingConfig,
    SellerConfig,
};
use crate::ebs::{Contexts, EbsClient, GlContext, OuContext, RestHeader};
use crate::store::Store;

use super::messages::SyncError;

/// Knobs that are not configuration (tests and the demo world turn them).
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Simulated seconds per real second of the Amazon side (1 in production);
    /// rate-limit waits are divided by it.
    pub amazon_time_scale: f64,
    /// Whether this run is unattended (the audit actor is then `headless`).
    pub headless: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            amazon_time_scale: 1.0,
            headless: false,
        }
    }
}

/// One seller account: its configuration and its client.
#[derive(Clone)]
pub struct SellerHandle {
    pub config: SellerConfig,
    pub client: SpApiClient,
}

impl SellerHandle {
    pub fn name(&self) -> &str {
        self.config.name.as_str()
    }
}

/// The wired world of one sync run. Cheap to clone.
#[derive(Clone)]
pub struct SyncContext {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub sellers: Vec<SellerHandle>,
    /// EBS client per ledger id (absent without an `[ebs]` section or EBS credentials).
    pub ebs: BTreeMap<i64, Arc<EbsClient>>,
    /// What EBS said about the ledgers in this run (name, currency, periods, rates); shared
    /// with the posting engine made from this context.
    pub ledgers: Arc<super::batches::LedgerBook>,
    pub actor: String,
    pub options: SyncOptions,
}

impl std::fmt::Debug for SyncContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncContext")
            .field("sellers", &self.sellers.len())
            .field("ledgers", &self.ebs.keys().collect::<Vec<_>>())
            .field("actor", &self.actor)
            .finish()
    }
}

fn amazon_region(r: Region) -> AmzRegion {
    match r {
        Region::Na => AmzRegion::NorthAmerica,
        Region::Eu => AmzRegion::Europe,
        Region::Fe => AmzRegion::FarEast,
    }
}

/// The SP-API client of a configured seller: its credentials, region and endpoints.
/// Callers add what differs (pacing, retries, time scale) before `build()`.
pub fn sp_api_builder(
    seller: &SellerConfig,
    credentials: &Credentials,
) -> Result<SpApiClientBuilder, CredentialsError> {
    let secrets = credentials.seller(seller.name.as_str())?;
    let lwa = LwaCredentials {
        client_id: secrets.client_id.clone(),
        client_secret: secrets.client_secret.clone(),
        refresh_token: secrets.refresh_token.clone(),
    };
    Ok(SpApiClient::builder(lwa, amazon_region(seller.region))
        .seller(seller.name.as_str())
        .base_url(seller.api_endpoint().as_str())
        .token_url(seller.token_endpoint().as_str()))
}

/// The EBS client configuration of the configured instance: its URL, login and service
/// aliases, with the given module contexts. Callers tune timeouts and retries.
pub fn ebs_config(
    ebs: &crate::config::EbsConfig,
    secrets: &EbsSecrets,
    contexts: Contexts,
) -> crate::ebs::EbsConfig {
    let credentials = crate::ebs::Credentials {
        user: secrets.username.clone(),
        password: secrets.password.clone(),
    };
    let mut cfg = crate::ebs::EbsConfig::new(ebs.base_url.as_str(), credentials, contexts);
    cfg.aliases = crate::ebs::Aliases {
        gl: ebs.aliases.gl.clone(),
        ar: ebs.aliases.ar.clone(),
        ap: ebs.aliases.ap.clone(),
        custom: ebs.aliases.custom.clone(),
    };
    cfg
}

impl SyncContext {
    /// Builds the clients. A seller without credentials, or a routing without an
    /// EBS context, is a configuration error naming it.
    pub fn new(
        config: Arc<Config>,
        credentials: &Credentials,
        store: Arc<Store>,
        options: SyncOptions,
    ) -> Result<SyncContext, SyncError> {
        let mut sellers = Vec::new();
        for seller in &config.sellers {
            let client = sp_api_builder(seller, credentials)?
                .time_scale(options.amazon_time_scale)
                .build()
                .map_err(|e| SyncError::amazon(seller.name.as_str(), e))?;
            sellers.push(SellerHandle {
                config: seller.clone(),
                client,
            });
        }
        let mut ebs = BTreeMap::new();
        if let (Some(ebs_cfg), Some(secrets)) = (config.ebs.as_ref(), credentials.ebs.as_ref()) {
            for route in &config.routing {
                if ebs.contains_key(&route.ledger_id) {
                    continue;
                }
                let contexts = contexts_for(&config, route)?;
                let mut cfg = ebs_config(ebs_cfg, secrets, contexts);
                // The ledger's time zone (one per ledger: configuration checks it).
                cfg.time_zone = route.timezone.0;
                let client = EbsClient::new(cfg)?;
                ebs.insert(route.ledger_id, Arc::new(client));
            }
        }
        Ok(SyncContext {
            actor: config.actor(options.headless),
            config,
            store,
            sellers,
            ebs,
            ledgers: Arc::default(),
            options,
        })
    }

    /// The routing of a marketplace, or a configuration error naming it.
    pub fn routing(&self, marketplace: &str) -> Result<&RoutingConfig, SyncError> {
        self.config.routing_for(marketplace).ok_or_else(|| {
            SyncError::Setup(format!(
                "marketplace {marketplace} has no [[routing]] entry: add one saying which ledger its money lands in"
            ))
        })
    }

    /// The EBS client of a ledger.
    pub fn ebs_for_ledger(&self, ledger_id: i64) -> Result<&Arc<EbsClient>, SyncError> {
        self.ebs.get(&ledger_id).ok_or_else(|| {
            SyncError::Setup(format!(
                "no EBS connection for ledger {ledger_id}: configure [ebs] and store EBS credentials"
            ))
        })
    }

    pub fn seller(&self, name: &str) -> Option<&SellerHandle> {
        self.sellers.iter().find(|s| s.name() == name)
    }
}

/// The EBS contexts (GL with the route's ledger, AR/AP with its operating unit).
pub fn contexts_for(config: &Config, route: &RoutingConfig) -> Result<Contexts, SyncError> {
    let header = |m: EbsModule| {
        config.ebs_context(m, Some(route)).map(|c| RestHeader {
            responsibility: c.responsibility,
            resp_application: c.application,
            security_group: c.security_group,
            nls_language: c.nls_language,
            org_id: match m {
                EbsModule::Gl => None,
                _ => c.org_id.map(|o| o.to_string()),
            },
        })
    };
    let gl_ctx = config
        .ebs_context(EbsModule::Gl, Some(route))
        .ok_or_else(|| SyncError::Setup("[ebs.gl] is missing".into()))?;
    let access_set_id = gl_ctx.access_set_id.ok_or_else(|| {
        SyncError::Setup(format!(
            "ledger {}: no GL access_set_id ([ebs.gl] access_set_id or the routing's access_set_id)",
            route.ledger_id
        ))
    })?;
    Ok(Contexts {
        gl: GlContext {
            header: header(EbsModule::Gl).ok_or_else(|| SyncError::Setup("[ebs.gl]".into()))?,
            access_set_id: access_set_id.to_string(),
            ledger_id: route.ledger_id.to_string(),
        },
        ar: header(EbsModule::Ar).map(|header| OuContext { header }),
        ap: header(EbsModule::Ap).map(|header| OuContext { header }),
    })
}

/// Runs a safe EBS read. It adds no retries of its own: the EBS transport already
/// retries every `Retry::Safe` call and every login on transient failures with the
/// client's [`crate::retry::Backoff`], so a loop here would only multiply its attempts.
/// What reaches the caller has exhausted that budget (or is not transient).
pub async fn ebs_read<T, F, Fut>(f: F) -> Result<T, crate::ebs::EbsError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::ebs::EbsError>>,
{
    f().await
}
