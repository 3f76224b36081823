//! SKELETON: the SecretStore trait and its backends.

pub mod atomic;
