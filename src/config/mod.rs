//! Configuration file, encrypted credentials.
