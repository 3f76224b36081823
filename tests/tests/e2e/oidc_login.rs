//! OIDC device login (RFC 8628) against a real, certified OpenID provider (`oidc-provider` on
//! loopback, `tests/oidc/provider.mjs`): the user code approved or aborted headlessly through the
//! provider's own pages, the CLI's `auth login --provider` polling, the hub validating and
//! storing the tokens, and the hub's checks on real id_tokens.

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use auth_hub::identity::jwks_cache::REFETCH_INTERVAL;
use auth_hub_client::AuthError;
use auth_hub_protocol::identity::OidcLogin;
use auth_hub_protocol::provider::ProviderId;
use auth_hub_protocol::{Jwt, Request, Response};
use auth_hub_tests::oidc_provider::{
    device_authorization, poll_token, Decision, HeadlessUser, OidcProvider, Outcome,
    ProviderOptions, SCOPES,
};
use auth_hub_tests::{wait_until, Run, TestHub};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

/// The provider answers `authorization_pending` until the user approves, then the tokens: the
/// harness drives its token endpoint itself.
#[test]
fn provider_answers_pending_until_the_user_approves() {
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

/// The provider record every test logs in to.
const PROVIDER: &str = "osf/cli/oidc";

/// A hub with its owner logged in, a provider, and the record `osf/cli/oidc` pointing at it.
struct Setup {
    hub: TestHub,
    owner: String,
    provider: OidcProvider,
}

impl Setup {
    fn start(options: ProviderOptions) -> Self {
        let hub = TestHub::start("");
        let owner = hub.login();
        // `auth get oidc/…` in these tests reads without waiting for an approval.
        hub.run_as(Some(&owner), &["auth", "grant", "oidc/*"], None)
            .assert_code(0);
        let provider = OidcProvider::start(options);
        let setup = Self {
            hub,
            owner,
            provider,
        };
        let client_id = setup.provider.client_id().to_owned();
        setup.add_record(PROVIDER, &client_id);
        setup
    }

    /// Adds an OIDC record for this provider's issuer with `client_id`, through the CLI.
    fn add_record(&self, id: &str, client_id: &str) {
        let id = ProviderId::parse(id).unwrap();
        let issuer = self.provider.issuer();
        let mut args = vec![
            "auth",
            "provider",
            "add",
            "--type",
            id.kind(),
            "--app",
            id.app(),
            "--org",
            id.org(),
            "--issuer",
            &issuer,
            "--client-id",
            client_id,
        ];
        for scope in SCOPES.split(' ') {
            args.extend(["--scope", scope]);
        }
        self.hub
            .run_as(Some(&self.owner), &args, None)
            .assert_code(0);
    }

    /// One request with the owner key.
    fn call(&self, request: Request) -> Result<Response, AuthError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(self.hub.client(&self.owner).call(request))
    }

    /// Hands `id_token` to the hub as the login of `provider`.
    fn hand_in(&self, provider: &str, id_token: &str) -> Result<Response, AuthError> {
        self.call(Request::OidcLogin(OidcLogin {
            provider: ProviderId::parse(provider).unwrap(),
            id_token: Jwt::new(id_token.to_owned()),
            access_token: None,
            refresh_token: None,
            expires_in: None,
        }))
    }

    /// Runs `hyperforge --json auth login --provider osf/cli/oidc`, reads the user code it
    /// prints, lets `before_approval` run, then has the headless user decide. The CLI's run and
    /// what the user saw.
    fn device_login(
        &self,
        decision: Option<Decision>,
        before_approval: impl FnOnce(&Self),
    ) -> (Run, Option<Outcome>) {
        let mut command = self.hub.hyperforge();
        command
            .args(["--json", "auth", "login", "--provider", PROVIDER])
            .env("AUTH_HUB_TOKEN", &self.owner)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn hyperforge auth login");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first = String::new();
        stdout
            .read_line(&mut first)
            .expect("read the device prompt");
        let outcome = if first.trim().is_empty() {
            None
        } else {
            let prompt: Value = serde_json::from_str(&first).expect("a JSON prompt line");
            before_approval(self);
            decision.map(|decision| {
                HeadlessUser::new("alice").complete(
                    prompt["verification_uri"].as_str().unwrap(),
                    prompt["user_code"].as_str().unwrap(),
                    decision,
                )
            })
        };
        let mut rest = String::new();
        stdout
            .read_to_string(&mut rest)
            .expect("read the rest of stdout");
        let output = child.wait_with_output().expect("wait for hyperforge");
        let mut run = Run::from(output);
        run.stdout = format!("{first}{rest}");
        (run, outcome)
    }

    /// A real id_token from the provider, obtained by the harness itself (not through the hub).
    fn fresh_id_token(&self) -> String {
        let device = device_authorization(&self.provider);
        let outcome = HeadlessUser::new("bob").complete(
            device["verification_uri"].as_str().unwrap(),
            device["user_code"].as_str().unwrap(),
            Decision::Approve,
        );
        assert_eq!(outcome, Outcome::Success);
        let code = device["device_code"].as_str().unwrap();
        let tokens = wait_until(Duration::from_secs(10), || {
            let (status, answer) = poll_token(&self.provider, code);
            (status == 200).then_some(answer)
        })
        .expect("tokens after approval");
        tokens["id_token"].as_str().unwrap().to_owned()
    }

    fn get(&self, path: &str) -> Run {
        self.hub
            .run_as(Some(&self.owner), &["auth", "get", path], None)
    }
}

