//! Background tokio tasks: pulling, proposing, posting; they report through messages.

pub mod convert;
pub mod posting;
pub mod reconcile;
