//! Criterion benchmarks of one acknowledged write, on the file system of the target directory:
//! the design's replacement by rename (temp file, fsync, rename, fsync of the directory) beside
//! the slot write the file store uses (in place into the older of two slots, `fdatasync`), and a
//! whole `FileStore::put` on a store of 16 secrets. Run with `cargo bench -p auth-hub`.
//! Durable writes are the disk's as much as the code's: read the figures with the machine.

use std::time::Duration;

use auth_hub::store::atomic::write_atomic;
use auth_hub::store::slots::SlotPair;
use auth_hub::store::SecretStore;
use auth_hub_protocol::SecretPath;
use criterion::{criterion_group, criterion_main, Criterion};

mod common;
use common::{scratch, store_of_16_secrets};

/// A record the size of a small store.
const RECORD: usize = 2048;

fn durable_writes(c: &mut Criterion) {
    let mut group = c.benchmark_group("durable_write");
    group.measurement_time(Duration::from_secs(5));
    let record = vec![0x5a_u8; RECORD];

    let dir = scratch();
    let target = dir.path().join("replaced");
    group.bench_function("rename_two_fsyncs_2KiB", |b| {
        b.iter(|| write_atomic(&target, &record, 0o600).expect("write_atomic"));
    });

    let mut slots = SlotPair::new(dir.path(), ["a", "b"]);
    group.bench_function("slot_in_place_fdatasync_2KiB", |b| {
        b.iter(|| slots.write(&record).expect("slot write"));
    });

    let store = store_of_16_secrets(dir.path());
    let path = SecretPath::parse("bench/k0").expect("path");
    group.bench_function("file_store_put_16_secrets", |b| {
        b.iter(|| {
            store
                .put(&path, "ghp_0123456789abcdefghijklmnopqrstuvwxyz".into())
                .expect("put")
        });
    });
    group.finish();
}

#[allow(missing_docs)] // criterion_group! generates an undocumented fn
mod group {
    use super::*;
    criterion_group!(benches, durable_writes);
}
use group::benches;
criterion_main!(benches);