/// The JSON payload of a compact JWT.
fn payload(token: &str) -> Value {
    let part = token.trim().split('.').nth(1).expect("a compact JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url payload")).unwrap()
}

/// The last JSON line of a run's stdout.
fn last_json(run: &Run) -> Value {
    let line = run.stdout.lines().last().expect("some stdout");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn invalid_token(result: Result<Response, AuthError>) -> String {
    match result {
        Err(AuthError::InvalidToken(message)) => message,
        other => panic!("expected invalid_token, got {other:?}"),
    }
}

/// The whole device login: the CLI prints the code, keeps polling while the provider answers
/// `authorization_pending`, the user approves at the provider's own pages, and the hub validates
/// and stores the tokens; `auth status` shows the login, `auth get` returns the id_token.
#[test]
fn device_login_polls_until_approved_and_the_hub_stores_the_tokens() {
    let setup = Setup::start(ProviderOptions::default());
    let (run, outcome) = setup.device_login(Some(Decision::Approve), |setup| {
        // Approve only once the CLI has polled and heard "pending" at least once.
        let pending = wait_until(Duration::from_secs(20), || {
            setup
                .provider
                .log()
                .contains("token request answered: authorization_pending")
                .then_some(())
        });
        assert!(pending.is_some(), "{}", setup.provider.log());
    });
    assert_eq!(outcome, Some(Outcome::Success));
    run.assert_code(0);
    assert!(run.stderr.contains("enter the code"), "{}", run.stderr);
    let session = last_json(&run);
    assert_eq!(session["provider"], PROVIDER, "{session}");
    assert_eq!(session["subject"], "alice", "{session}");
    assert_eq!(session["issuer"], setup.provider.issuer(), "{session}");
    assert_eq!(session["refreshable"], true, "{session}");
    assert!(
        !run.stdout.contains("eyJ"),
        "no token on stdout: {}",
        run.stdout
    );

    let id_token = setup.get("oidc/osf/cli/oidc/id_token");
    id_token.assert_code(0);
    let claims = payload(&id_token.stdout);
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], setup.provider.client_id());
    setup.get("oidc/osf/cli/oidc/refresh_token").assert_code(0);
    setup.get("oidc/osf/cli/oidc/access_token").assert_code(0);

    let status = setup
        .hub
        .run_as(Some(&setup.owner), &["--json", "auth", "status"], None);
    status.assert_code(0);
    let logins = &status.json()["logins"];
    assert_eq!(logins[0]["provider"], PROVIDER, "{logins}");
    assert_eq!(logins[0]["subject"], "alice", "{logins}");
    assert_eq!(logins[0]["name"], "User alice", "{logins}");
    let text = setup
        .hub
        .run_as(Some(&setup.owner), &["auth", "status"], None);
    assert!(
        text.stdout.contains("logins:") && text.stdout.contains("osf/cli/oidc  User alice (alice)"),
        "{}",
        text.stdout
    );

    // Restarted, the hub still knows the login (it lives in the store).
    let mut hub = setup.hub;
    hub.restart();
    let again = hub.run_as(Some(&setup.owner), &["--json", "auth", "status"], None);
    assert_eq!(again.json()["logins"][0]["subject"], "alice");
    let audit = hub.run_as(Some(&setup.owner), &["auth", "audit"], None);
    audit.assert_code(0);
    assert!(audit.stdout.contains("oidc_login"), "{}", audit.stdout);
    let signature = id_token.stdout.trim().rsplit('.').next().unwrap();
    assert!(
        !audit.stdout.contains(signature),
        "no token in the audit log"
    );
}

