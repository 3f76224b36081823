//! Links the `hyperforge` executable as a fixed-address (non-PIE) program on Linux.
//!
//! A position-independent executable makes the dynamic loader apply ~10 000 relocations at every
//! start, writing (and so copying) every page of `.data.rel.ro`: about a quarter of the page
//! faults and a fifth of the time of a whole `hyperforge auth get` (see docs/benchmarks.md). A
//! fixed-address link resolves them once, here. The cost is that the executable's own code and
//! data are not placed at random (stack, heap, mmap and the shared libraries still are), as with
//! the Go programs we are compared with (`gh`, `op`, `vault`); `auth-hub`, the long-running
//! process that holds every secret, stays position-independent. docs/security.md has the
//! trade-off; `HYPERFORGE_PIE=1` at build time keeps the default link.
//!
//! It also lays out the code so that what `auth get` runs sits together (`layout/link_order.rs`),
//! and links the unwinder in rather than loading libgcc_s at every start
//! (`layout/static_unwind.rs`).

include!("../layout/link_order.rs");
include!("../layout/static_unwind.rs");

fn main() {
    println!("cargo:rerun-if-env-changed=HYPERFORGE_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let keep_pie = std::env::var_os("HYPERFORGE_PIE").is_some_and(|v| v == "1");
    if linux && !keep_pie {
        // rustc passes -pie earlier on the command line; the last of -pie / -no-pie wins.
        println!("cargo:rustc-link-arg-bin=hyperforge=-no-pie");
    }
    link_order("hyperforge");
    static_unwind("hyperforge");
}
