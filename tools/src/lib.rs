//! The measurement tools' shared code; the tools themselves are the binaries in `src/bin/`
//! (`auth-hub-abuse`, `auth-hub-load`, `auth-hub-crash-loop`, `workspace-bench`,
//! `minimal-round-trip`), run through `scripts/abuse`, `scripts/crash-loop` and `scripts/bench`.

pub mod abuse;
