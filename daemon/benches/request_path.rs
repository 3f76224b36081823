//! Criterion benchmarks of the hub's own work in answering a `get`, without the socket: the
//! file store's read of one secret (from its decrypted table in memory) and the audit line every
//! access appends (time, JSON, SHA-256 chain link; the file is written by the periodic flush, not
//! here). Run with `cargo bench -p auth-hub --bench request_path`; the socket's share is in
//! `./scripts/bench`.

use std::path::Path;
use std::time::Duration;

use auth_hub::audit::{AuditLog, AuditRecord};
use auth_hub::store::file::FileStore;
use auth_hub::store::{KeySource, SecretStore, StoreOptions};
use auth_hub_protocol::SecretPath;
use criterion::{criterion_group, criterion_main, Criterion};

/// Scratch space on the disk under test (not a tmpfs /tmp): beside the target directory.
fn scratch() -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-scratch");
    std::fs::create_dir_all(&base).expect("scratch directory");
    tempfile::tempdir_in(base).expect("temporary directory")
}

fn request_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("request_path");
    // Short: every append grows the log file (a few hundred MB in a run).
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_secs(1));
    let dir = scratch();

    let options = StoreOptions {
        key_source: KeySource::File,
        ..StoreOptions::new(dir.path())
    };
    let store = FileStore::open(&options).expect("open the store");
    for index in 0..16 {
        let path = SecretPath::parse(&format!("bench/k{index}")).expect("path");
        store
            .put(&path, "a-token-of-forty-bytes-or-so-0123456789".into())
            .expect("put");
    }
    let path = SecretPath::parse("bench/k7").expect("path");
    group.bench_function("file_store_get_16_secrets", |b| {
        b.iter(|| store.get(&path).expect("get").expect("present"));
    });

    let audit = AuditLog::open(&dir.path().join("audit.log")).expect("open the audit log");
    let record = AuditRecord {
        event: "get_secret",
        uid: Some(1000),
        pid: Some(4242),
        exe: Some("/usr/bin/hyperforge"),
        key: Some("owner"),
        client: Some("hyperforge"),
        path: Some("github/alice/token"),
        backend: Some("file"),
        outcome: "ok",
        ..Default::default()
    };
    group.bench_function("audit_append_get_secret", |b| {
        b.iter(|| audit.append(&record).expect("append"));
    });
    group.finish();
}

#[allow(missing_docs)] // criterion_group! generates an undocumented fn
mod group {
    use super::*;
    criterion_group!(benches, request_path);
}
use group::benches;
criterion_main!(benches);
