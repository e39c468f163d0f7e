//! Everything a sync run needs, wired once from configuration, credentials and the store.
//!
//! One SP-API client per configured seller (each with its own rate limiter for its
//! seller and region, shared by every task that pulls for it), one EBS client per
//! ledger (the GL context names the ledger, the client dates in the ledger's time zone),
//! the routing of every marketplace, the per-run [`LedgerBook`](super::batches::LedgerBook)
//! and the audit actor. Secrets go straight from [`Credentials`] into the clients.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

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

/// How long each step of a run may take before it fails with [`SyncError::Deadline`]
/// (wall-clock time). Every request has its own timeout; this is the backstop that
/// keeps a server answering too slowly, or not at all, from holding a run forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepDeadlines {
    /// Pulling one seller: settlements, event groups, orders.
    pub pull_seller: Duration,
    /// Proposing journals for the new settlements.
    pub propose: Duration,
    /// Posting approved batches into EBS (imports included) and refreshing posted ones.
    pub post: Duration,
}

impl StepDeadlines {
    /// Defaults with the Amazon side `time_scale` times faster than real time: the pull
    /// (mostly rate-limit waits) gets 30 min of Amazon time, at least 5 min of wall
    /// time; propose 10 min; post 90 min (Journal Import may take long).
    pub fn for_time_scale(time_scale: f64) -> StepDeadlines {
        let scale = if time_scale.is_finite() && time_scale > 0.0 {
            time_scale
        } else {
            1.0
        };
        StepDeadlines {
            pull_seller: Duration::from_secs(30 * 60)
                .div_f64(scale)
                .max(Duration::from_secs(5 * 60)),
            propose: Duration::from_secs(10 * 60),
            post: Duration::from_secs(90 * 60),
        }
    }
}

impl Default for StepDeadlines {
    fn default() -> Self {
        StepDeadlines::for_time_scale(1.0)
    }
}

/// Runs one step of a run under its deadline. Past it, the step is dropped at its
/// current wait (store writes are synchronous, so none is cut in half; an EBS call in
/// flight is reconciled by the next run) and fails with [`SyncError::Deadline`].
pub async fn within_deadline<T>(
    step: &str,
    deadline: Duration,
    work: impl std::future::Future<Output = Result<T, SyncError>>,
) -> Result<T, SyncError> {
    match tokio::time::timeout(deadline, work).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                step,
                deadline_secs = deadline.as_secs_f64(),
                "{step} ran out of time"
            );
            Err(SyncError::Deadline {
                step: step.to_string(),
                deadline,
            })
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
    /// Per-step deadlines of a run (defaults from the Amazon time scale).
    pub deadlines: StepDeadlines,
    /// Stops every wait of the context's clients (pacing, backoff, import polling, calls
    /// in flight). The headless run uses it as its stop signal; a pull also stops its
    /// SP-API client with the run's own token.
    pub cancel: CancellationToken,
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
        let cancel = CancellationToken::new();
        let mut sellers = Vec::new();
        for seller in &config.sellers {
            let client = sp_api_builder(seller, credentials)?
                .time_scale(options.amazon_time_scale)
                .cancel(cancel.clone())
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
                cfg.cancel = cancel.clone();
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
            deadlines: StepDeadlines::for_time_scale(options.amazon_time_scale),
            ledgers: Arc::default(),
            options,
            cancel,
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
