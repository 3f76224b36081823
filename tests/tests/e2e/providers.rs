//! AuthProvider records through the real CLI: add, ls, show, update, history and rm with their
//! exit codes and `--json`; one live record per `ORG/APP/TYPE`; every change a version that
//! survives a restart and a `kill -9`; each change in a still-valid audit chain.

use auth_hub_tests::{Run, TestHub};
use serde_json::Value;

const ISSUER: &str = "https://id.example.com";

fn add_osf_cli(hub: &TestHub) -> Run {
    hub.run(
        &[
            "--json",
            "auth",
            "provider",
            "add",
            "--type",
            "oidc",
            "--app",
            "cli",
            "--org",
            "osf",
            "--issuer",
            ISSUER,
            "--client-id",
            "hyperforge",
            "--attr",
            "team=infra",
        ],
        None,
    )
}

fn history(hub: &TestHub, id: &str) -> Vec<Value> {
    let run = hub.run(&["--json", "auth", "provider", "history", id], None);
    run.assert_code(0);
    run.json().as_array().cloned().expect("history is an array")
}

fn versions(history: &[Value]) -> Vec<(u64, String)> {
    history
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().expect("version"),
                v["action"].as_str().expect("action").to_owned(),
            )
        })
        .collect()
}

#[test]
fn add_ls_show_update_history_rm_through_the_cli() {
    let hub = TestHub::start("");
    hub.login();

    let added = add_osf_cli(&hub);
    added.assert_code(0);
    let record = added.json();
    assert_eq!(record["id"], "osf/cli/oidc");
    assert_eq!(record["version"], 1);
    assert_eq!(record["issuer"], ISSUER);
    assert_eq!(record["scopes"], serde_json::json!(["openid"]));
    assert_eq!(record["audiences"], serde_json::json!(["hyperforge"]));
    assert_eq!(record["extra"]["team"], "infra");
    assert_eq!(record["created_by"]["key"], "owner");
    assert!(record["created_by"]["uid"].is_u64(), "{record}");
    assert!(record["created_by"]["pid"].is_u64(), "{record}");
    assert!(
        record["created_by"]["exe"]
            .as_str()
            .is_some_and(|exe| exe.ends_with("hyperforge")),
        "{record}"
    );

    // Unique per (org, app, type): a second add is a conflict (1) naming the update command.
    let again = add_osf_cli(&hub);
    again.assert_code(1);
    assert!(
        again
            .stderr
            .contains("hyperforge auth provider update osf/cli/oidc"),
        "{}",
        again.stderr
    );
    // Another type for the same app and org is another record.
    hub.run(
        &[
            "auth",
            "provider",
            "add",
            "--type",
            "tauth-key",
            "--app",
            "cli",
            "--org",
            "osf",
            "--service-handle",
            "/osf/cli",
        ],
        None,
    )
    .assert_code(0);

    // Bad arguments are usage errors (2): a missing issuer, an HS* algorithm, a bad address.
    hub.run(
        &[
            "auth", "provider", "add", "--type", "oidc", "--app", "web", "--org", "osf",
        ],
        None,
    )
    .assert_code(2);
    let hs = hub.run(
        &[
            "auth",
            "provider",
            "add",
            "--type",
            "oidc",
            "--app",
            "web",
            "--org",
            "osf",
            "--issuer",
            ISSUER,
            "--client-id",
            "web",
            "--algorithm",
            "HS256",
        ],
        None,
    );
    hs.assert_code(2);
    assert!(hs.stderr.contains("HS256"), "{}", hs.stderr);
    hub.run(&["auth", "provider", "show", "osf/cli"], None)
        .assert_code(2);

    let listed = hub.run(&["--json", "auth", "provider", "ls"], None);
    listed.assert_code(0);
    let ids: Vec<String> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["osf/cli/oidc", "osf/cli/tauth-key"]);
    let table = hub.run(&["auth", "provider", "ls"], None);
    table.assert_code(0);
    assert!(table.stdout.contains("osf/cli/oidc"), "{}", table.stdout);

    let updated = hub.run(
        &[
            "--json",
            "auth",
            "provider",
            "update",
            "osf/cli/oidc",
            "--scope",
            "openid",
            "--scope",
            "email",
            "--unset-attr",
            "team",
        ],
        None,
    );
    updated.assert_code(0);
    let updated = updated.json();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["scopes"], serde_json::json!(["openid", "email"]));
    assert!(updated["extra"].as_object().unwrap().is_empty());
    assert_eq!(updated["created_at"], record["created_at"]);
    // Nothing to change (2); an unknown record (4, named as a provider, not a secret).
    hub.run(&["auth", "provider", "update", "osf/cli/oidc"], None)
        .assert_code(2);
    let missing = hub.run(
        &[
            "auth",
            "provider",
            "update",
            "osf/web/oidc",
            "--client-id",
            "x",
        ],
        None,
    );
    missing.assert_code(4);
    assert!(
        missing.stderr.contains("no provider osf/web/oidc"),
        "{}",
        missing.stderr
    );
    assert!(!missing.stderr.contains("secret"), "{}", missing.stderr);
    hub.run(&["auth", "provider", "history", "osf/web/oidc"], None)
        .assert_code(4);

    let shown = hub.run(&["auth", "provider", "show", "osf/cli/oidc"], None);
    shown.assert_code(0);
    assert!(shown.stdout.contains("version 2"), "{}", shown.stdout);
    assert!(shown.stdout.contains("openid email"), "{}", shown.stdout);

    hub.run(&["auth", "provider", "rm", "osf/cli/oidc"], None)
        .assert_code(0);
    hub.run(&["auth", "provider", "rm", "osf/cli/oidc"], None)
        .assert_code(4);
    let live = hub.run(&["--json", "auth", "provider", "ls"], None).json();
    assert_eq!(live.as_array().unwrap().len(), 1, "{live}");
    let all = hub
        .run(&["--json", "auth", "provider", "ls", "--all"], None)
        .json();
    let removed = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "osf/cli/oidc")
        .expect("removed record listed with --all");
    assert_eq!(removed["version"], 3);
    assert!(removed["deleted_at"].is_string(), "{removed}");

    let text = hub.run(&["auth", "provider", "history", "osf/cli/oidc"], None);
    text.assert_code(0);
    assert!(text.stdout.contains("v1 "), "{}", text.stdout);
    assert!(
        text.stdout.contains("update by owner (uid"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("scopes, extra.team"),
        "{}",
        text.stdout
    );
    let steps = history(&hub, "osf/cli/oidc");
    assert_eq!(
        versions(&steps),
        [
            (1, "add".into()),
            (2, "update".into()),
            (3, "remove".into())
        ]
    );
    assert_eq!(
        steps[1]["changed"],
        serde_json::json!(["scopes", "extra.team"])
    );

    // Added again after removal: the next version, the history kept.
    add_osf_cli(&hub).assert_code(0);
    assert_eq!(history(&hub, "osf/cli/oidc").len(), 4);

    // A service key may read but never change records (3).
    let reader = hub.service_key("reader", &[]);
    hub.run_as(Some(&reader), &["auth", "provider", "ls"], None)
        .assert_code(0);
    hub.run_as(
        Some(&reader),
        &["auth", "provider", "rm", "osf/cli/oidc"],
        None,
    )
    .assert_code(3);
    hub.run_as(
        Some(&reader),
        &[
            "auth",
            "provider",
            "update",
            "osf/cli/oidc",
            "--client-id",
            "x",
        ],
        None,
    )
    .assert_code(3);

    // The hub enforces it too, whatever the client checks: a service key's request is refused.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use auth_hub_protocol::provider::{AddProvider, ProviderFields, RemoveProvider};
        use auth_hub_protocol::{ProviderId, Request};
        let client = hub.client(&reader);
        let id = ProviderId::parse("osf/cli/oidc").unwrap();
        let removed = client
            .call(Request::RemoveProvider(RemoveProvider { id: id.clone() }))
            .await;
        assert!(
            matches!(removed, Err(auth_hub_client::AuthError::BadRequest(_))),
            "{removed:?}"
        );
        let added = client
            .call(Request::AddProvider(AddProvider {
                id: ProviderId::parse("evil/cli/oidc").unwrap(),
                fields: ProviderFields::default(),
            }))
            .await;
        assert!(
            matches!(added, Err(auth_hub_client::AuthError::BadRequest(_))),
            "{added:?}"
        );
    });
    assert_eq!(history(&hub, "osf/cli/oidc").len(), 4);
    hub.run(&["auth", "provider", "show", "evil/cli/oidc"], None)
        .assert_code(4);

    // Every change is in the audit chain, which still verifies.
    let audit = hub.run(&["--json", "auth", "audit"], None);
    audit.assert_code(0);
    let details: Vec<String> = audit.json()["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|line| {
            line["event"]
                .as_str()
                .is_some_and(|e| e.ends_with("_provider"))
        })
        .map(|line| format!("{} {} {}", line["event"], line["detail"], line["outcome"]))
        .collect();
    assert!(
        details.contains(&r#""add_provider" "osf/cli/oidc v1" "ok""#.to_owned()),
        "{details:?}"
    );
    assert!(
        details.contains(&r#""remove_provider" "osf/cli/oidc v3" "ok""#.to_owned()),
        "{details:?}"
    );
    assert!(
        details.contains(&r#""add_provider" "osf/cli/oidc" "conflict""#.to_owned()),
        "{details:?}"
    );
    hub.run(&["auth", "audit", "--verify"], None).assert_code(0);
}

#[test]
fn versions_and_history_survive_a_restart_and_a_crash() {
    let mut hub = TestHub::start("");
    hub.login();
    add_osf_cli(&hub).assert_code(0);
    hub.run(
        &[
            "auth",
            "provider",
            "update",
            "osf/cli/oidc",
            "--client-id",
            "v2",
        ],
        None,
    )
    .assert_code(0);
    let before = history(&hub, "osf/cli/oidc");
    assert_eq!(before.len(), 2);

    hub.restart();
    assert_eq!(history(&hub, "osf/cli/oidc"), before);
    // Still unique after a restart.
    add_osf_cli(&hub).assert_code(1);

    // Each acknowledged change is durable: kill -9 right after the CLI returns.
    hub.run(&["auth", "provider", "rm", "osf/cli/oidc"], None)
        .assert_code(0);
    hub.run(
        &[
            "auth", "provider", "add", "--type", "melt-key", "--app", "cli", "--org", "osf",
        ],
        None,
    )
    .assert_code(0);
    let before = history(&hub, "osf/cli/oidc");
    hub.kill9();
    hub.restart();
    let after = history(&hub, "osf/cli/oidc");
    assert_eq!(after, before);
    assert_eq!(
        versions(&after),
        [
            (1, "add".into()),
            (2, "update".into()),
            (3, "remove".into())
        ]
    );
    assert_eq!(after[1]["audiences"], serde_json::json!(["v2"]));
    let ids: Vec<String> = hub
        .run(&["--json", "auth", "provider", "ls"], None)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["osf/cli/melt-key"]);
    // The file is private.
    let metadata = std::fs::metadata(hub.home().join("state").join("providers.json"))
        .expect("providers.json in the state directory");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o777,
        0o600
    );
    hub.run(&["auth", "audit", "--verify"], None).assert_code(0);
}

