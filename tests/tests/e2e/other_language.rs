//! A client written in another language from `docs/protocol.md` alone (Python, standard library
//! only) completes the hello and a get against the real hub.

use std::process::Command;

use auth_hub_tests::{Run, TestHub};

fn python(hub: &TestHub, token: Option<&str>, args: &[&str]) -> Run {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/hub_client.py");
    let mut command = Command::new("python3");
    command
        .arg(script)
        .args(args)
        .env("AUTH_HUB_HOME", hub.home())
        .env_remove("AUTH_HUB_SOCKET");
    match token {
        Some(token) => command.env("AUTH_HUB_TOKEN", token),
        None => command.env_remove("AUTH_HUB_TOKEN"),
    };
    Run::from(command.output().expect("python3 runs"))
}

#[test]
fn python_client_from_the_docs_gets_a_secret() {
    let hub = TestHub::start("");
    hub.login();
    hub.run(&["auth", "put", "pypi/token"], Some("pypi-AgEIcHlwaS5vcmc"))
        .assert_code(0);
    let ci = hub.service_key("py", &["pypi/*"]);
    let got = python(&hub, Some(&ci), &["get", "pypi/token"]);
    got.assert_code(0);
    assert_eq!(got.stdout.trim_end(), "pypi-AgEIcHlwaS5vcmc");
    python(&hub, Some(&ci), &["get", "cargo/token"]).assert_code(3);
    let status = python(&hub, None, &["status"]);
    status.assert_code(0);
    assert_eq!(status.json()["has_owner"], true);
}
