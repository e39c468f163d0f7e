//! Issue 14: secrets stay where they belong, and a damaged credentials file says so.
//!
//! - the alert command runs with a clean environment (no `ML_CONNECTOR_PASSPHRASE`);
//! - one flipped bit in a real encrypted credentials file is reported as damage (header
//!   or payload), never as "encrypted to an identity file" or "not an age file".

use std::path::Path;

use ml_connector::config::credentials::{self, Credentials, Unlock};
use secrecy::SecretString;

// ---------------------------------------------------------------- alert environment

/// Set only in the re-invoked test binary: where the alert command writes what it saw.
const CHILD_DIR: &str = "ML_SECRETS_TEST_ALERT_DIR";
const PASSPHRASE: &str = "passphrase-never-in-alerts-7313";

/// Runs in a child process (see below) whose environment holds the passphrase, the way
/// a headless run's does: the alert command dumps its environment and stdin to files.
#[cfg(unix)]
#[test]
#[ignore = "run by alert_command_environment_lacks_the_passphrase"]
fn alert_env_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let dir = Path::new(&dir);
    let script = dir.join("dump.sh");
    std::fs::write(&script, "env > \"$1/env.txt\"\ncat > \"$1/stdin.json\"\n").unwrap();
    // `sh SCRIPT`, not the script itself: nothing to exec that was just written.
    let command = format!("/bin/sh {} {}", script.display(), dir.display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(ml_connector::sync::alerts::run_command(
            &command.into(),
            &serde_json::json!({"exit_code": 4}),
        ))
        .unwrap();
}

#[cfg(unix)]
#[test]
fn alert_command_environment_lacks_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "alert_env_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .env("ML_CONNECTOR_PASSPHRASE", PASSPHRASE)
        .env("ML_CONNECTOR_LOG", "debug")
        .env("ML_CONNECTOR_EXTRA_SECRET", "extra-secret-4411")
        .env("AWS_SECRET_ACCESS_KEY", "aws-secret-9090")
        .env("TZ", "UTC")
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let env = std::fs::read_to_string(dir.path().join("env.txt")).expect("the alert ran");
    assert!(!env.contains(PASSPHRASE), "{env}");
    assert!(!env.contains("extra-secret-4411"), "{env}");
    assert!(!env.contains("aws-secret-9090"), "{env}");
    let names: Vec<&str> = env
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("ML_CONNECTOR")),
        "{names:?}"
    );
    // What a notification script legitimately needs is still there.
    for kept in ["PATH=", "TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"] {
        assert!(env.lines().any(|l| l.starts_with(kept)), "{kept} in {env}");
    }
    let stdin = std::fs::read_to_string(dir.path().join("stdin.json")).unwrap();
    assert!(stdin.contains("\"exit_code\":4"), "{stdin}");
}

// ---------------------------------------------------------------- damaged files

const JSON: &str = r#"{"sellers": {"acme-na": {"client_id": "amzn1.app.ID-7f3a", "client_secret": "S3CRET-cs-91", "refresh_token": "Atzr|RT-secret-55"}}, "ebs": {"username": "SYSADMIN", "password": "pw-ebs-xyz"}}"#;
const PASS: &str = "correct horse";

fn creds() -> Credentials {
    Credentials::from_json(JSON.as_bytes()).unwrap()
}

fn passphrase() -> Unlock {
    Unlock::Passphrase(SecretString::from(PASS))
}

/// Where the binary payload starts: after the `--- MAC` line.
fn header_len(bytes: &[u8]) -> usize {
    let mac = bytes
        .windows(5)
        .position(|w| w == b"\n--- ")
        .expect("a header MAC line");
    mac + bytes[mac + 1..].iter().position(|&b| b == b'\n').unwrap() + 2
}

fn flipped(bytes: &[u8], pos: usize, bit: u8) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[pos] ^= 1 << bit;
    out
}

fn error_text(bytes: &[u8], unlock: &Unlock) -> String {
    let path = Path::new("/etc/ml/credentials.age");
    match credentials::decrypt(bytes, unlock, path) {
        Ok(_) => "decrypted".into(),
        Err(e) => e.to_string(),
    }
}

/// Every message about a damaged file names it and says what to do.
fn assert_damage_advice(text: &str) {
    assert!(text.contains("/etc/ml/credentials.age"), "{text}");
    assert!(
        text.contains("restore it from a backup") && text.contains("credentials set"),
        "{text}"
    );
}

#[test]
fn a_flipped_bit_in_the_recipient_type_is_damage_not_an_identity_file() {
    let bytes = credentials::encrypt(&creds(), &passphrase(), Some(2)).unwrap();
    let tag = bytes.windows(9).position(|w| w == b"-> scrypt").unwrap() + 3;
    for pos in tag..tag + 6 {
        for bit in 0..8 {
            let text = error_text(&flipped(&bytes, pos, bit), &passphrase());
            assert!(!text.contains("identity"), "byte {pos} bit {bit}: {text}");
            assert!(
                text.contains("header is damaged"),
                "byte {pos} bit {bit}: {text}"
            );
            assert_damage_advice(&text);
        }
    }
}

