//! The whole configuration schema (`config.toml`), every section, strictly typed.
//!
//! Every struct denies unknown keys so a typo is an error naming the key and line
//! rather than a silently ignored setting. Values that can be checked on their own
//! (regions, endpoints, durations, time zones, profile names) are checked while
//! parsing, so their errors carry the line too; cross-section rules live in
//! [`super::validate`].

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use super::duration::HumanDuration;

/// The configuration file as written by the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Actor in the audit trail (default: the OS user); unattended runs are `headless`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The age-encrypted credentials file (default: `credentials.age` beside the config).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<PathBuf>,
    /// An X25519 identity file used instead of a passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<PathBuf>,
    #[serde(default, rename = "seller", skip_serializing_if = "Vec::is_empty")]
    pub sellers: Vec<SellerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs: Option<EbsConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing: Vec<RoutingConfig>,
    #[serde(default)]
    pub mapping: MappingConfig,
    #[serde(default)]
    pub posting: PostingConfig,
    #[serde(default)]
    pub schedule: ScheduleConfig,
    #[serde(default)]
    pub headless: HeadlessConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    #[serde(default)]
    pub controls: ControlsConfig,
    #[serde(default)]
    pub cutover: CutoverConfig,
    #[serde(default)]
    pub items: ItemsConfig,
}

/// One seller account in one region (`[[seller]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellerConfig {
    /// Profile name; also the key of this seller's secrets in the credentials file.
    pub name: ProfileName,
    pub region: Region,
    pub marketplaces: Vec<MarketplaceId>,
    /// SP-API base URL override (e.g. the simulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
    /// Login with Amazon token URL override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lwa_endpoint: Option<Endpoint>,
}

impl SellerConfig {
    /// The SP-API base URL this seller talks to.
    pub fn api_endpoint(&self) -> Endpoint {
        self.endpoint
            .clone()
            .unwrap_or_else(|| self.region.default_endpoint())
    }

    /// The LWA token URL this seller exchanges its refresh token at.
    pub fn token_endpoint(&self) -> Endpoint {
        self.lwa_endpoint
            .clone()
            .unwrap_or_else(Region::default_lwa_endpoint)
    }
}

/// SP-API region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Na,
    Eu,
    Fe,
}

impl Region {
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Na => "na",
            Region::Eu => "eu",
            Region::Fe => "fe",
        }
    }

    pub fn default_endpoint(self) -> Endpoint {
        let url = match self {
            Region::Na => "https://sellingpartnerapi-na.amazon.com",
            Region::Eu => "https://sellingpartnerapi-eu.amazon.com",
            Region::Fe => "https://sellingpartnerapi-fe.amazon.com",
        };
        Endpoint(url::Url::parse(url).expect("static URL"))
    }

    pub fn default_lwa_endpoint() -> Endpoint {
        Endpoint(url::Url::parse("https://api.amazon.com/auth/o2/token").expect("static URL"))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Known marketplaces: id, country, region. Unknown ids are accepted (Amazon adds
/// marketplaces) but a known id configured under the wrong region is an error.
pub const MARKETPLACES: &[(&str, &str, Region)] = &[
    ("ATVPDKIKX0DER", "US", Region::Na),
    ("A2EUQ1WTGCTBG2", "CA", Region::Na),
    ("A1AM78C64UM0Y8", "MX", Region::Na),
    ("A2Q3Y263D00KWC", "BR", Region::Na),
    ("A28R8C7NBKEWEA", "IE", Region::Eu),
    ("A1RKKUPIHCS9HS", "ES", Region::Eu),
    ("A1F83G8C2ARO7P", "UK", Region::Eu),
    ("A13V1IB3VIYZZH", "FR", Region::Eu),
    ("AMEN7PMS3EDWL", "BE", Region::Eu),
    ("A1805IZSGTT6HS", "NL", Region::Eu),
    ("A1PA6795UKMFR9", "DE", Region::Eu),
    ("APJ6JRA9NG5V4", "IT", Region::Eu),
    ("A2NODRKZP88ZB9", "SE", Region::Eu),
    ("AE08WJ6YKNBMC", "ZA", Region::Eu),
    ("A1C3SOZRARQ6R3", "PL", Region::Eu),
    ("ARBP9OOSHTCHU", "EG", Region::Eu),
    ("A33AVAJ2PDY3EV", "TR", Region::Eu),
    ("A17E79C6D8DWNP", "SA", Region::Eu),
    ("A2VIGQ35RCS4UG", "AE", Region::Eu),
    ("A21TJRUUN4KGV", "IN", Region::Eu),
    ("A19VAU5U5O7RUS", "SG", Region::Fe),
    ("A39IBJ37TRP1C6", "AU", Region::Fe),
    ("A1VC38T7YXB528", "JP", Region::Fe),
];

/// A marketplace id (`ATVPDKIKX0DER`): upper-case letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MarketplaceId(String);

impl MarketplaceId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The region of a known marketplace.
    pub fn known_region(&self) -> Option<Region> {
        MARKETPLACES
            .iter()
            .find(|(id, _, _)| *id == self.0)
            .map(|(_, _, region)| *region)
    }

    pub fn country(&self) -> Option<&'static str> {
        MARKETPLACES
            .iter()
            .find(|(id, _, _)| *id == self.0)
            .map(|(_, country, _)| *country)
    }
}

