//! Alerts (`[alerts] on_failure`, issue 10): someone hears about trouble without watching.
//!
//! After a headless run, [`alerts_for`] lists what deserves a person's attention: the run
//! failed; work has waited longer than `waiting_after`; a settlement report Amazon listed
//! is near its 90-day deletion (or past it) without having been pulled. [`notify`] runs the
//! configured command directly (no shell: a string is split into words with shell quoting
//! rules, an array is taken as is) with the run report JSON on stdin, plus an `alerts` array saying why.
//! Waiting and retention alerts are sent again only when what they list changed (the last
//! list is kept in the store cursor `alerts:notified`); a failed run always alerts.

use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::config::AlertCommand;
use crate::store::{ChainIssue, Store, StoreError};

use super::headless::{RunReport, exit};

/// Longest an alert command may run before it is killed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

const CURSOR: &str = "alerts:notified";

/// Why an alert is raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Alert {
    /// The run failed (exit code 4); `errors` says what.
    RunFailed {
        errors: Vec<super::messages::RunError>,
    },
    /// A batch has waited for a person longer than `waiting_after`.
    Waiting {
        settlement_id: String,
        period: String,
        state: String,
        since: DateTime<Utc>,
        reason: Option<String>,
    },
    /// An unpulled settlement report near (or past) Amazon's 90-day retention.
    Retention { message: String, days_left: i64 },
}

/// Why an alert could not be delivered.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("[alerts] on_failure is empty")]
    EmptyCommand,
    #[error("[alerts] on_failure: unbalanced quote in `{0}`")]
    Quote(String),
    #[error("alert command `{program}` could not run: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("alert command `{program}` exited with {status}")]
    Status { program: String, status: String },
    #[error("alert command `{program}` did not finish within {secs} s and was killed")]
    Timeout { program: String, secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The words of a command: an array as it is, a string split with shell quoting rules
/// (`shell-words`: whitespace separates, quotes group, backslash escapes; no shell runs,
/// so `;`, `|`, `$` are plain text).
pub fn command_words(command: &AlertCommand) -> Result<Vec<String>, AlertError> {
    let words = match command {
        AlertCommand::Words(words) => words.clone(),
        AlertCommand::Line(line) => split_command(line)?,
    };
    if words.is_empty() {
        return Err(AlertError::EmptyCommand);
    }
    Ok(words)
}

/// Splits a command line into arguments without a shell (see [`command_words`]).
pub fn split_command(line: &str) -> Result<Vec<String>, AlertError> {
    let args = shell_words::split(line).map_err(|_| AlertError::Quote(line.to_string()))?;
    if args.is_empty() {
        return Err(AlertError::EmptyCommand);
    }
    Ok(args)
}

/// States that need nothing more (mirrors the run report's "done").
fn is_done(state: crate::ledger::state::BatchState) -> bool {
    use crate::ledger::state::BatchState::*;
    matches!(state, Imported | Posted | Archived | Reversed)
}

/// What deserves an alert after a run, as of `now`.
pub fn alerts_for(
    report: &RunReport,
    store: &Store,
    waiting_after: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>, StoreError> {
    let mut out = Vec::new();
    if report.exit_code == exit::FAILURE {
        out.push(Alert::RunFailed {
            errors: report.errors.clone(),
        });
    }
    let limit = chrono::Duration::from_std(waiting_after).unwrap_or(chrono::Duration::MAX);
    for b in store.batches()? {
        if !is_done(b.state) && now - b.updated_at > limit {
            out.push(Alert::Waiting {
                settlement_id: b.settlement_id.clone(),
                period: b.period.clone(),
                state: b.state.to_string(),
                since: b.updated_at,
                reason: b.reason.clone(),
            });
        }
    }
    for issue in store.chain_issues(now)? {
        if let ChainIssue::Retention { days_left, .. } = &issue {
            out.push(Alert::Retention {
                message: issue.to_string(),
                days_left: *days_left,
            });
        }
    }
    Ok(out)
}

/// What [`notify`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notified {
    /// Nothing to say.
    Nothing,
    /// Only alerts already sent (unchanged waiting / retention list).
    AlreadySent,
    /// No `[alerts] on_failure` configured: the alerts are only logged.
    NoCommand(usize),
    /// The command ran and exited 0.
    Sent(usize),
}

/// The key of an alert for "already sent" (waiting and retention alerts only).
fn repeat_key(a: &Alert) -> Option<String> {
    match a {
        Alert::RunFailed { .. } => None,
        Alert::Waiting {
            settlement_id,
            period,
            state,
            since,
            ..
        } => Some(format!("waiting {settlement_id}/{period} {state} {since}")),
        Alert::Retention { message, .. } => Some(format!("retention {message}")),
    }
}

/// Sends `alerts` through `command` (with the report on stdin) unless everything in them
/// was already sent; remembers what was sent.
pub async fn notify(
    command: Option<&AlertCommand>,
    report: &RunReport,
    alerts: &[Alert],
    store: &Store,
) -> Result<Notified, AlertError> {
    if alerts.is_empty() {
        return Ok(Notified::Nothing);
    }
    let mut keys: Vec<String> = alerts.iter().filter_map(repeat_key).collect();
    keys.sort();
    let fresh = alerts.iter().any(|a| repeat_key(a).is_none());
    let previous: Vec<String> = store
        .cursor(CURSOR)?
        .and_then(|c| serde_json::from_value(c.value).ok())
        .unwrap_or_default();
    if !fresh && previous == keys {
        return Ok(Notified::AlreadySent);
    }
    for a in alerts {
        tracing::warn!(alert = %serde_json::to_string(a).unwrap_or_default(), "alert");
    }
    let Some(command) = command else {
        return Ok(Notified::NoCommand(alerts.len()));
    };
    let mut payload = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut payload {
        m.insert("alerts".into(), json!(alerts));
    }
    run_command(command, &payload).await?;
    store.set_cursor(CURSOR, json!(keys), Utc::now())?;
    Ok(Notified::Sent(alerts.len()))
}

/// Variables the alert command inherits; everything else is withheld. What the alert
/// is about comes on stdin; the environment only needs to let an ordinary script run
/// (find programs, its home, locale, time zone, a temp directory). Never
/// `ML_CONNECTOR_PASSPHRASE` or any other `ML_CONNECTOR_*` variable, nor proxies or
/// tokens that happen to be set: a notification script has no business with them.
const ALERT_ENV: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR",
];

