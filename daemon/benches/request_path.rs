//! Criterion benchmarks of the hub's own work in answering a `get`, without the socket: the
//! file store's read of one secret (from its decrypted table in memory) and the audit line every
//! access appends (time, JSON, SHA-256 chain link; the file is written by the periodic flush, not
//! here). Run with `cargo bench -p auth-hub --bench request_path`; the socket's share is in
//! `./scripts/bench`.

use std::time::Duration;

use auth_hub::audit::{AuditLog, AuditRecord};
use auth_hub::store::SecretStore;
use auth_hub_protocol::SecretPath;
use criterion::{criterion_group, criterion_main, Criterion};

mod common;
use common::{scratch, store_of_16_secrets};

fn request_path(c: &mut Criterion) {
    let mut group = c.benchmark_group("request_path");
    // Short: every append grows the log file (a few hundred MB in a run).
    group.measurement_time(Duration::from_secs(2));
    group.warm_up_time(Duration::from_secs(1));
    let dir = scratch();

    let store = store_of_16_secrets(dir.path());
    let path = SecretPath::parse("bench/k7").expect("path");
    group.bench_function("file_store_get_16_secrets", |b| {
        b.iter(|| store.get(&path).expect("get").expect("present"));
    });

    let audit = AuditLog::open(&dir.path().join("audit.log"), None).expect("open the audit log");
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
