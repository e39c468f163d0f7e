//! Faithful simulators of Amazon SP-API and Oracle EBS ISG REST, embeddable in-process.

pub mod amazon;
pub mod ebs;
pub mod world;
