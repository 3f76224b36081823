// Included by the `hyperforge` and `auth-hub` executables (cli/src/main.rs, daemon/src/main.rs).
//
// The one function these programs take from libm.so.6 is `pow`, which tokio's multi-thread
// scheduler calls for its statistics. Neither program runs that scheduler (both use a
// current-thread runtime), but the workspace's tokio has every feature, so the reference is
// linked in, and with it a library to load at every start: 65–80 µs on the machine of
// docs/benchmarks.md (an empty C program with and without libm), where its indirect functions
// are resolved at load. Defining `pow` here, with the `libm` crate (Rust's port of musl's),
// resolves the reference inside the executable, and the linker, which links a shared library
// only when something needs it, leaves libm out. Should the scheduler ever run, it gets a
// correct `pow`.

/// C's `pow`, for the references inside this executable.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