/// Aborting at the provider's confirmation page ends the CLI with exit 3 and stores nothing.
#[test]
fn denied_at_the_provider_exits_3() {
    let setup = Setup::start(ProviderOptions::default());
    let (run, outcome) = setup.device_login(Some(Decision::Abort), |_| {});
    assert!(matches!(outcome, Some(Outcome::Refused(_))), "{outcome:?}");
    run.assert_code(3);
    assert!(
        run.stderr.contains("denied at the provider"),
        "{}",
        run.stderr
    );
    setup.get("oidc/osf/cli/oidc/id_token").assert_code(4);
}

/// A user code nobody approves expires: exit 3, with the hint to run the login again.
#[test]
fn an_expired_user_code_exits_3() {
    let setup = Setup::start(ProviderOptions {
        device_ttl: 2,
        ..ProviderOptions::default()
    });
    let (run, _) = setup.device_login(None, |_| {});
    run.assert_code(3);
    assert!(run.stderr.contains("expired"), "{}", run.stderr);
    setup.get("oidc/osf/cli/oidc/id_token").assert_code(4);
}

/// `slow_down` makes the CLI wait 5 s more between polls (RFC 8628 §3.5).
#[test]
fn slow_down_adds_five_seconds_to_the_interval() {
    let setup = Setup::start(ProviderOptions {
        slow_down_once: true,
        ..ProviderOptions::default()
    });
    let started = Instant::now();
    let (run, outcome) = setup.device_login(Some(Decision::Approve), |_| {});
    assert_eq!(outcome, Some(Outcome::Success));
    run.assert_code(0);
    // First poll after 1 s (slow_down), the next after 1 + 5 s.
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "finished after {:?}: slow_down ignored",
        started.elapsed()
    );
    assert!(setup.provider.log().contains("slow_down"));
}

/// `--refresh` makes the hub trade the stored refresh token for new tokens.
#[test]
fn refresh_replaces_the_stored_tokens() {
    let setup = Setup::start(ProviderOptions::default());
    // No login yet: nothing to refresh (exit 4, like a missing secret).
    let nothing = setup.hub.run_as(
        Some(&setup.owner),
        &["auth", "login", "--provider", PROVIDER, "--refresh"],
        None,
    );
    nothing.assert_code(4);
    assert!(
        nothing.stderr.contains("refresh_token"),
        "{}",
        nothing.stderr
    );
    setup
        .device_login(Some(Decision::Approve), |_| {})
        .0
        .assert_code(0);
    let before = setup.get("oidc/osf/cli/oidc/access_token").stdout;
    let refreshed = setup.hub.run_as(
        Some(&setup.owner),
        &[
            "--json",
            "auth",
            "login",
            "--provider",
            PROVIDER,
            "--refresh",
        ],
        None,
    );
    refreshed.assert_code(0);
    assert_eq!(last_json(&refreshed)["subject"], "alice");
    let after = setup.get("oidc/osf/cli/oidc/access_token").stdout;
    assert!(!after.trim().is_empty());
    assert_ne!(before, after, "the access token was not replaced");
    assert_eq!(
        payload(&setup.get("oidc/osf/cli/oidc/id_token").stdout)["sub"],
        "alice"
    );
}

