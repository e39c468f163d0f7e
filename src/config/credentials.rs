//! The age-encrypted credentials file: seller LWA secrets and the EBS login.
//!
//! One file, encrypted to a passphrase (scrypt) or to an X25519 identity, written
//! with mode 0600. Secrets live in [`SecretString`] (zeroized on drop, redacted
//! in `Debug`); plaintext buffers are zeroized; errors never quote file contents,
//! since a JSON error message could echo a secret.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The environment variable unattended runs read the passphrase from.
pub const PASSPHRASE_ENV: &str = "ML_CONNECTOR_PASSPHRASE";

/// One seller's Login with Amazon application credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellerSecrets {
    pub client_id: SecretString,
    pub client_secret: SecretString,
    pub refresh_token: SecretString,
}

/// The EBS user the connector logs in as.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EbsSecrets {
    /// Not secret (it appears in EBS's own audit columns), but kept with the password.
    pub username: String,
    pub password: SecretString,
}

/// Everything secret the connector needs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    #[serde(default)]
    pub sellers: BTreeMap<String, SellerSecrets>,
    #[serde(default)]
    pub ebs: Option<EbsSecrets>,
}

/// How the credentials file is protected.
#[derive(Debug, Clone)]
pub enum Unlock {
    Passphrase(SecretString),
    /// An age X25519 identity file (`AGE-SECRET-KEY-1…` lines).
    Identity(PathBuf),
}

impl Unlock {
    /// What an unattended run can use without asking: the configured identity
    /// file, else `ML_CONNECTOR_PASSPHRASE`; `None` means a person must type a passphrase.
    pub fn without_prompt(identity: Option<&Path>) -> Option<Unlock> {
        if let Some(path) = identity {
            return Some(Unlock::Identity(path.to_path_buf()));
        }
        passphrase_from_env().map(Unlock::Passphrase)
    }
}

/// `ML_CONNECTOR_PASSPHRASE`, if set and not empty.
pub fn passphrase_from_env() -> Option<SecretString> {
    let value = Zeroizing::new(std::env::var(PASSPHRASE_ENV).ok()?);
    if value.is_empty() {
        None
    } else {
        Some(SecretString::from(value.as_str()))
    }
}

/// What to do about a damaged credentials file (the end of each such message).
const RESTORE: &str =
    "restore it from a backup or write it again with `ml-connector credentials set`";

/// Why credentials could not be read or written. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("no credentials file at {}: run `ml-connector credentials set`", path.display())]
    NotFound { path: PathBuf },
    #[error("cannot access {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot decrypt {}: wrong passphrase (or its header is damaged: if the passphrase is right, restore it from a backup)",
        path.display()
    )]
    WrongPassphrase { path: PathBuf },
    #[error(
        "cannot decrypt {}: it was not encrypted to the identity in {} (or its header is damaged: if the identity is right, restore it from a backup)",
        path.display(),
        identity.display()
    )]
    WrongIdentity { path: PathBuf, identity: PathBuf },
    #[error(
        "{} is protected by a passphrase, but an identity file is configured: remove `identity` from the configuration or re-run `credentials set`",
        path.display()
    )]
    NeedsPassphrase { path: PathBuf },
    #[error(
        "{} is encrypted to an identity file, not a passphrase: configure `identity = \"…\"`",
        path.display()
    )]
    NeedsIdentity { path: PathBuf },
    #[error("identity file {}: {reason}", path.display())]
    Identity { path: PathBuf, reason: String },
    #[error("{} is not an age-encrypted file: {RESTORE}", path.display())]
    NotAgeFile { path: PathBuf },
    #[error("{}: the age header is damaged ({reason}); {RESTORE}", path.display())]
    HeaderDamaged { path: PathBuf, reason: String },
    #[error(
        "{}: the encrypted contents are damaged (they fail their integrity check although the key is right); {RESTORE}",
        path.display()
    )]
    PayloadDamaged { path: PathBuf },
    #[error(
        "{} can be read by other users (mode {mode:04o}); refusing with --strict: run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    NotPrivate { path: PathBuf, mode: u32 },
    #[error("credentials JSON{}: {reason}", location.as_deref().map(|l| format!(" {l}")).unwrap_or_default())]
    Format {
        location: Option<String>,
        reason: String,
    },
    #[error(
        "no passphrase: set {PASSPHRASE_ENV} or configure an identity file (`identity = \"…\"`) for unattended runs"
    )]
    NoPassphrase,
    #[error("the passphrase must not be empty")]
    EmptyPassphrase,
    #[error("cannot encrypt credentials: {0}")]
    Encrypt(String),
    #[error("no credentials for seller `{name}`: add them with `ml-connector credentials set`")]
    MissingSeller { name: String },
    #[error("no EBS credentials: add them with `ml-connector credentials set`")]
    MissingEbs,
}

