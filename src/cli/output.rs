//! Results on stdout, messages on stderr, without panics.
//!
//! `println!` panics when stdout is a closed pipe (`… | head -1`) or a full disk
//! (`> /dev/full`), and `eprintln!` when stderr is closed. Commands write through
//! [`outln!`] / [`out!`] instead, which return an [`OutputError`] to pass on with `?`
//! (`main` turns it into one line on stderr and exit code 1); [`emit`] writes a whole
//! result and keeps the command's own exit code. [`errln!`] writes to stderr and ignores
//! failures: there is nowhere left to say them.

use std::fmt;
use std::io::{self, Write};

/// Stdout did not take the output (closed pipe, full disk, …).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the {what}: {}", describe(.error))]
pub struct OutputError {
    /// What was being written (`report`, `output`).
    pub what: &'static str,
    /// Not a `#[source]`: the message already says it, once.
    pub error: io::Error,
}

/// An I/O error in plain words: `No space left on device`, without `(os error 28)`.
pub fn describe(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Writes `args` to stdout and flushes, so a failure shows here and not at exit.
pub fn write_fmt(what: &'static str, args: fmt::Arguments<'_>) -> Result<(), OutputError> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.flush())
        .map_err(|error| OutputError { what, error })
}

/// Writes `text` to stdout and flushes.
pub fn write_text(what: &'static str, text: &str) -> Result<(), OutputError> {
    write_fmt(what, format_args!("{text}"))
}

/// Writes a command's whole result; when stdout does not take it, says so on stderr and
/// returns the exit code to use: `code` itself unless it is 0, else 1 (`exit::OUTPUT`).
pub fn emit(what: &'static str, text: &str, code: i32) -> i32 {
    match write_text(what, text) {
        Ok(()) => code,
        Err(e) => {
            stderr_line(format_args!("{e}"));
            failed_code(code)
        }
    }
}

/// The exit code of a command whose output could not be written: its own, or 1 if that was 0.
pub fn failed_code(code: i32) -> i32 {
    if code == 0 {
        crate::sync::headless::exit::OUTPUT
    } else {
        code
    }
}

/// One line on stderr; a closed or full stderr is ignored.
pub fn stderr_line(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
    let _ = err.flush();
}

/// Text on stderr without a newline (prompts); failures are ignored.
pub fn stderr_text(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args);
    let _ = err.flush();
}

/// `println!` that returns `Result<(), OutputError>` instead of panicking.
macro_rules! outln {
    () => {
        $crate::cli::output::write_fmt("output", format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::write_fmt("output", format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` that returns `Result<(), OutputError>` instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::output::write_fmt("output", format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics (a closed stderr is ignored).
macro_rules! errln {
    () => {
        $crate::cli::output::stderr_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::cli::output::stderr_line(format_args!($($arg)*))
    };
}

pub(crate) use {errln, out, outln};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_plainly_and_codes_are_kept() {
        let full = io::Error::from_raw_os_error(28);
        assert_eq!(describe(&full), "No space left on device");
        let e = OutputError {
            what: "report",
            error: full,
        };
        assert_eq!(
            e.to_string(),
            "cannot write the report: No space left on device"
        );
        assert_eq!(failed_code(0), 1);
        assert_eq!(failed_code(3), 3);
        assert_eq!(failed_code(4), 4);
    }
}