/// Real id_tokens the hub must refuse: another audience, a flipped signature byte, `alg: none`.
#[test]
fn the_hub_refuses_wrong_audience_tampered_and_unsigned_id_tokens() {
    let setup = Setup::start(ProviderOptions::default());
    setup.add_record("osf/other/oidc", "someone-else");
    let token = setup.fresh_id_token();
    // The genuine token is accepted for its own record.
    assert!(setup.hand_in(PROVIDER, &token).is_ok());

    let wrong_audience = invalid_token(setup.hand_in("osf/other/oidc", &token));
    assert!(wrong_audience.contains("audience"), "{wrong_audience}");

    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[10] ^= 0x01;
    let tampered = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes));
    let bad_signature = invalid_token(setup.hand_in(PROVIDER, &tampered));
    assert!(bad_signature.contains("signature"), "{bad_signature}");

    let body = token.split('.').nth(1).unwrap();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = invalid_token(setup.hand_in(PROVIDER, &format!("{header}.{body}.")));
    assert!(unsigned.contains("none"), "{unsigned}");
    // Only the owner hands in logins: a service key is refused whatever it brings.
    let service = setup.hub.service_key("api", &["cargo/*"]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let by_service = runtime.block_on(setup.hub.client(&service).call(Request::OidcLogin(
        OidcLogin {
            provider: ProviderId::parse(PROVIDER).unwrap(),
            id_token: Jwt::new(token.clone()),
            access_token: None,
            refresh_token: None,
            expires_in: None,
        },
    )));
    assert!(
        matches!(&by_service, Err(AuthError::BadRequest(m)) if m.contains("owner")),
        "{by_service:?}"
    );
    // Nothing of the refused tokens replaced the accepted one.
    assert_eq!(setup.get("oidc/osf/cli/oidc/id_token").stdout.trim(), token);
}

/// An id_token already expired when it arrives (the provider's clock runs 5 minutes behind,
/// beyond the hub's leeway) is refused: the CLI exits 3 and nothing is stored.
#[test]
fn an_expired_id_token_is_refused() {
    let setup = Setup::start(ProviderOptions {
        clock_skew: -300,
        id_token_ttl: 10,
        ..ProviderOptions::default()
    });
    let (run, outcome) = setup.device_login(Some(Decision::Approve), |_| {});
    assert_eq!(outcome, Some(Outcome::Success));
    run.assert_code(3);
    assert!(run.stderr.contains("expired"), "{}", run.stderr);
    setup.get("oidc/osf/cli/oidc/id_token").assert_code(4);
}

/// The provider rotates its signing key (restarted, same issuer, new key): a token with the new
/// `kid` makes the hub fetch the JWKS again (at most once per refetch interval) and accept it.
#[test]
fn a_rotated_provider_key_is_fetched_and_accepted() {
    let mut setup = Setup::start(ProviderOptions::default());
    let first = setup.fresh_id_token();
    setup.hand_in(PROVIDER, &first).expect("first key accepted");
    setup.provider.restart();
    let second = setup.fresh_id_token();
    let kid = |token: &str| {
        let header = token.split('.').next().unwrap();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        header["kid"].as_str().unwrap().to_owned()
    };
    assert_ne!(kid(&first), kid(&second), "the provider did not rotate");
    let limit = REFETCH_INTERVAL + Duration::from_secs(30);
    let accepted = wait_until(limit, || setup.hand_in(PROVIDER, &second).ok());
    assert!(accepted.is_some(), "the new key was never fetched");
    // Tokens signed with the retired key no longer verify.
    let old = invalid_token(setup.hand_in(PROVIDER, &first));
    assert!(old.contains("key"), "{old}");
}
