//! `auth exec`: secrets reach a child's environment only because the user asked, never argv.

use auth_hub_tests::TestHub;

#[test]
fn exec_passes_secrets_to_the_child_environment_only() {
    let hub = TestHub::start("[[policy.rule]]\nscope = \"*\"\naction = \"allow\"\n");
    hub.login();
    hub.run(&["auth", "put", "cargo/token"], Some("crates-secret"))
        .assert_code(0);
    let run = hub.run(
        &[
            "auth",
            "exec",
            "-e",
            "CARGO_REGISTRY_TOKEN=cargo/token",
            "--",
            "sh",
            "-c",
            "printf %s \"$CARGO_REGISTRY_TOKEN\"; exit 7",
        ],
        None,
    );
    run.assert_code(7);
    assert_eq!(run.stdout, "crates-secret");
    hub.run(
        &["auth", "exec", "-e", "1BAD=cargo/token", "--", "true"],
        None,
    )
    .assert_code(2);
    hub.run(
        &["auth", "exec", "-e", "X=cargo/missing", "--", "true"],
        None,
    )
    .assert_code(4);
}
