//! The demo world: both simulators in one process and a ready client setup.
//!
//! [`DemoWorld::start`] spawns the Amazon simulator (US and CA under a North
//! America seller, DE and UK under a Europe seller) and the EBS simulator, then writes
//! into a directory a `config.toml`, the mapping files and passphrase-encrypted
//! credentials, so `ml-connector --config DIR/config.toml` runs against it at
//! once. The directory holds no store: a client keeps its own data directory.
//!
//! Designed situations (profile `gl_summary`):
//! - US: the latest settlement spans a month end; the one before is negative and
//!   the latest clears it ("Payable to Amazon" carried balance);
//! - DE: a EUR marketplace routed to its own ledger (3); its latest settlement has
//!   an unmapped fee (`NewFeeType2026`) and waits as `needs_mapping`;
//! - CA: routed with JE source `Amazon CA` and its own mapping, whose selling-fee
//!   account (`01-000-6111-0000-000`) EBS end-dates the moment a Journal Import
//!   for that source starts (a scripted world event): CA journals are rejected;
//! - UK: GBP settlements of the EU seller routed into the US ledger (1, USD), without a
//!   local entity: converted at EBS's Corporate daily rate (GBP→USD, seeded) on each
//!   settlement's accounting date; Amazon deposits them in USD at its own rate
//!   (`ConvertedTotal`). They import like US ones, accounted in USD.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rust_decimal::Decimal;
use secrecy::SecretString;

use crate::config::credentials::{self, Credentials, Unlock};
use crate::ledger::mapping::DEFAULT_MAPPING;
use crate::sim::amazon::{self as amazon_sim, AmazonSimConfig, RunningAmazonSim, Scenario};
use crate::sim::ebs::seed::{DEFAULT_SEED, Seed};
use crate::sim::ebs::{self as ebs_sim, EbsSimConfig, RunningEbsSim, Scheduler};

/// Marketplace ids of the demo.
pub const US: &str = "ATVPDKIKX0DER";
pub const CA: &str = "A2EUQ1WTGCTBG2";
pub const DE: &str = "A1PA6795UKMFR9";
pub const UK: &str = "A1F83G8C2ARO7P";
/// Amazon's base rate for UK deposits into the seller's USD account.
pub const UK_DEPOSIT_RATE: &str = "1.2650";
/// The account rounding differences of converted amounts go to.
pub const FX_ROUNDING: &str = "01-000-7990-0000-000";
/// The account EBS end-dates when CA's import starts.
pub const CA_FEE_ACCOUNT: &str = "01-000-6111-0000-000";
pub const CA_JE_SOURCE: &str = "Amazon CA";
/// The unmapped fee of DE's latest settlement.
pub const UNMAPPED_FEE: &str = "NewFeeType2026";
/// EBS user of the demo.
pub const EBS_USER: &str = "OPERATIONS";
const EBS_PASSWORD: &str = "welcome1";

/// How to build the world.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where config, mappings and credentials are written (created if missing).
    pub dir: PathBuf,
    pub seed: u64,
    /// Simulated seconds per real second on the Amazon side (0 freezes it).
    pub time_scale: f64,
    /// Days of closed settlements already there.
    pub history_days: u32,
    /// Share of Amazon requests answered with a fault (429, 500, 503, resets, cut downloads…).
    pub amazon_fault_rate: f64,
    /// Share of EBS service calls answered 500.
    pub ebs_fault_rate: f64,
    /// EBS import: running after `t1`, complete after `t2` (simulated clock).
    pub import_times: (Duration, Duration),
    /// Passphrase for the credentials file (random when `None`).
    pub passphrase: Option<String>,
    /// age scrypt work factor (low in tests; `None` = age's default).
    pub work_factor: Option<u8>,
    /// `[headless] auto_post`.
    pub auto_post: bool,
    /// How far the Amazon simulator's clock runs ahead of (+) or behind (-) real time.
    pub amazon_clock_offset: chrono::Duration,
    /// The EBS simulator's seed (TOML); `None` = [`demo_seed`].
    pub ebs_seed: Option<String>,
}