impl TryFrom<String> for MarketplaceId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let ok = (8..=20).contains(&value.len())
            && value
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(MarketplaceId(value))
        } else {
            Err(format!(
                "`{value}` is not a marketplace id (8-20 upper-case letters and digits, e.g. ATVPDKIKX0DER)"
            ))
        }
    }
}

impl From<MarketplaceId> for String {
    fn from(value: MarketplaceId) -> Self {
        value.0
    }
}

impl fmt::Display for MarketplaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A seller profile name (`acme-na`): lower-case letters, digits, `-` and `_`,
/// starting with a letter or digit, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProfileName(String);

impl ProfileName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProfileName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let mut chars = value.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if first_ok && rest_ok && value.len() <= 64 {
            Ok(ProfileName(value))
        } else {
            Err(format!(
                "`{value}` is not a profile name: use lower-case letters, digits, `-` and `_` (e.g. \"acme-na\")"
            ))
        }
    }
}

impl From<ProfileName> for String {
    fn from(value: ProfileName) -> Self {
        value.0
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An HTTP endpoint: `https://` anywhere, plain `http://` only to loopback
/// (the simulators), so credentials never cross a network in clear text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Endpoint(url::Url);

impl Endpoint {
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn is_loopback(&self) -> bool {
        match self.0.host() {
            Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => false,
        }
    }
}

impl std::str::FromStr for Endpoint {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let url =
            url::Url::parse(value).map_err(|err| format!("`{value}` is not a URL ({err})"))?;
        if url.host().is_none() {
            return Err(format!("`{value}` has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "`{}` carries a user name or password; credentials belong in the encrypted credentials file",
                url.host_str().unwrap_or_default()
            ));
        }
        let endpoint = Endpoint(url);
        match endpoint.0.scheme() {
            "https" => Ok(endpoint),
            "http" if endpoint.is_loopback() => Ok(endpoint),
            "http" => Err(format!(
                "`{value}`: plain http:// is allowed only to loopback (127.0.0.1, ::1, localhost); use https://"
            )),
            other => Err(format!("`{value}`: scheme `{other}` is not http(s)")),
        }
    }
}

impl TryFrom<String> for Endpoint {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Endpoint> for String {
    fn from(value: Endpoint) -> Self {
        value.0.to_string()
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

/// `[ebs]`: the Oracle E-Business Suite instance and how to act in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EbsConfig {
    pub base_url: Endpoint,
    #[serde(default = "default_security_group")]
    pub security_group: String,
    #[serde(default = "default_nls_language")]
    pub nls_language: String,
    #[serde(default)]
    pub fx_rate_type: FxRateType,
    /// Account combination for rounding differences of converted amounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fx_rounding: Option<AccountCombination>,
    pub gl: ModuleContext,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ar: Option<ModuleContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ap: Option<ModuleContext>,
    #[serde(default)]
    pub aliases: ServiceAliases,
}

fn default_security_group() -> String {
    "STANDARD".into()
}

fn default_nls_language() -> String {
    "AMERICAN".into()
}

/// `[ebs.gl]`, `[ebs.ar]`, `[ebs.ap]`: the responsibility a module's calls run as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleContext {
    /// Responsibility key, e.g. `GENERAL_LEDGER_SUPER_USER`.
    pub responsibility: String,
    /// Responsibility application short name, e.g. `SQLGL`.
    pub application: String,
    /// GL data access set (GL only; routing may override per ledger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_set_id: Option<i64>,
}

/// `[ebs.aliases]`: service aliases as deployed on this instance (chosen by the
/// customer's integration administrator; there is no fixed catalogue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAliases {
    #[serde(default = "alias_gl")]
    pub gl: String,
    #[serde(default = "alias_ar")]
    pub ar: String,
    #[serde(default = "alias_ap")]
    pub ap: String,
    #[serde(default = "alias_custom")]
    pub custom: String,
}

fn alias_gl() -> String {
    "gljournal".into()
}
fn alias_ar() -> String {
    "autoinvoice".into()
}
fn alias_ap() -> String {
    "apinvoice".into()
}
fn alias_custom() -> String {
    "xxmlc".into()
}

impl Default for ServiceAliases {
    fn default() -> Self {
        ServiceAliases {
            gl: alias_gl(),
            ar: alias_ar(),
            ap: alias_ap(),
            custom: alias_custom(),
        }
    }
}

/// How a settlement in another currency than its ledger's is converted: a GL conversion
/// type (`Corporate`, `Spot`, …: its GL_DAILY_RATES rate on the accounting date) or
/// `event_group`, Amazon's own rate (the financial event group's converted total over its
/// original total, sent as a `User` rate). `implied` is accepted for `event_group`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum FxRateType {
    EventGroup,
    Named(String),
}

