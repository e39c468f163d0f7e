//! The doctor's findings: one line per check, then a summary.

use std::fmt;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works today, but something needs attention.
    Warn,
    /// Posting or pulling will fail until this is fixed.
    Fail,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One finding: what was checked (`seller acme-na`, `ledger 2 account …`) and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    pub subject: String,
    pub message: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<4}  {}: {}",
            self.status.label(),
            self.subject,
            self.message
        )
    }
}

/// Every finding of one run, in the order they were made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn push(&mut self, status: Status, subject: impl Into<String>, message: impl Into<String>) {
        self.checks.push(Check {
            status,
            subject: subject.into(),
            message: message.into(),
        });
    }

    pub fn ok(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.push(Status::Ok, subject, message);
    }

    pub fn warn(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.push(Status::Warn, subject, message);
    }

    pub fn fail(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.push(Status::Fail, subject, message);
    }

    pub fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail)
    }

    /// 0 when nothing failed (warnings included), else 1.
    pub fn exit_code(&self) -> i32 {
        if self.count(Status::Fail) > 0 { 1 } else { 0 }
    }

    /// The closing line.
    pub fn summary(&self) -> String {
        let fails = self.count(Status::Fail);
        let warns = self.count(Status::Warn);
        let oks = self.count(Status::Ok);
        let verdict = if fails > 0 {
            "does not fit yet: fix the FAIL lines above and run doctor again"
        } else if warns > 0 {
            "fits, with warnings"
        } else {
            "fits"
        };
        format!("doctor: {oks} ok, {warns} warning(s), {fails} failure(s) — {verdict}")
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            writeln!(f, "{c}")?;
        }
        writeln!(f, "{}", self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_exit_code() {
        let mut r = Report::default();
        r.ok("ebs login", "as OPERATIONS");
        assert_eq!(r.exit_code(), 0);
        r.warn("seller a", "also participates in X");
        assert_eq!(r.exit_code(), 0);
        assert!(r.summary().contains("fits, with warnings"));
        r.fail("ledger 2 account 01", "is disabled [EF03]");
        assert_eq!(r.exit_code(), 1);
        let text = r.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ok    ebs login: as OPERATIONS");
        assert_eq!(lines[2], "FAIL  ledger 2 account 01: is disabled [EF03]");
        assert!(lines[3].starts_with("doctor: 1 ok, 1 warning(s), 1 failure(s)"));
    }
}