#[test]
fn a_flipped_bit_anywhere_in_a_passphrase_header_never_blames_an_identity() {
    let bytes = credentials::encrypt(&creds(), &passphrase(), Some(2)).unwrap();
    let end = header_len(&bytes);
    let mut wrong_passphrase = 0;
    // Every structural byte (magic, separators, newlines, the work factor) and every
    // third base64 character: each flip that still parses costs an scrypt calibration.
    for pos in (0..end).filter(|&p| p % 3 == 0 || !bytes[p].is_ascii_alphabetic()) {
        // Bit 0 turns most characters into other valid ones; bit 7 makes them non-ASCII.
        for bit in [0, 7] {
            let text = error_text(&flipped(&bytes, pos, bit), &passphrase());
            assert!(
                !text.contains("encrypted to an identity") && !text.contains("not an age"),
                "byte {pos} bit {bit}: {text}"
            );
            assert_ne!(text, "decrypted", "byte {pos} bit {bit}");
            if text.contains("wrong passphrase") {
                // Salt or wrapped key: cryptographically the same as a wrong passphrase;
                // the message must still mention the other possibility.
                wrong_passphrase += 1;
                assert!(text.contains("damaged"), "byte {pos} bit {bit}: {text}");
            } else {
                assert!(text.contains("damaged"), "byte {pos} bit {bit}: {text}");
                assert_damage_advice(&text);
            }
        }
    }
    // Most header bytes are structure, magic and MAC, which are recognised as damage.
    assert!(wrong_passphrase < end, "{wrong_passphrase} of {end}");
}

#[test]
fn the_header_mac_and_the_magic_line_are_damage_with_the_right_passphrase() {
    let bytes = credentials::encrypt(&creds(), &passphrase(), Some(2)).unwrap();
    let mac = bytes.windows(4).position(|w| w == b"--- ").unwrap() + 4;
    // 'A'..'Z' flipped in bit 0 stay base64, so only the MAC check can tell.
    let pos = (mac..mac + 42)
        .find(|&p| bytes[p].is_ascii_uppercase() && (bytes[p] ^ 1).is_ascii_uppercase())
        .unwrap();
    let text = error_text(&flipped(&bytes, pos, 0), &passphrase());
    assert!(
        text.contains("header is damaged") && !text.contains("wrong passphrase"),
        "{text}"
    );
    assert_damage_advice(&text);

    for pos in [0, 4, 18, 20] {
        let text = error_text(&flipped(&bytes, pos, 1), &passphrase());
        assert!(text.contains("header is damaged"), "byte {pos}: {text}");
        assert_damage_advice(&text);
    }
}

#[test]
fn a_flipped_bit_in_the_payload_is_payload_damage() {
    let bytes = credentials::encrypt(&creds(), &passphrase(), Some(2)).unwrap();
    let start = header_len(&bytes);
    // The nonce, the first bytes of the ciphertext, the tag at the end.
    for pos in [start, start + 15, start + 16, start + 40, bytes.len() - 1] {
        let text = error_text(&flipped(&bytes, pos, 3), &passphrase());
        assert!(
            text.contains("encrypted contents are damaged") && !text.contains("wrong passphrase"),
            "byte {pos}: {text}"
        );
        assert_damage_advice(&text);
    }
    let text = error_text(&bytes[..bytes.len() - 10], &passphrase());
    assert!(text.contains("encrypted contents are damaged"), "{text}");
}

#[test]
fn identity_files_name_each_failure() {
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().join("identity.txt");
    credentials::generate_identity(&id).unwrap();
    let unlock = Unlock::Identity(id);
    let bytes = credentials::encrypt(&creds(), &unlock, None).unwrap();

    // A genuine identity file with a passphrase: configure the identity.
    let text = error_text(&bytes, &passphrase());
    assert!(text.contains("encrypted to an identity file"), "{text}");

    let tag = bytes.windows(9).position(|w| w == b"-> X25519").unwrap() + 3;
    for pos in tag..tag + 6 {
        for bit in [0, 2, 5] {
            let damaged = flipped(&bytes, pos, bit);
            for (how, u) in [("identity", &unlock), ("passphrase", &passphrase())] {
                let text = error_text(&damaged, u);
                assert!(
                    text.contains("header is damaged"),
                    "{how}, byte {pos} bit {bit}: {text}"
                );
                assert_damage_advice(&text);
            }
        }
    }
    let end = header_len(&bytes);
    let text = error_text(&flipped(&bytes, end + 20, 4), &unlock);
    assert!(text.contains("encrypted contents are damaged"), "{text}");
    let text = error_text(&flipped(&bytes, end - 10, 7), &unlock);
    assert!(text.contains("header is damaged"), "{text}");
}

#[test]
fn a_file_that_is_not_age_at_all_says_so() {
    for junk in [
        &b"{\"sellers\": {}}\n"[..],
        b"",
        b"hello world, this is plainly not encrypted\n",
        &[0u8, 159, 146, 150, 1, 2, 3][..],
    ] {
        let text = error_text(junk, &passphrase());
        assert!(text.contains("is not an age-encrypted file"), "{text}");
        assert_damage_advice(&text);
    }
}
