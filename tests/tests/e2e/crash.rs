//! `kill -9` while many clients write: after a restart the store opens and every acknowledged
//! write is there with its latest acknowledged value.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_hub_client::{AuthClient, SecretPath};
use auth_hub_tests::TestHub;

#[test]
fn kill_9_loses_no_acknowledged_write() {
    let mut hub = TestHub::start("[[policy.rule]]\nscope = \"*\"\naction = \"allow\"\n");
    let owner = hub.login();
    let acknowledged: Arc<Mutex<std::collections::BTreeMap<String, u32>>> = Arc::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    runtime.block_on(async {
        let mut writers = Vec::new();
        for writer in 0..16 {
            let client = hub.client(&owner);
            let acknowledged = acknowledged.clone();
            writers.push(tokio::spawn(async move {
                for round in 1..u32::MAX {
                    let path =
                        SecretPath::parse(&format!("crash/w{writer}/k{}", round % 5)).unwrap();
                    let value = format!("{writer}-{round}");
                    match client.put_secret(&path, &value).await {
                        Ok(()) => {
                            acknowledged.lock().unwrap().insert(path.to_string(), round);
                        }
                        Err(_) => return,
                    }
                }
            }));
        }
        // Let the writers get going, then crash the hub in the middle of their writes.
        auth_hub_tests::wait_until(Duration::from_secs(30), || {
            (acknowledged.lock().unwrap().len() >= 60).then_some(())
        })
        .expect("writers make progress");
        hub.kill9();
        for writer in writers {
            let _ = writer.await;
        }
    });

    hub.restart();
    let expected = acknowledged.lock().unwrap().clone();
    assert!(!expected.is_empty());
    runtime.block_on(async {
        let mut options = hub.client_options(Some(&owner));
        options.secret_ttl = Duration::ZERO;
        let client = auth_hub_client::HubClient::new(options);
        for (path, round) in &expected {
            let secret = client
                .get_secret(&SecretPath::parse(path).unwrap())
                .await
                .expect("acknowledged write present");
            let stored: u32 = secret
                .value
                .expose()
                .split('-')
                .nth(1)
                .unwrap()
                .parse()
                .unwrap();
            // A write in flight at the crash may have landed after its acknowledgement was lost;
            // never an older value than the last acknowledged one.
            assert!(
                stored >= *round,
                "{path}: stored round {stored} < acknowledged {round}"
            );
        }
    });
}
