//! OIDC device login (RFC 8628) against a real, certified OpenID provider (`oidc-provider` on
//! loopback, `tests/oidc/provider.mjs`): the user code approved or aborted headlessly through the
//! provider's own pages, the CLI's `auth login --provider` polling, the hub validating and
//! storing the tokens, and the hub's checks on real id_tokens.

use std::time::Duration;

use auth_hub_tests::oidc_provider::{
    device_authorization, installed, poll_token, Decision, HeadlessUser, OidcProvider, Outcome,
    ProviderOptions,
};
use auth_hub_tests::wait_until;

/// The provider answers `authorization_pending` until the user approves, then the tokens: the
/// harness drives its token endpoint itself.
#[test]
fn provider_answers_pending_until_the_user_approves() {
    if !installed() {
        return;
    }
    let provider = OidcProvider::start(ProviderOptions::default());
    let device = device_authorization(&provider);
    let device_code = device["device_code"].as_str().unwrap();
    let (status, answer) = poll_token(&provider, device_code);
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"], "authorization_pending", "{answer}");

    let outcome = HeadlessUser::new("alice").complete(
        device["verification_uri"].as_str().unwrap(),
        device["user_code"].as_str().unwrap(),
        Decision::Approve,
    );
    assert_eq!(outcome, Outcome::Success);
    let tokens = wait_until(Duration::from_secs(10), || {
        let (status, answer) = poll_token(&provider, device_code);
        (status == 200).then_some(answer)
    })
    .expect("tokens after approval");
    assert!(tokens["id_token"].as_str().is_some(), "{tokens}");
    assert!(tokens["refresh_token"].as_str().is_some(), "{tokens}");
}