impl Credentials {
    /// Parses the plaintext JSON. Errors name the place, never the content.
    pub fn from_json(bytes: &[u8]) -> Result<Credentials, CredentialsError> {
        let creds: Credentials = serde_json::from_slice(bytes).map_err(|err| {
            let text = err.to_string();
            // Only structural messages are safe to repeat: they name keys, not values.
            let reason = if text.starts_with("unknown field") || text.starts_with("missing field") {
                text.split(" at line").next().unwrap_or("").to_string()
            } else {
                match err.classify() {
                    serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                        "not valid JSON".to_string()
                    }
                    _ => "expected {\"sellers\": {\"NAME\": {\"client_id\", \"client_secret\", \"refresh_token\"}}, \"ebs\": {\"username\", \"password\"}} with string values".to_string(),
                }
            };
            CredentialsError::Format {
                location: Some(format!("line {} column {}", err.line(), err.column())),
                reason,
            }
        })?;
        for (name, seller) in &creds.sellers {
            for (field, value) in [
                ("client_id", &seller.client_id),
                ("client_secret", &seller.client_secret),
                ("refresh_token", &seller.refresh_token),
            ] {
                if value.expose_secret().trim().is_empty() {
                    return Err(CredentialsError::Format {
                        location: None,
                        reason: format!("seller `{name}`: {field} is empty"),
                    });
                }
            }
        }
        if let Some(ebs) = &creds.ebs
            && (ebs.username.trim().is_empty() || ebs.password.expose_secret().is_empty())
        {
            return Err(CredentialsError::Format {
                location: None,
                reason: "ebs: username and password must not be empty".into(),
            });
        }
        Ok(creds)
    }

    /// The plaintext JSON, in a buffer zeroized on drop.
    pub fn to_json(&self) -> Zeroizing<Vec<u8>> {
        #[derive(Serialize)]
        struct OutSeller<'a> {
            client_id: &'a str,
            client_secret: &'a str,
            refresh_token: &'a str,
        }
        #[derive(Serialize)]
        struct OutEbs<'a> {
            username: &'a str,
            password: &'a str,
        }
        #[derive(Serialize)]
        struct Out<'a> {
            sellers: BTreeMap<&'a str, OutSeller<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            ebs: Option<OutEbs<'a>>,
        }
        let out = Out {
            sellers: self
                .sellers
                .iter()
                .map(|(name, s)| {
                    (
                        name.as_str(),
                        OutSeller {
                            client_id: s.client_id.expose_secret(),
                            client_secret: s.client_secret.expose_secret(),
                            refresh_token: s.refresh_token.expose_secret(),
                        },
                    )
                })
                .collect(),
            ebs: self.ebs.as_ref().map(|e| OutEbs {
                username: &e.username,
                password: e.password.expose_secret(),
            }),
        };
        // Sized up front so the serializer never reallocates (which would leave
        // unzeroized copies of secrets behind).
        let estimate = 256
            + self
                .sellers
                .iter()
                .map(|(n, s)| {
                    n.len()
                        + 6 * (s.client_id.expose_secret().len()
                            + s.client_secret.expose_secret().len()
                            + s.refresh_token.expose_secret().len())
                        + 128
                })
                .sum::<usize>()
            + self
                .ebs
                .as_ref()
                .map(|e| 6 * (e.username.len() + e.password.expose_secret().len()) + 64)
                .unwrap_or(0);
        let mut buf = Zeroizing::new(Vec::with_capacity(estimate));
        serde_json::to_writer(&mut *buf, &out).expect("serializing strings cannot fail");
        buf
    }

    pub fn seller(&self, name: &str) -> Result<&SellerSecrets, CredentialsError> {
        self.sellers
            .get(name)
            .ok_or_else(|| CredentialsError::MissingSeller { name: name.into() })
    }

    pub fn ebs(&self) -> Result<&EbsSecrets, CredentialsError> {
        self.ebs.as_ref().ok_or(CredentialsError::MissingEbs)
    }

    /// What is present, one line each, without any secret (for `credentials check`).
    pub fn describe(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .sellers
            .keys()
            .map(|name| format!("seller {name}: client_id, client_secret, refresh_token present"))
            .collect();
        match &self.ebs {
            Some(ebs) => lines.push(format!("ebs: user {} with a password", ebs.username)),
            None => lines.push("ebs: not present".into()),
        }
        lines
    }
}