#[test]
fn kill_9_during_updates_loses_no_acknowledged_version() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use auth_hub_protocol::provider::{ProviderChange, UpdateProvider};
    use auth_hub_protocol::{ProviderId, Request, Response};

    let mut hub = TestHub::start("");
    let owner = hub.login();
    add_osf_cli(&hub).assert_code(0);
    let acknowledged = Arc::new(AtomicU64::new(1));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = hub.client(&owner);
        let seen = acknowledged.clone();
        let writer = tokio::spawn(async move {
            let id = ProviderId::parse("osf/cli/oidc").unwrap();
            for round in 1..u32::MAX {
                let change = ProviderChange {
                    set_extra: [("round".to_owned(), round.to_string())].into(),
                    ..ProviderChange::default()
                };
                let request = Request::UpdateProvider(UpdateProvider {
                    id: id.clone(),
                    change,
                });
                match client.call(request).await {
                    Ok(Response::Provider(reply)) => {
                        seen.store(reply.record.version, Ordering::SeqCst);
                    }
                    _ => return,
                }
            }
        });
        // Crash the hub in the middle of a stream of updates.
        auth_hub_tests::wait_until(Duration::from_secs(30), || {
            (acknowledged.load(Ordering::SeqCst) >= 20).then_some(())
        })
        .expect("updates make progress");
        hub.kill9();
        let _ = writer.await;
    });

    hub.restart();
    let acknowledged = acknowledged.load(Ordering::SeqCst);
    let after = history(&hub, "osf/cli/oidc");
    // Numbered 1, 2, 3, … without a gap (the hub refuses to start otherwise), and every
    // acknowledged version is there; one in flight may have landed after its answer was lost.
    let numbers: Vec<u64> = after
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>());
    assert!(
        numbers.len() as u64 >= acknowledged,
        "{} versions after the crash, {acknowledged} acknowledged",
        numbers.len()
    );
    let last = after.last().unwrap();
    assert_eq!(
        last["extra"]["round"].as_str().unwrap(),
        (numbers.len() - 1).to_string()
    );
    // The record still works: a change after the crash continues the numbering.
    hub.run(
        &[
            "auth",
            "provider",
            "update",
            "osf/cli/oidc",
            "--client-id",
            "after",
        ],
        None,
    )
    .assert_code(0);
    assert_eq!(history(&hub, "osf/cli/oidc").len(), numbers.len() + 1);
}
