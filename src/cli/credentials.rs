//! `ml-connector credentials set|check`: write and inspect the encrypted credentials file.

use super::output::{errln, outln};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::config::credentials;
use crate::config::{Config, Credentials, Paths, Unlock};

#[derive(Debug, Subcommand)]
pub enum CredentialsCommand {
    /// Encrypt credentials into the credentials file (replacing it).
    ///
    /// JSON: {"sellers": {"NAME": {"client_id", "client_secret", "refresh_token"}},
    /// "ebs": {"username", "password"}}. Without --from-json a terminal is asked
    /// field by field; otherwise the JSON is read from stdin. The passphrase comes
    /// from ML_CONNECTOR_PASSPHRASE, a prompt, or the first line on stdin (with
    /// --from-json FILE), unless `identity` is configured.
    Set {
        /// Read the credentials JSON from FILE (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        from_json: Option<PathBuf>,
        /// Write even when the JSON lacks a configured seller or the `[ebs]` login
        /// (otherwise refused with exit code 2, the file unchanged).
        #[arg(long)]
        force: bool,
    },
    /// Decrypt the credentials file and say what is present (never the values); warns
    /// when other users can read it (with --strict: refuses, exit code 2).
    Check,
}

pub fn run(
    cmd: CredentialsCommand,
    config: Option<&Path>,
    data_dir: Option<&Path>,
    strict: bool,
) -> anyhow::Result<i32> {
    let paths = Paths::resolve(config, data_dir)?;
    let config = Config::load(&paths.config_file)?;
    match cmd {
        CredentialsCommand::Set { from_json, force } => set(&config, from_json.as_deref(), force),
        CredentialsCommand::Check => check(&config, strict),
    }
}

/// The passphrase or identity for this configuration: the identity file, else
/// `ML_CONNECTOR_PASSPHRASE`, else a prompt on the terminal, else (when
/// `stdin_free`) the first line piped on stdin.
pub fn unlock_for(config: &Config, confirm: bool, stdin_free: bool) -> anyhow::Result<Unlock> {
    if let Some(unlock) = Unlock::without_prompt(config.identity_path().as_deref()) {
        return Ok(unlock);
    }
    if !std::io::stdin().is_terminal() {
        if stdin_free {
            let mut line = Zeroizing::new(String::new());
            std::io::stdin().read_line(&mut line)?;
            let passphrase = line.trim_end_matches(['\r', '\n']);
            if !passphrase.is_empty() {
                return Ok(Unlock::Passphrase(SecretString::from(passphrase)));
            }
        }
        return Err(credentials::CredentialsError::NoPassphrase.into());
    }
    let first = prompt_hidden("Passphrase for the credentials file: ")?;
    if first.expose_secret().is_empty() {
        bail!("the passphrase must not be empty");
    }
    if confirm {
        let again = prompt_hidden("Same passphrase again: ")?;
        if again.expose_secret() != first.expose_secret() {
            bail!("the two passphrases differ; nothing was written");
        }
    }
    Ok(Unlock::Passphrase(first))
}