/// Reads an X25519 identity file (comment lines start with `#`).
fn read_identity(path: &Path) -> Result<age::x25519::Identity, CredentialsError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            CredentialsError::Identity {
                path: path.to_path_buf(),
                reason: "not found".into(),
            }
        } else {
            CredentialsError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })?);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .ok_or_else(|| CredentialsError::Identity {
            path: path.to_path_buf(),
            reason: "holds no key".into(),
        })?;
    line.parse::<age::x25519::Identity>()
        .map_err(|_| CredentialsError::Identity {
            path: path.to_path_buf(),
            reason: "is not an age X25519 identity (AGE-SECRET-KEY-1…)".into(),
        })
}

/// Creates a new X25519 identity file (mode 0600); returns its public recipient.
pub fn generate_identity(path: &Path) -> Result<String, CredentialsError> {
    let identity = age::x25519::Identity::generate();
    let public = identity.to_public().to_string();
    let text = Zeroizing::new(format!(
        "# created by ml-connector\n# public key: {public}\n{}\n",
        identity.to_string().expose_secret()
    ));
    write_private(path, text.as_bytes())?;
    Ok(public)
}

/// Encrypts credentials. `work_factor` is scrypt's log2(N) for passphrases
/// (`None`: age's default, about a second of work; tests pass a small one).
pub fn encrypt(
    creds: &Credentials,
    unlock: &Unlock,
    work_factor: Option<u8>,
) -> Result<Vec<u8>, CredentialsError> {
    let plaintext = creds.to_json();
    let mut out = Vec::new();
    let writer = match unlock {
        Unlock::Passphrase(passphrase) => {
            if passphrase.expose_secret().is_empty() {
                return Err(CredentialsError::EmptyPassphrase);
            }
            let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
            if let Some(log_n) = work_factor {
                recipient.set_work_factor(log_n);
            }
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| CredentialsError::Encrypt(e.to_string()))?
                .wrap_output(&mut out)
        }
        Unlock::Identity(path) => {
            let recipient = read_identity(path)?.to_public();
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| CredentialsError::Encrypt(e.to_string()))?
                .wrap_output(&mut out)
        }
    };
    let mut writer = writer.map_err(|e| CredentialsError::Encrypt(e.to_string()))?;
    writer
        .write_all(&plaintext)
        .and_then(|_| writer.finish().map(|_| ()))
        .map_err(|e| CredentialsError::Encrypt(e.to_string()))?;
    Ok(out)
}

/// The first bytes of every (binary) age file.
const AGE_MAGIC: &[u8] = b"age-encryption.org/";

/// How far into a file its age header is looked for.
const HEADER_SCAN: usize = 64 * 1024;

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether `bytes` is (or was, before damage) an age file: the magic line, a recipient
/// line or the header's MAC line is there. Anything else is not an age file at all.
fn looks_like_age(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(HEADER_SCAN)];
    head.starts_with(AGE_MAGIC) || find(head, b"\n-> ").is_some() || find(head, b"\n--- ").is_some()
}

/// Whether the header ends (the `--- MAC` line is complete) before the file does.
fn header_complete(bytes: &[u8]) -> bool {
    find(bytes, b"\n--- ").is_some_and(|at| bytes[at + 1..].contains(&b'\n'))
}

/// The recipient types (`-> TYPE …` lines) the header names.
fn stanza_tags(bytes: &[u8]) -> Vec<&[u8]> {
    let head = &bytes[..bytes.len().min(HEADER_SCAN)];
    let end = find(head, b"\n--- ").unwrap_or(head.len());
    head[..end]
        .split(|&b| b == b'\n')
        .filter_map(|line| line.strip_prefix(b"-> "))
        .map(|rest| rest.split(|&b| b == b' ').next().unwrap_or_default())
        .collect()
}

/// Recipient types age itself writes (plus its random `…-grease` ones). Anything else in
/// a file ml-connector wrote is a damaged header, not a file for some other key.
fn known_tag(tag: &[u8]) -> bool {
    matches!(
        tag,
        b"scrypt"
            | b"X25519"
            | b"ssh-ed25519"
            | b"ssh-rsa"
            | b"p256tag"
            | b"mlkem768p256tag"
            | b"mlkem768x25519"
            | b"piv-p256"
    ) || tag.ends_with(b"-grease")
}

