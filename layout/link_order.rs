// Included by the build scripts of `hyperforge` (cli/build.rs) and `auth-hub` (daemon/build.rs).
//
// Asks the linker to place the functions listed in `layout/<binary>.order` first and together.
// Those are the functions the common paths run (`hyperforge auth get`, a hub's start and its
// requests), found by `scripts/layout`. Left where the compiler put them, they are spread over
// the whole of an 8 MB `.text`, and the kernel maps 64 KiB around every page a process touches:
// together, `hyperforge auth get` takes ~50 fewer page faults and an idle hub's resident memory
// drops from ~11 to ~6.5 MiB (docs/benchmarks.md).
//
// Only for release builds on x86_64 Linux with rustc 1.90 or later, whose default linker is
// rust-lld (`--symbol-ordering-file` is an lld option, GNU ld refuses it). A list gone stale
// costs nothing but the benefit: lld skips names it does not find. Lists go stale with a new
// toolchain or dependency versions, and also with code changes: the local functions that thin
// LTO makes visible across modules are renamed `<name>.llvm.<hash of the module>`, so a change
// in a crate renames some of its functions. `scripts/layout` regenerates the lists. `AUTH_HUB_LAYOUT=0` at build time turns it off, for a build
// that chose another linker.

/// Passes `layout/<binary>.order` to the linker of `binary` when the conditions above hold.
fn link_order(binary: &str) {
    println!("cargo:rerun-if-env-changed=AUTH_HUB_LAYOUT");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let order = std::path::Path::new(&manifest_dir)
        .join("..")
        .join("layout")
        .join(format!("{binary}.order"));
    println!("cargo:rerun-if-changed={}", order.display());
    let wanted = std::env::var_os("AUTH_HUB_LAYOUT").is_none_or(|v| v != "0");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let lld_target = std::env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu");
    if wanted && release && lld_target && rustc_links_with_lld() && order.is_file() {
        println!(
            "cargo:rustc-link-arg-bin={binary}=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin={binary}=-Wl,--no-warn-symbol-ordering");
    }
}

/// True when the compiler is rustc 1.90 or later: the first to link x86_64 Linux with rust-lld.
fn rustc_links_with_lld() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = std::process::Command::new(rustc).arg("-V").output() else {
        return false;
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let version = String::from_utf8_lossy(&output.stdout);
    let mut numbers = version
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .split('.')
        .map(|n| n.parse::<u32>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (1, 90)
}
