//! Criterion benchmark of one read from OpenBao through the hub's backend, in process:
//! `OpenBaoStore::get` (a policy-limited token, no value cache, so every read is one HTTP round
//! trip to `bao server -dev` on loopback), beside the same `GET /v1/secret/data/…` sent by a
//! bare `ureq` agent — the floor the backend adds its work to. Run with
//! `cargo bench -p auth-hub-tests --bench openbao_get` after `./scripts/deps` (which installs
//! the `bao` binary). The whole-process comparison with `bao kv get` is `scripts/bench-openbao`.

use std::sync::Arc;
use std::time::Duration;

use auth_hub::store::memory::MemoryStore;
use auth_hub::store::openbao::OpenBaoStore;
use auth_hub::store::settings::{OpenBaoAuth, OpenBaoSettings};
use auth_hub::store::SecretStore;
use auth_hub_protocol::{SecretPath, SecretValue};
use auth_hub_tests::openbao::OpenBao;
use criterion::{criterion_group, criterion_main, Criterion};

fn openbao_get(c: &mut Criterion) {
    let mut group = c.benchmark_group("openbao_get");
    group.measurement_time(Duration::from_secs(5));

    let bao = OpenBao::start();
    bao.ensure_kv_v2();
    bao.create_prefix_policy("auth-hub", "auth-hub");
    let token = bao.create_token(&["auth-hub"], "1h");
    let token_path = SecretPath::parse("openbao/team/token").expect("path");
    let local = Arc::new(MemoryStore::new(10));
    local
        .put(&token_path, SecretValue::new(token.clone()))
        .expect("token");
    let settings = OpenBaoSettings {
        url: bao.url(),
        mount: "secret".into(),
        prefix: "auth-hub".into(),
        namespace: None,
        ca_cert: None,
        auth: OpenBaoAuth::Token { token_path },
        cache_ttl: Duration::ZERO,
        timeout: Duration::from_secs(5),
    };
    let store = OpenBaoStore::open("team", &settings, local).expect("open");
    let path = SecretPath::parse("team/bench/token").expect("path");
    store
        .put(&path, SecretValue::new("x".repeat(40)))
        .expect("put");

    group.bench_function("store_get", |b| {
        b.iter(|| store.get(&path).expect("get").expect("present"));
    });

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/v1/secret/data/auth-hub/team/bench/token", bao.url());
    group.bench_function("bare_http_get", |b| {
        b.iter(|| {
            let mut response = agent
                .get(&url)
                .header("X-Vault-Token", &token)
                .call()
                .expect("get");
            response.body_mut().read_to_string().expect("body")
        });
    });
    group.finish();
}

#[allow(missing_docs)] // criterion_group! generates an undocumented fn
mod group {
    use super::*;
    criterion_group!(benches, openbao_get);
}
use group::benches;
criterion_main!(benches);