/// Decrypts credentials read from `path` (named in errors).
///
/// Failures are told apart as far as the format allows: not an age file at all; a
/// damaged header (unreadable structure, an unknown recipient type, a MAC mismatch under
/// the right key); the wrong passphrase or identity (which a damaged salt or wrapped key
/// looks exactly like, so those messages mention it); a passphrase file opened with an
/// identity or the other way round; a damaged payload (integrity check fails).
pub fn decrypt(
    bytes: &[u8],
    unlock: &Unlock,
    path: &Path,
) -> Result<Credentials, CredentialsError> {
    use age::DecryptError as E;
    let path_buf = || path.to_path_buf();
    let damaged = |reason: &str| CredentialsError::HeaderDamaged {
        path: path_buf(),
        reason: reason.into(),
    };
    let payload_damaged = || CredentialsError::PayloadDamaged { path: path_buf() };
    if !looks_like_age(bytes) {
        return Err(CredentialsError::NotAgeFile { path: path_buf() });
    }
    let decryptor = age::Decryptor::new(bytes).map_err(|err| match err {
        E::Io(_) if header_complete(bytes) => payload_damaged(),
        E::Io(_) => damaged("the file ends inside it"),
        E::UnknownFormat => damaged("unknown format version"),
        _ => damaged("it does not parse"),
    })?;
    let tags = stanza_tags(bytes);
    let unknown_tag = tags.is_empty() || tags.iter().any(|t| !known_tag(t));
    // Ciphertext is longer than plaintext: no reallocation leaves copies behind.
    let mut plaintext = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let result = match unlock {
        Unlock::Passphrase(passphrase) => {
            if !decryptor.is_scrypt() {
                if unknown_tag {
                    return Err(damaged("unknown recipient type"));
                }
                return Err(CredentialsError::NeedsIdentity { path: path_buf() });
            }
            let identity = age::scrypt::Identity::new(passphrase.clone());
            decryptor
                .decrypt(std::iter::once(&identity as &dyn age::Identity))
                .map_err(|err| match err {
                    E::DecryptionFailed | E::NoMatchingKeys | E::KeyDecryptionFailed => {
                        CredentialsError::WrongPassphrase { path: path_buf() }
                    }
                    // The file key unwrapped, so the passphrase is right.
                    E::InvalidMac => damaged("its MAC does not match"),
                    E::ExcessiveWork { required, .. } => damaged(&format!(
                        "it asks for scrypt work factor {required}, far more than ml-connector writes"
                    )),
                    _ => damaged("a recipient line is malformed"),
                })
        }
        Unlock::Identity(identity_path) => {
            if decryptor.is_scrypt() {
                return Err(CredentialsError::NeedsPassphrase { path: path_buf() });
            }
            if unknown_tag && !tags.contains(&&b"X25519"[..]) {
                return Err(damaged("unknown recipient type"));
            }
            let identity = read_identity(identity_path)?;
            decryptor
                .decrypt(std::iter::once(&identity as &dyn age::Identity))
                .map_err(|err| match err {
                    E::NoMatchingKeys | E::DecryptionFailed | E::KeyDecryptionFailed => {
                        CredentialsError::WrongIdentity {
                            path: path_buf(),
                            identity: identity_path.clone(),
                        }
                    }
                    E::InvalidMac => damaged("its MAC does not match"),
                    _ => damaged("a recipient line is malformed"),
                })
        }
    };
    result?
        .read_to_end(&mut plaintext)
        .map_err(|_| payload_damaged())?;
    Credentials::from_json(&plaintext)
}

/// Encrypts and writes the credentials file atomically with mode 0600.
pub fn save(
    path: &Path,
    creds: &Credentials,
    unlock: &Unlock,
    work_factor: Option<u8>,
) -> Result<(), CredentialsError> {
    let bytes = encrypt(creds, unlock, work_factor)?;
    write_private(path, &bytes)
}