fn set(config: &Config, from_json: Option<&Path>, force: bool) -> anyhow::Result<i32> {
    let stdin_free = from_json.is_some_and(|p| p != Path::new("-"));
    let json: Zeroizing<Vec<u8>> = match from_json {
        Some(path) if path == Path::new("-") => read_stdin()?,
        Some(path) => Zeroizing::new(
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None if std::io::stdin().is_terminal() => ask_fields(config)?.to_json(),
        None => read_stdin()?,
    };
    let creds = Credentials::from_json(&json)?;
    let path = config.credentials_path();
    let gaps = missing(config, &creds);
    if !gaps.is_empty() && !force {
        // Replacing a working file with one that lacks what the configuration needs
        // breaks the next run; that takes --force.
        for gap in &gaps {
            eprintln!("error: {gap}");
        }
        eprintln!(
            "nothing was written to {}: add the missing credentials to the JSON, or pass --force to write it anyway",
            path.display()
        );
        return Ok(crate::sync::headless::exit::CONFIGURATION);
    }
    let unlock = unlock_for(config, true, stdin_free)?;
    if let Unlock::Identity(path) = &unlock
        && !path.exists()
    {
        let public = credentials::generate_identity(path)?;
        errln!(
            "created identity {} (public key {public}); keep a copy somewhere safe",
            path.display()
        );
    }
    credentials::save(&path, &creds, &unlock, None)?;
    let how = match &unlock {
        Unlock::Passphrase(_) => "a passphrase".to_string(),
        Unlock::Identity(p) => format!("the identity in {}", p.display()),
    };
    outln!("wrote {} (mode 0600), encrypted to {how}", path.display())?;
    for line in creds.describe() {
        outln!("  {line}")?;
    }
    for warning in gaps {
        outln!("  warning: {warning}")?;
    }
    Ok(0)
}

fn check(config: &Config, strict: bool) -> anyhow::Result<i32> {
    let path = config.credentials_path();
    let warning = match credentials::check_permissions(&path, strict) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(crate::sync::headless::exit::CONFIGURATION);
        }
    };
    let unlock = unlock_for(config, false, true)?;
    let creds = credentials::load(&path, &unlock)?;
    outln!("{}: decrypted", path.display())?;
    if let Some(warning) = warning {
        outln!("  warning: {warning}")?;
    }
    for line in creds.describe() {
        outln!("  {line}")?;
    }
    let problems = missing(config, &creds);
    for problem in &problems {
        outln!("  missing: {problem}")?;
    }
    Ok(if problems.is_empty() { 0 } else { 1 })
}

/// Configured sellers (and EBS) the credentials have nothing for.
fn missing(config: &Config, creds: &Credentials) -> Vec<String> {
    let mut out: Vec<String> = config
        .sellers
        .iter()
        .filter(|s| !creds.sellers.contains_key(s.name.as_str()))
        .map(|s| format!("seller {} is configured but has no credentials", s.name))
        .collect();
    if config.ebs.is_some() && creds.ebs.is_none() {
        out.push("[ebs] is configured but there is no EBS username and password".into());
    }
    out
}

fn read_stdin() -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(64 * 1024));
    std::io::stdin()
        .read_to_end(&mut buf)
        .context("cannot read stdin")?;
    Ok(buf)
}

/// Asks for each configured seller's and EBS's secrets on the terminal.
fn ask_fields(config: &Config) -> anyhow::Result<Credentials> {
    let mut creds = Credentials::default();
    for seller in &config.sellers {
        errln!("seller {}:", seller.name);
        let secrets = credentials::SellerSecrets {
            client_id: prompt_hidden("  LWA client_id: ")?,
            client_secret: prompt_hidden("  LWA client_secret: ")?,
            refresh_token: prompt_hidden("  refresh_token: ")?,
        };
        creds.sellers.insert(seller.name.to_string(), secrets);
    }
    if config.ebs.is_some() {
        super::output::stderr_text(format_args!("EBS username: "));
        let mut username = String::new();
        std::io::stdin().read_line(&mut username)?;
        creds.ebs = Some(credentials::EbsSecrets {
            username: username.trim().to_string(),
            password: prompt_hidden("EBS password: ")?,
        });
    }
    Ok(creds)
}

/// Reads a line from the terminal without echoing it.
fn prompt_hidden(prompt: &str) -> anyhow::Result<SecretString> {
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
    super::output::stderr_text(format_args!("{prompt}"));
    crossterm::terminal::enable_raw_mode()?;
    let mut value = Zeroizing::new(String::new());
    let result = loop {
        match crossterm::event::read() {
            Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => match key.code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err(anyhow::anyhow!("cancelled"));
                }
                KeyCode::Esc => break Err(anyhow::anyhow!("cancelled")),
                KeyCode::Backspace => {
                    value.pop();
                }
                KeyCode::Char(c) => value.push(c),
                _ => {}
            },
            Ok(_) => {}
            Err(err) => break Err(err.into()),
        }
    };
    crossterm::terminal::disable_raw_mode()?;
    errln!();
    result?;
    Ok(SecretString::from(value.as_str()))
}