impl DemoOptions {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DemoOptions {
            dir: dir.into(),
            seed: 7,
            time_scale: 3600.0,
            history_days: 28,
            amazon_fault_rate: 0.0,
            ebs_fault_rate: 0.0,
            import_times: (Duration::from_millis(200), Duration::from_millis(600)),
            passphrase: None,
            work_factor: None,
            auto_post: true,
            amazon_clock_offset: chrono::Duration::zero(),
            ebs_seed: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error(transparent)]
    Sim(#[from] crate::sim::amazon::SimError),
    #[error("EBS simulator: {0}")]
    Ebs(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Credentials(#[from] credentials::CredentialsError),
}

/// A running demo world. Dropping it stops the EBS simulator; call [`DemoWorld::stop`] to stop both.
pub struct DemoWorld {
    pub amazon: RunningAmazonSim,
    pub ebs: RunningEbsSim,
    pub config_path: PathBuf,
    passphrase: SecretString,
}

impl std::fmt::Debug for DemoWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoWorld")
            .field("amazon", &self.amazon.base_url())
            .field("ebs", &self.ebs.base_url())
            .field("config", &self.config_path)
            .finish()
    }
}

fn write(path: &Path, text: &str) -> Result<(), WorldError> {
    std::fs::write(path, text).map_err(|source| WorldError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The EBS seed of the demo: the default plus CA's own fee account, its JE source
/// and the world event that end-dates that account when CA's import starts.
pub fn demo_seed() -> String {
    format!(
        "{DEFAULT_SEED}\n\
         [[je_sources]]\nname = \"{CA_JE_SOURCE}\"\nuser_name = \"{CA_JE_SOURCE}\"\n\n\
         [[accounts]]\ncombination = \"{CA_FEE_ACCOUNT}\"\ndescription = \"Amazon selling fees (CA)\"\n\n\
         [[world_events]]\non = \"journal_import_start\"\nsource = \"{CA_JE_SOURCE}\"\n\
         action = \"end_date_account\"\naccount = \"{CA_FEE_ACCOUNT}\"\nend_date = \"2025-06-30\"\n"
    )
}

/// CA's mapping: the default with its own selling-fee account.
pub fn ca_mapping() -> String {
    DEFAULT_MAPPING.replace("01-000-6110-0000-000", CA_FEE_ACCOUNT)
}

fn random_passphrase() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..24)
        .map(|_| {
            let c = rng.random_range(0..36u8);
            (if c < 10 { b'0' + c } else { b'a' + c - 10 }) as char
        })
        .collect()
}

impl DemoWorld {
    /// Starts both simulators on 127.0.0.1 (free ports) and writes the client setup.
    pub async fn start(opts: DemoOptions) -> Result<DemoWorld, WorldError> {
        std::fs::create_dir_all(&opts.dir).map_err(|source| WorldError::Io {
            path: opts.dir.clone(),
            source,
        })?;
        let amazon_cfg = AmazonSimConfig {
            seed: opts.seed,
            marketplaces: vec!["US".into(), "CA".into(), "DE".into(), "UK".into()],
            history_days: opts.history_days,
            time_scale: opts.time_scale,
            fault_rate: opts.amazon_fault_rate,
            faults: if opts.amazon_fault_rate > 0.0 {
                amazon_sim::Fault::ALL.to_vec()
            } else {
                Vec::new()
            },
            slow_delay: Duration::from_millis(50),
            clock_offset: opts.amazon_clock_offset,
            scenarios: vec![
                Scenario::MonthEndSpan {
                    marketplace: "US".into(),
                },
                Scenario::NegativeThenCleared {
                    marketplace: "US".into(),
                },
                Scenario::UnmappedFee {
                    marketplace: "DE".into(),
                    description: UNMAPPED_FEE.into(),
                    amount: Decimal::new(-123, 2),
                },
                Scenario::ForeignDeposit {
                    marketplace: "UK".into(),
                    currency: "USD".into(),
                    rate: UK_DEPOSIT_RATE.parse().unwrap_or(Decimal::ONE),
                },
            ],
            ..AmazonSimConfig::default()
        };
        let amazon = amazon_sim::spawn(amazon_cfg).await?;
        let seed_text = opts.ebs_seed.clone().unwrap_or_else(demo_seed);
        let seed = Seed::parse(&seed_text).map_err(|e| WorldError::Ebs(e.to_string()))?;
        let ebs_cfg = EbsSimConfig {
            seed,
            scheduler: Scheduler::Timed {
                t1: opts.import_times.0,
                t2: opts.import_times.1,
            },
            fault_rate: opts.ebs_fault_rate,
            rng_seed: opts.seed,
            ..EbsSimConfig::default()
        };
        let ebs = ebs_sim::spawn(ebs_cfg)
            .await
            .map_err(|e| WorldError::Ebs(e.to_string()))?;

        let dir = &opts.dir;
        write(&dir.join("mapping.toml"), DEFAULT_MAPPING)?;
        write(&dir.join("mapping-ca.toml"), &ca_mapping())?;
        let config_path = dir.join("config.toml");
        write(
            &config_path,
            &config_text(&amazon, &ebs, opts.auto_post, opts.time_scale),
        )?;
        let passphrase = opts.passphrase.clone().unwrap_or_else(random_passphrase);
        let creds_json = serde_json::json!({
            "sellers": {
                "demo-na": {
                    "client_id": amazon_sim::DEFAULT_CLIENT_ID,
                    "client_secret": amazon_sim::DEFAULT_CLIENT_SECRET,
                    "refresh_token": amazon_sim::DEFAULT_REFRESH_TOKEN,
                },
                "demo-eu": {
                    "client_id": amazon_sim::DEFAULT_CLIENT_ID,
                    "client_secret": amazon_sim::DEFAULT_CLIENT_SECRET,
                    "refresh_token": amazon_sim::DEFAULT_REFRESH_TOKEN,
                },
            },
            "ebs": { "username": EBS_USER, "password": EBS_PASSWORD },
        });
        let creds = Credentials::from_json(creds_json.to_string().as_bytes())?;
        let passphrase = SecretString::from(passphrase);
        credentials::save(
            &dir.join("credentials.age"),
            &creds,
            &Unlock::Passphrase(passphrase.clone()),
            opts.work_factor,
        )?;
        Ok(DemoWorld {
            amazon,
            ebs,
            config_path,
            passphrase,
        })
    }

