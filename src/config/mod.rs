//! Configuration: the `config.toml` schema, where files live, and the
//! age-encrypted credentials beside it.
//!
//! Loading is strict: an unknown key, a bad value or an inconsistent section is an
//! error naming the file, the line and the key (`config.toml line 12: unknown key
//! `foo` in [ebs]`), because a silently ignored setting in an accounting tool
//! posts money to the wrong place.

pub mod credentials;
pub mod duration;
pub mod paths;
pub mod schema;
mod spans;
pub mod validate;

use std::ops::Deref;
use std::path::{Path, PathBuf};

pub use credentials::{Credentials, CredentialsError, EbsSecrets, SellerSecrets, Unlock};
pub use duration::HumanDuration;
pub use paths::Paths;
pub use schema::*;

/// A loaded, validated configuration and the file it came from (relative paths in
/// it are relative to that file's directory).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    path: PathBuf,
    settings: ConfigFile,
}

impl Deref for Config {
    type Target = ConfigFile;
    fn deref(&self) -> &ConfigFile {
        &self.settings
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no configuration at {}: create it (see docs/configuration.md) or pass --config FILE",
        path.display()
    )]
    NotFound { path: PathBuf },
    #[error("cannot read configuration {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A problem at a known place in the file.
    #[error("{} line {line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// A problem with no single line (e.g. a required section that is absent).
    #[error("{}: {message}", path.display())]
    InvalidFile { path: PathBuf, message: String },
    #[error("cannot find the user's {what} directory; pass {flag}")]
    NoHomeDirectory {
        what: &'static str,
        flag: &'static str,
    },
}

impl ConfigError {
    /// The line the error points at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Invalid { line, .. } => Some(*line),
            _ => None,
        }
    }
}

