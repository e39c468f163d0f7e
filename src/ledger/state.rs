//! The one state vocabulary of a journal batch (settlement × period).
//!
//! Used by the store, the TUI, the audit trail and the run report alike, so an
//! accountant reads the same word everywhere. Transitions:
//!
//! ```text
//! proposed ──approve──▶ approved ──stage──▶ staged ──submit──▶ submitted ──import ok──▶ imported ──seen posted──▶ posted
//!    ▲  │                  │                   │                   │                      │  │
//!    │  └─(unmapped)─▶ needs_mapping            │                   └──import failed──▶ rejected ──fix+approve──▶ approved (next revision)
//!    │  └─(rows≠total)▶ inconsistent            │                                          │
//!    │  └─(no FX rate)▶ needs_rate               │                                          │
//!    └──new mapping / unapprove─────────────────┘ (only before staging)                   └─ deleted in EBS ─▶ vanished
//! imported|posted ──reversing journal imported──▶ reversed ──approve──▶ approved (next revision)
//! vanished ──archive──▶ archived ;  before cutover ──▶ archived
//! ```
//!
//! A settlement's status is the worst of its batches ([`BatchState::severity`]).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    Proposed,
    NeedsMapping,
    Inconsistent,
    Approved,
    Staged,
    Submitted,
    Imported,
    Posted,
    Rejected,
    Reversed,
    Archived,
    Vanished,
    /// Foreign currency without the rate it needs yet (a daily rate in EBS, or Amazon's
    /// converted total): waits for that data, proposed again by every run.
    NeedsRate,
}

impl BatchState {
    pub const ALL: [BatchState; 13] = [
        BatchState::Proposed,
        BatchState::NeedsMapping,
        BatchState::Inconsistent,
        BatchState::NeedsRate,
        BatchState::Approved,
        BatchState::Staged,
        BatchState::Submitted,
        BatchState::Imported,
        BatchState::Posted,
        BatchState::Rejected,
        BatchState::Reversed,
        BatchState::Archived,
        BatchState::Vanished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BatchState::Proposed => "proposed",
            BatchState::NeedsMapping => "needs_mapping",
            BatchState::Inconsistent => "inconsistent",
            BatchState::NeedsRate => "needs_rate",
            BatchState::Approved => "approved",
            BatchState::Staged => "staged",
            BatchState::Submitted => "submitted",
            BatchState::Imported => "imported",
            BatchState::Posted => "posted",
            BatchState::Rejected => "rejected",
            BatchState::Reversed => "reversed",
            BatchState::Archived => "archived",
            BatchState::Vanished => "vanished",
        }
    }

    /// Higher is worse; a settlement shows its worst batch. Problems that need a
    /// person outrank work in flight, which outranks work done.
    pub fn severity(self) -> u8 {
        match self {
            BatchState::Vanished => 13,
            BatchState::Rejected => 12,
            BatchState::Inconsistent => 11,
            BatchState::NeedsMapping => 10,
            BatchState::NeedsRate => 9,
            BatchState::Proposed => 8,
            BatchState::Approved => 7,
            BatchState::Staged => 6,
            BatchState::Submitted => 5,
            BatchState::Imported => 4,
            BatchState::Posted => 3,
            BatchState::Reversed => 2,
            BatchState::Archived => 1,
        }
    }

    /// The EBS side may hold rows for this batch (so a retry must ask EBS first).
    pub fn in_flight(self) -> bool {
        matches!(self, BatchState::Staged | BatchState::Submitted)
    }

    /// Nothing more will happen without a person.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            BatchState::Posted | BatchState::Reversed | BatchState::Archived
        )
    }

    /// Whether `self -> next` is a transition of the state machine above.
    pub fn can_move_to(self, next: BatchState) -> bool {
        use BatchState::*;
        matches!(
            (self, next),
            (
                Proposed | NeedsMapping | Inconsistent | NeedsRate | Approved | Rejected | Vanished,
                Proposed | NeedsMapping | Inconsistent | NeedsRate,
            ) | (Proposed | Rejected | Vanished | Reversed, Approved)
                | (Approved, Staged)
                | (Staged, Submitted | Rejected)
                | (Submitted, Imported | Rejected)
                | (Imported, Posted | Vanished | Reversed)
                | (Posted, Vanished | Reversed)
                | (
                    Proposed | NeedsMapping | Inconsistent | NeedsRate | Vanished,
                    Archived
                )
        )
    }

    /// The worst state of a settlement's batches (its status).
    pub fn worst(states: impl IntoIterator<Item = BatchState>) -> Option<BatchState> {
        states.into_iter().max_by_key(|s| s.severity())
    }
}

impl fmt::Display for BatchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BatchState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BatchState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown batch state `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in BatchState::ALL {
            assert_eq!(state.as_str().parse::<BatchState>().unwrap(), state);
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
    }

    #[test]
    fn worst_batch_wins() {
        use BatchState::*;
        assert_eq!(
            BatchState::worst([Posted, Rejected, Imported]),
            Some(Rejected)
        );
        assert_eq!(BatchState::worst([Posted, Imported]), Some(Imported));
        assert_eq!(BatchState::worst([]), None);
    }

    #[test]
    fn no_skipping_ebs_steps() {
        use BatchState::*;
        assert!(!Proposed.can_move_to(Staged));
        assert!(!Approved.can_move_to(Imported));
        assert!(Approved.can_move_to(Staged));
        assert!(!Posted.can_move_to(Proposed));
        // A missing rate waits; once it is there the batch is proposed (then approved).
        assert!(Proposed.can_move_to(NeedsRate));
        assert!(NeedsRate.can_move_to(Proposed));
        assert!(!NeedsRate.can_move_to(Approved));
        assert!(!NeedsRate.can_move_to(Staged));
    }
}