/// Reads and decrypts the credentials file.
pub fn load(path: &Path, unlock: &Unlock) -> Result<Credentials, CredentialsError> {
    let bytes = std::fs::read(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            CredentialsError::NotFound {
                path: path.to_path_buf(),
            }
        } else {
            CredentialsError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    decrypt(&bytes, unlock, path)
}

/// Whether only the owner can read the file (always true off Unix).
pub fn is_private(path: &Path) -> Result<bool, CredentialsError> {
    Ok(open_mode(path)?.is_none())
}

/// The file's permission bits when group or others have any access (Unix); `None` when
/// only the owner has, and always off Unix.
fn open_mode(path: &Path) -> Result<Option<u32>, CredentialsError> {
    let meta = std::fs::metadata(path).map_err(|source| CredentialsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        Ok(None)
    }
}

/// The warning every command that loads the credentials prints when other users can
/// read the file (`None` when only the owner can, or the file cannot be looked at; the
/// load itself reports that).
pub fn permission_warning(path: &Path) -> Option<String> {
    let mode = open_mode(path).ok()??;
    Some(format!(
        "{} can be read by other users (mode {mode:04o}): run `chmod 600 {}`",
        path.display(),
        path.display()
    ))
}

/// [`permission_warning`], or with `strict` (`--strict`) a refusal
/// ([`CredentialsError::NotPrivate`]) instead of the warning.
pub fn check_permissions(path: &Path, strict: bool) -> Result<Option<String>, CredentialsError> {
    match (open_mode(path), strict) {
        (Ok(Some(mode)), true) => Err(CredentialsError::NotPrivate {
            path: path.to_path_buf(),
            mode,
        }),
        _ => Ok(permission_warning(path)),
    }
}

/// Writes `bytes` to a sibling temp file created 0600, syncs it, and renames it over `path`.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CredentialsError> {
    let io = |source| CredentialsError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io)?;
    #[cfg(unix)]
    {
        // An existing temp file keeps its old mode; force it.
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"sellers": {"acme-na": {"client_id": "amzn1.app.ID-7f3a", "client_secret": "S3CRET-cs-91", "refresh_token": "Atzr|RT-secret-55"}}, "ebs": {"username": "SYSADMIN", "password": "pw-ebs-xyz"}}"#;

    #[test]
    fn passphrase_round_trip_with_low_work_factor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.age");
        let creds = Credentials::from_json(JSON.as_bytes()).unwrap();
        let unlock = Unlock::Passphrase(SecretString::from("correct horse"));
        save(&path, &creds, &unlock, Some(2)).unwrap();
        let back = load(&path, &unlock).unwrap();
        assert_eq!(
            back.seller("acme-na")
                .unwrap()
                .refresh_token
                .expose_secret(),
            "Atzr|RT-secret-55"
        );
        assert_eq!(back.ebs().unwrap().password.expose_secret(), "pw-ebs-xyz");
        assert!(is_private(&path).unwrap());
        let raw = std::fs::read(&path).unwrap();
        assert!(!raw.windows(9).any(|w| w == b"pw-ebs-xy"));

        let wrong = Unlock::Passphrase(SecretString::from("wrong horse"));
        let err = load(&path, &wrong).unwrap_err();
        assert!(
            matches!(err, CredentialsError::WrongPassphrase { .. }),
            "{err}"
        );
        let text = format!("{err} {err:?}");
        assert!(text.contains("wrong passphrase"));
        for secret in ["wrong horse", "correct horse", "pw-ebs-xyz", "S3CRET"] {
            assert!(!text.contains(secret), "{text}");
        }
    }

    #[test]
    fn identity_round_trip_and_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let id = dir.path().join("identity.txt");
        let public = generate_identity(&id).unwrap();
        assert!(public.starts_with("age1"));
        assert!(is_private(&id).unwrap());
        let path = dir.path().join("credentials.age");
        let creds = Credentials::from_json(JSON.as_bytes()).unwrap();
        let unlock = Unlock::Identity(id.clone());
        save(&path, &creds, &unlock, None).unwrap();
        let back = load(&path, &unlock).unwrap();
        assert_eq!(
            back.seller("acme-na")
                .unwrap()
                .client_secret
                .expose_secret(),
            "S3CRET-cs-91"
        );

        let other = dir.path().join("other.txt");
        generate_identity(&other).unwrap();
        let err = load(&path, &Unlock::Identity(other)).unwrap_err();
        assert!(
            matches!(err, CredentialsError::WrongIdentity { .. }),
            "{err}"
        );
        let err = load(&path, &Unlock::Passphrase(SecretString::from("x"))).unwrap_err();
        assert!(
            matches!(err, CredentialsError::NeedsIdentity { .. }),
            "{err}"
        );
    }

    #[test]
    fn debug_and_errors_never_show_secrets() {
        let creds = Credentials::from_json(JSON.as_bytes()).unwrap();
        let debug = format!("{creds:?}");
        assert!(
            !debug.contains("S3CRET") && !debug.contains("pw-ebs"),
            "{debug}"
        );
        let bad = r#"{"sellers": {"a": {"client_id": "x", "client_secret": 12345678, "refresh_token": "y"}}}"#;
        let err = Credentials::from_json(bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(!err.contains("12345678"), "{err}");
        assert!(err.contains("line 1"), "{err}");
        let unknown = r#"{"sellers": {}, "evil": "hunter2"}"#;
        let err = Credentials::from_json(unknown.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown field `evil`") && !err.contains("hunter2"),
            "{err}"
        );
    }
}
