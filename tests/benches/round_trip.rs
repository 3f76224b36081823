//! Criterion benchmarks of one round trip: the client library's `get_secret` against a real hub
//! (access token cached, value not cached), beside its floor, a raw Unix-socket ping-pong of
//! 64-byte messages. Run with `cargo bench -p auth-hub-tests` (the hub binary comes from the
//! same profile's target directory, built by `cargo build --release --bins`).

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use auth_hub_client::{AuthClient, SecretPath};
use auth_hub_tests::TestHub;
use criterion::{criterion_group, criterion_main, Criterion};

fn round_trips(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_trip");
    group.measurement_time(Duration::from_secs(5));

    let (mut client, mut server) = UnixStream::pair().expect("socket pair");
    let echo = std::thread::spawn(move || {
        let mut buffer = [0u8; 64];
        while server.read_exact(&mut buffer).is_ok() {
            if server.write_all(&buffer).is_err() {
                break;
            }
        }
    });
    let mut buffer = [7u8; 64];
    group.bench_function("raw_unix_pingpong_64B", |b| {
        b.iter(|| {
            client.write_all(&buffer).expect("write");
            client.read_exact(&mut buffer).expect("read");
        });
    });
    drop(client);
    let _ = echo.join();

    let hub = TestHub::start_with_store("", "memory");
    let owner = hub.login();
    hub.run(&["auth", "put", "bench/token"], Some("value"))
        .assert_code(0);
    hub.run(&["auth", "grant", "bench/*"], None).assert_code(0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut options = hub.client_options(Some(&owner));
    options.secret_ttl = Duration::ZERO;
    let client = auth_hub_client::HubClient::new(options);
    let path = SecretPath::parse("bench/token").expect("path");
    runtime
        .block_on(client.get_secret(&path))
        .expect("warm-up get");
    group.bench_function("client_get_secret_token_cached", |b| {
        b.iter(|| runtime.block_on(client.get_secret(&path)).expect("get"));
    });
    group.finish();
}

#[allow(missing_docs)] // criterion_group! generates an undocumented fn
mod group {
    use super::*;
    criterion_group!(benches, round_trips);
}
use group::benches;
criterion_main!(benches);