impl Default for FxRateType {
    fn default() -> Self {
        FxRateType::Named("Corporate".into())
    }
}

impl From<String> for FxRateType {
    fn from(value: String) -> Self {
        if value.eq_ignore_ascii_case("event_group") || value.eq_ignore_ascii_case("implied") {
            FxRateType::EventGroup
        } else {
            FxRateType::Named(value)
        }
    }
}

impl From<FxRateType> for String {
    fn from(value: FxRateType) -> Self {
        match value {
            FxRateType::EventGroup => "event_group".into(),
            FxRateType::Named(name) => name,
        }
    }
}

/// A GL account combination, segments joined by `-` (`01-000-7990-0000-000`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountCombination(String);

impl AccountCombination {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('-')
    }
}

impl TryFrom<String> for AccountCombination {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        let ok = !value.is_empty()
            && value
                .split('-')
                .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric()));
        if ok {
            Ok(AccountCombination(value))
        } else {
            Err(format!(
                "`{value}` is not an account combination (segments of letters and digits joined by `-`, e.g. \"01-000-7990-0000-000\")"
            ))
        }
    }
}

impl From<AccountCombination> for String {
    fn from(value: AccountCombination) -> Self {
        value.0
    }
}

impl fmt::Display for AccountCombination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `[[routing]]`: where one marketplace's money lands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    pub marketplace: MarketplaceId,
    pub ledger_id: i64,
    pub org_id: i64,
    /// Per-ledger override of `[ebs.gl] access_set_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_set_id: Option<i64>,
    /// This ledger's own mapping file (default: `[mapping] file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<PathBuf>,
    /// The ledger's time zone: period splits, accounting, FX and creation dates (one per ledger).
    pub timezone: TimeZone,
    #[serde(default = "default_je_source")]
    pub je_source: String,
    #[serde(default = "default_je_category")]
    pub je_category: String,
    /// AR (profile `ar_and_gl`): bill-to customer, transaction type, batch source, terms, receipt method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trx_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_method: Option<String>,
    /// AP (`ap_fees = true`): supplier and site for fee invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_site: Option<String>,
}

fn default_je_source() -> String {
    "Amazon".into()
}
fn default_je_category() -> String {
    "Amazon Settlement".into()
}

/// An IANA time zone name (`America/Toronto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(pub chrono_tz::Tz);

impl TryFrom<String> for TimeZone {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse::<chrono_tz::Tz>().map(TimeZone).map_err(|_| {
            format!("`{value}` is not a time zone (use an IANA name such as \"America/Toronto\")")
        })
    }
}

impl From<TimeZone> for String {
    fn from(value: TimeZone) -> Self {
        value.0.name().to_string()
    }
}

/// `[mapping]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// The default mapping, relative to the config file.
    #[serde(default = "default_mapping_file")]
    pub file: PathBuf,
}

