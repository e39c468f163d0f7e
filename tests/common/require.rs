//! Tests that need something outside the crate (`../shared` reference files, `tmux`):
//! skipped with a note on a developer machine that lacks it, a failure under CI
//! (`CI` set, as `.ci/run` does), so a missing dependency never passes silently there.
//! Standalone (no other test helpers): binaries include it with `#[path]`.

/// Whether this run is CI: `CI` set to anything but empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// Call when `what` is missing, then return from the test: under CI this panics instead.
pub fn missing(what: &str) {
    if in_ci() {
        panic!("{what} is missing and CI is set: this test must run in CI, provide it");
    }
    eprintln!("skipping: {what} is missing (with CI set this fails)");
}