    pub fn passphrase(&self) -> &SecretString {
        &self.passphrase
    }

    /// The one JSON line `demo --sims-only` prints.
    pub fn announce(&self) -> serde_json::Value {
        use secrecy::ExposeSecret;
        serde_json::json!({
            "amazon": self.amazon.base_url(),
            "ebs": self.ebs.base_url(),
            "config": self.config_path.display().to_string(),
            "passphrase": self.passphrase.expose_secret(),
        })
    }

    /// Every secret the world hands out (for tests that look for leaks).
    pub fn secrets(&self) -> Vec<String> {
        use secrecy::ExposeSecret;
        vec![
            amazon_sim::DEFAULT_CLIENT_SECRET.to_string(),
            amazon_sim::DEFAULT_REFRESH_TOKEN.to_string(),
            EBS_PASSWORD.to_string(),
            self.passphrase.expose_secret().to_string(),
        ]
    }

    pub async fn stop(self) {
        self.amazon.stop().await;
        self.ebs.shutdown().await;
    }
}

fn config_text(
    amazon: &RunningAmazonSim,
    ebs: &RunningEbsSim,
    auto_post: bool,
    time_scale: f64,
) -> String {
    use crate::sim::amazon::Region;
    let na = amazon.endpoint(Region::Na);
    let eu = amazon.endpoint(Region::Eu);
    let lwa = amazon.token_url();
    let ebs_url = ebs.base_url();
    let auto = if auto_post { "reconciled" } else { "never" };
    // Settlements arrive every 14 simulated days: sync about four times per settlement.
    let every_secs = if time_scale > 0.0 {
        ((14.0 * 86400.0 / time_scale) / 4.0).clamp(10.0, 3600.0) as u64
    } else {
        900
    };
    format!(
        r#"# Written by `ml-connector demo --sims-only`: the demo world's simulators.
user = "demo"
credentials = "credentials.age"

[[seller]]
name = "demo-na"
region = "na"
marketplaces = ["{US}", "{CA}"]
endpoint = "{na}"
lwa_endpoint = "{lwa}"

[[seller]]
name = "demo-eu"
region = "eu"
marketplaces = ["{DE}", "{UK}"]
endpoint = "{eu}"
lwa_endpoint = "{lwa}"

[ebs]
base_url = "{ebs_url}"
security_group = "STANDARD"
nls_language = "AMERICAN"
fx_rate_type = "Corporate"
fx_rounding = "{FX_ROUNDING}"
[ebs.gl]
responsibility = "GENERAL_LEDGER_SUPER_USER"
application = "SQLGL"
access_set_id = 1000

[[routing]]
marketplace = "{US}"
ledger_id = 1
org_id = 204
access_set_id = 1000
timezone = "America/Los_Angeles"
je_source = "Amazon"
je_category = "Amazon Settlement"

[[routing]]
marketplace = "{CA}"
ledger_id = 2
org_id = 458
access_set_id = 1001
mapping = "mapping-ca.toml"
timezone = "America/Toronto"
je_source = "{CA_JE_SOURCE}"
je_category = "Amazon Settlement"

[[routing]]
marketplace = "{DE}"
ledger_id = 3
org_id = 512
access_set_id = 1002
timezone = "Europe/Berlin"
je_source = "Amazon"
je_category = "Amazon Settlement"

# No UK entity: GBP settlements land in the US ledger (USD), in its time zone.
[[routing]]
marketplace = "{UK}"
ledger_id = 1
org_id = 204
access_set_id = 1000
timezone = "America/Los_Angeles"
je_source = "Amazon"
je_category = "Amazon Settlement"

[mapping]
file = "mapping.toml"

[posting]
profile = "gl_summary"

[schedule]
every = "{every_secs}s"

[headless]
auto_post = "{auto}"
"#
    )
}