/// Windows cannot start most programs without these.
const ALERT_ENV_WINDOWS: &[&str] = &[
    "SYSTEMROOT",
    "WINDIR",
    "TEMP",
    "TMP",
    "USERPROFILE",
    "PATHEXT",
    "COMSPEC",
];

/// Whether the alert command may see variable `name` ([`ALERT_ENV`] and `LC_*`).
fn passed_to_alert(name: &str) -> bool {
    // Case-insensitive: Windows spells it `Path`.
    let listed = |list: &[&str]| list.iter().any(|v| v.eq_ignore_ascii_case(name));
    !name.to_ascii_uppercase().starts_with("ML_CONNECTOR")
        && (name.starts_with("LC_")
            || listed(ALERT_ENV)
            || (cfg!(windows) && listed(ALERT_ENV_WINDOWS)))
}

/// Runs `command` (its words, no shell) with `payload` as JSON on stdin and a clean
/// environment (only [`ALERT_ENV`] and `LC_*` from ours).
pub async fn run_command(command: &AlertCommand, payload: &Value) -> Result<(), AlertError> {
    let argv = command_words(command)?;
    let program = argv[0].clone();
    let mut child = tokio::process::Command::new(&program)
        .args(&argv[1..])
        .env_clear()
        .envs(std::env::vars_os().filter(|(name, _)| name.to_str().is_some_and(passed_to_alert)))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|source| AlertError::Spawn {
            program: program.clone(),
            source,
        })?;
    let mut body = serde_json::to_vec(payload).unwrap_or_default();
    body.push(b'\n');
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin is not an error.
        let _ = stdin.write_all(&body).await;
        drop(stdin);
    }
    let status = match tokio::time::timeout(COMMAND_TIMEOUT, child.wait()).await {
        Ok(s) => s.map_err(|source| AlertError::Spawn {
            program: program.clone(),
            source,
        })?,
        Err(_) => {
            let _ = child.kill().await;
            return Err(AlertError::Timeout {
                program,
                secs: COMMAND_TIMEOUT.as_secs(),
            });
        }
    };
    if !status.success() {
        return Err(AlertError::Status {
            program,
            status: status.to_string(),
        });
    }
    Ok(())
}

/// After a headless run: raise what deserves an alert. Delivery problems are logged and
/// returned as text (they never change the run's outcome).
pub async fn after_run(
    config: &crate::config::AlertsConfig,
    report: &RunReport,
    store: &Store,
) -> Option<String> {
    let alerts = match alerts_for(
        report,
        store,
        config.waiting_after.as_duration(),
        Utc::now(),
    ) {
        Ok(a) => a,
        Err(e) => return Some(format!("alerts: {e}")),
    };
    match notify(config.on_failure.as_ref(), report, &alerts, store).await {
        Ok(n) => {
            tracing::debug!(?n, "alerts");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "alert not delivered");
            Some(format!("alerts: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_without_a_shell() {
        assert_eq!(
            split_command("/usr/bin/notify  --to 'finance team' \"a b\" x\\ y").unwrap(),
            ["/usr/bin/notify", "--to", "finance team", "a b", "x y"]
        );
        assert_eq!(split_command("a ''").unwrap(), ["a", ""]);
        assert!(matches!(split_command("  "), Err(AlertError::EmptyCommand)));
        assert!(matches!(split_command("a 'b"), Err(AlertError::Quote(_))));
        // Shell syntax is just text.
        assert_eq!(split_command("a;b|c").unwrap(), ["a;b|c"]);
    }

    #[test]
    fn words_are_taken_as_they_are() {
        let words = vec!["/usr/bin/notify".to_string(), "a 'b".to_string()];
        assert_eq!(command_words(&words.clone().into()).unwrap(), words);
        assert_eq!(command_words(&"x 'y z'".into()).unwrap(), ["x", "y z"]);
        assert!(matches!(
            command_words(&Vec::new().into()),
            Err(AlertError::EmptyCommand)
        ));
    }

    #[test]
    fn the_config_takes_a_string_or_an_array() {
        let parse = |text: &str| toml::from_str::<crate::config::AlertsConfig>(text);
        assert_eq!(
            parse("on_failure = \"a 'b c'\"").unwrap().on_failure,
            Some(AlertCommand::Line("a 'b c'".into()))
        );
        assert_eq!(
            parse("on_failure = [\"a\", \"b c\"]").unwrap().on_failure,
            Some(AlertCommand::Words(vec!["a".into(), "b c".into()]))
        );
        let e = parse("on_failure = 5").unwrap_err();
        assert!(
            e.message().contains("a command line (string) or its words"),
            "{e}"
        );
    }
}
