// Included by the build scripts of `hyperforge` (cli/build.rs) and `auth-hub` (daemon/build.rs).
//
// Links GCC's unwinder, which Rust's panics and backtraces use, into the executable instead of
// loading libgcc_s.so.1 at every start. That library's constructor (`__cpu_indicator_init`)
// asks the CPU for its features with `cpuid`, in every process, whether anything needs them or
// not. In a virtual machine each `cpuid` traps to the hypervisor: on the 2-CPU machine of
// docs/benchmarks.md, loading libgcc_s took 105–130 µs of a process's start (an empty C program
// with and without it), a tenth of a whole `hyperforge auth get`. Linked statically, the
// unwinder is the same code (libgcc_eh.a) and finds every object's unwind tables as the shared
// one does; nothing else in these programs loads libgcc_s.
//
// How: rustc asks the linker for `-lgcc_s`. A directory searched first holds a `libgcc_s.so`
// that is a linker script naming the static archive, as GCC's own `libgcc_s.so` is a linker
// script naming the shared library. Only for Linux with glibc, built on the machine it targets,
// and only when the C compiler that links knows where libgcc_eh.a is; otherwise the usual link.
// `AUTH_HUB_SHARED_LIBGCC=1` at build time keeps the usual link.

/// Links `binary` with the static unwinder when the conditions above hold.
fn static_unwind(binary: &str) {
    println!("cargo:rerun-if-env-changed=AUTH_HUB_SHARED_LIBGCC");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let wanted = var("AUTH_HUB_SHARED_LIBGCC") != "1";
    let linux_gnu = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    let native = var("TARGET") == var("HOST");
    if !(wanted && linux_gnu && native) {
        return;
    }
    let Some(archive) = libgcc_eh() else {
        return;
    };
    let dir = std::path::Path::new(&var("OUT_DIR")).join("static-unwind");
    let script = format!("INPUT ( {} )\n", archive.display());
    if std::fs::create_dir_all(&dir).is_err()
        || std::fs::write(dir.join("libgcc_s.so"), script).is_err()
    {
        return;
    }
    println!("cargo:rustc-link-arg-bin={binary}=-L{}", dir.display());
}

/// Where the linking C compiler keeps libgcc_eh.a, when it has one.
fn libgcc_eh() -> Option<std::path::PathBuf> {
    let linker = std::env::var("RUSTC_LINKER").unwrap_or_else(|_| "cc".to_owned());
    let output = std::process::Command::new(linker)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()?;
    let path = std::path::PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    // Without it the compiler prints the bare name back.
    (path.is_absolute() && path.is_file()).then_some(path)
}