fn default_mapping_file() -> PathBuf {
    PathBuf::from("mapping.toml")
}

impl Default for MappingConfig {
    fn default() -> Self {
        MappingConfig {
            file: default_mapping_file(),
        }
    }
}

/// `[posting]`
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostingConfig {
    #[serde(default)]
    pub profile: PostingProfile,
    /// Also raise AP invoices for Amazon's fees.
    #[serde(default)]
    pub ap_fees: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostingProfile {
    /// One summarised GL journal per settlement and period.
    #[default]
    GlSummary,
    /// AR invoices and receipts for sales, GL for the rest.
    ArAndGl,
}

/// `[schedule]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    #[serde(default = "default_every")]
    pub every: HumanDuration,
}

fn default_every() -> HumanDuration {
    HumanDuration::from_secs(15 * 60)
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            every: default_every(),
        }
    }
}

/// `[headless]`
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadlessConfig {
    #[serde(default)]
    pub auto_post: AutoPost,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoPost {
    /// Unattended runs sync and propose; a person approves.
    #[default]
    Never,
    /// Unattended runs post settlements that are consistent, mapped, balanced and reconciled.
    Reconciled,
}

/// `[alerts]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Command run (no shell) with the run report on stdin when a run fails or work waits:
    /// `"/path/cmd --to 'finance team'"` (split into words like a shell, quotes respected)
    /// or `["/path/cmd", "--to", "finance team"]` (the words as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<AlertCommand>,
    /// Alert when work has been waiting for a person this long.
    #[serde(default = "default_waiting_after")]
    pub waiting_after: HumanDuration,
}

/// `[alerts] on_failure`: one command line, or its words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    expecting = "a command line (string) or its words (array of strings)"
)]
pub enum AlertCommand {
    /// Split into words with shell quoting rules (`shell-words`); nothing else of a shell.
    Line(String),
    /// Taken as is: program first.
    Words(Vec<String>),
}

impl From<String> for AlertCommand {
    fn from(line: String) -> Self {
        AlertCommand::Line(line)
    }
}

impl From<&str> for AlertCommand {
    fn from(line: &str) -> Self {
        AlertCommand::Line(line.to_string())
    }
}

impl From<Vec<String>> for AlertCommand {
    fn from(words: Vec<String>) -> Self {
        AlertCommand::Words(words)
    }
}

fn default_waiting_after() -> HumanDuration {
    HumanDuration::from_secs(3 * 86_400)
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            on_failure: None,
            waiting_after: default_waiting_after(),
        }
    }
}

/// `[controls]`
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlsConfig {
    /// The approver must differ from whoever last changed the mapping.
    #[serde(default)]
    pub distinct_approver: bool,
}

/// `[cutover]`
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CutoverConfig {
    /// Settlements ending earlier are archived, never posted.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub date: Option<NaiveDate>,
}

/// `[items]`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemsConfig {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_list: Option<String>,
    #[serde(default = "default_safety_stock")]
    pub safety_stock: u32,
    /// Patch listings without a person approving the diff.
    #[serde(default)]
    pub auto_approve: bool,
}

fn default_safety_stock() -> u32 {
    2
}

impl Default for ItemsConfig {
    fn default() -> Self {
        ItemsConfig {
            enabled: false,
            price_list: None,
            safety_stock: default_safety_stock(),
            auto_approve: false,
        }
    }
}

/// Accepts a quoted `"2025-07-01"` or a bare TOML date `2025-07-01`.
fn de_opt_date<'de, D: Deserializer<'de>>(de: D) -> Result<Option<NaiveDate>, D::Error> {
    use serde::de::Error;
    let value = toml::Value::deserialize(de)?;
    let text = match &value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(dt) if dt.date.is_some() && dt.time.is_none() => dt.to_string(),
        other => {
            return Err(D::Error::custom(format!(
                "expected a date like \"2025-07-01\", found {other}"
            )));
        }
    };
    NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| D::Error::custom(format!("`{text}` is not a date like \"2025-07-01\"")))
}

fn ser_opt_date<S: Serializer>(date: &Option<NaiveDate>, ser: S) -> Result<S::Ok, S::Error> {
    match date {
        Some(date) => ser.serialize_str(&date.format("%Y-%m-%d").to_string()),
        None => ser.serialize_none(),
    }
}
