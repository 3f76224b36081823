//! Where the listening socket comes from: bound by the hub itself (`bind.rs`), or inherited from
//! a service manager (systemd, launchd: a later issue).

pub mod bind;