impl Config {
    /// Reads, parses and validates the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NotFound {
                    path: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Config::from_toml(&text, path)
    }

    /// Parses and validates configuration text; `path` names it in errors and
    /// anchors its relative paths.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        if is_blank_toml(text) {
            return Err(ConfigError::InvalidFile {
                path: path.to_path_buf(),
                message: "the file is empty (no settings, only blank lines or comments): write \
                          the configuration into it (every section is described in \
                          docs/configuration.md and in src/config/example.toml), or pass \
                          --config FILE to use another file"
                    .into(),
            });
        }
        let settings: ConfigFile = spans::parse(text, path)?;
        let config = Config {
            path: path.to_path_buf(),
            settings,
        };
        if let Some(issue) = validate::check(&config.settings).into_iter().next() {
            return Err(spans::locate(text, path, issue));
        }
        Ok(config)
    }

    /// Builds a configuration from already-typed settings (e.g. the demo writing
    /// its own), validating them the same way.
    pub fn from_settings(settings: ConfigFile, path: &Path) -> Result<Config, ConfigError> {
        let text = toml::to_string(&settings).map_err(|err| ConfigError::InvalidFile {
            path: path.to_path_buf(),
            message: err.to_string(),
        })?;
        Config::from_toml(&text, path)
    }

    /// The settings as TOML (for writing a generated configuration).
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.settings).unwrap_or_default()
    }

    /// The file this configuration was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn settings(&self) -> &ConfigFile {
        &self.settings
    }

    /// The directory relative paths in the file are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// Resolves a path from the file against [`Config::base_dir`].
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir().join(path)
        }
    }

    /// The encrypted credentials file (default `credentials.age` beside the config).
    pub fn credentials_path(&self) -> PathBuf {
        self.resolve(
            self.credentials
                .as_deref()
                .unwrap_or(Path::new("credentials.age")),
        )
    }

    /// The X25519 identity file, when one is configured instead of a passphrase.
    pub fn identity_path(&self) -> Option<PathBuf> {
        self.identity.as_deref().map(|p| self.resolve(p))
    }

    /// The default mapping file.
    pub fn mapping_path(&self) -> PathBuf {
        self.resolve(&self.mapping.file)
    }

    /// Every mapping file in use: the default, then each routing's own, deduplicated.
    pub fn mapping_paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.mapping_path()];
        for route in &self.routing {
            if let Some(file) = &route.mapping {
                let path = self.resolve(file);
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
        }
        paths
    }

    /// The mapping file a marketplace's batches use.
    pub fn mapping_path_for(&self, marketplace: &str) -> PathBuf {
        self.routing_for(marketplace)
            .and_then(|r| r.mapping.as_deref())
            .map(|p| self.resolve(p))
            .unwrap_or_else(|| self.mapping_path())
    }

    pub fn seller(&self, name: &str) -> Option<&SellerConfig> {
        self.sellers.iter().find(|s| s.name.as_str() == name)
    }

    /// The seller a marketplace is configured under (the first, if several).
    pub fn seller_for_marketplace(&self, marketplace: &str) -> Option<&SellerConfig> {
        self.sellers
            .iter()
            .find(|s| s.marketplaces.iter().any(|m| m.as_str() == marketplace))
    }

    pub fn routing_for(&self, marketplace: &str) -> Option<&RoutingConfig> {
        self.routing
            .iter()
            .find(|r| r.marketplace.as_str() == marketplace)
    }

    /// The GL data access set for a routing (its override, else `[ebs.gl]`).
    pub fn access_set_id(&self, route: &RoutingConfig) -> Option<i64> {
        route
            .access_set_id
            .or_else(|| self.ebs.as_ref().and_then(|e| e.gl.access_set_id))
    }

    /// The EBS section, or an error saying it is needed.
    pub fn require_ebs(&self) -> Result<&EbsConfig, ConfigError> {
        self.ebs.as_ref().ok_or_else(|| ConfigError::InvalidFile {
            path: self.path.clone(),
            message: "no [ebs] section: add one (base_url, [ebs.gl] …) to post to E-Business Suite"
                .into(),
        })
    }

    /// The applications context a call to `module` runs under for `route`.
    pub fn ebs_context(
        &self,
        module: EbsModule,
        route: Option<&RoutingConfig>,
    ) -> Option<EbsContext> {
        let ebs = self.ebs.as_ref()?;
        let ctx = match module {
            EbsModule::Gl => &ebs.gl,
            EbsModule::Ar => ebs.ar.as_ref()?,
            EbsModule::Ap => ebs.ap.as_ref()?,
        };
        let access_set_id = match module {
            EbsModule::Gl => route.and_then(|r| r.access_set_id).or(ebs.gl.access_set_id),
            _ => None,
        };
        Some(EbsContext {
            responsibility: ctx.responsibility.clone(),
            application: ctx.application.clone(),
            security_group: ebs.security_group.clone(),
            nls_language: ebs.nls_language.clone(),
            org_id: route.map(|r| r.org_id),
            access_set_id,
        })
    }

    /// How to open the credentials without asking anyone (identity file, else
    /// `ML_CONNECTOR_PASSPHRASE`), as unattended runs and `doctor` need.
    pub fn unlock_without_prompt(&self) -> Result<Unlock, CredentialsError> {
        Unlock::without_prompt(self.identity_path().as_deref())
            .ok_or(CredentialsError::NoPassphrase)
    }

    /// Decrypts this configuration's credentials file.
    pub fn load_credentials(&self, unlock: &Unlock) -> Result<Credentials, CredentialsError> {
        credentials::load(&self.credentials_path(), unlock)
    }

    /// The audit actor for this run: `headless` for unattended runs, else the
    /// configured user, else the OS user (`USER` / `USERNAME`), else `unknown`.
    pub fn actor(&self, headless: bool) -> String {
        actor(
            self.user.as_deref(),
            headless,
            std::env::var("USER")
                .ok()
                .or_else(|| std::env::var("USERNAME").ok()),
        )
    }
}

/// No TOML content at all: zero bytes, whitespace, comments (a file every
/// setting of which would silently be a default).
fn is_blank_toml(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#')
    })
}

/// The audit actor (pure): see [`Config::actor`].
pub fn actor(configured: Option<&str>, headless: bool, os_user: Option<String>) -> String {
    if headless {
        return "headless".into();
    }
    configured
        .map(str::to_string)
        .or(os_user.filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// The EBS modules a call can run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EbsModule {
    Gl,
    Ar,
    Ap,
}

/// Everything an EBS REST call's `RESTHeader` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EbsContext {
    pub responsibility: String,
    pub application: String,
    pub security_group: String,
    pub nls_language: String,
    pub org_id: Option<i64>,
    pub access_set_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config file with no settings (zero bytes, blanks, comments) is an
    /// error saying so, not a run with every default.
    #[test]
    fn an_empty_file_is_an_error_saying_so() {
        let path = Path::new("/etc/mlc/config.toml");
        for text in [
            "",
            "   \n\t\n",
            "# only a comment\n\n  # another\r\n",
            "\u{feff}\n",
        ] {
            let err = Config::from_toml(text, path).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains("/etc/mlc/config.toml") && msg.contains("empty"),
                "{text:?}: {msg}"
            );
            assert!(msg.contains("example.toml"), "what to do: {msg}");
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        std::fs::write(&file, b"").unwrap();
        let msg = Config::load(&file).unwrap_err().to_string();
        assert!(msg.contains("empty"), "{msg}");
        // a comment beside one real setting is not empty
        let err = Config::from_toml("# c\nuser = \"ana\"\n", path);
        assert!(err.is_ok() || !err.unwrap_err().to_string().contains("empty"));
    }
}
