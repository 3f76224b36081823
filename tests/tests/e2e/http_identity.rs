//! The loopback HTTP endpoints of a real hub (`[http] listen = "127.0.0.1:0"`, the port learnt
//! from `auth status --json`): off without config, refused on a non-loopback address or a taken
//! port, the JWKS, RFC 7662 introspection of keys in every state, RFC 8693 token exchange whose
//! JWT an independent library (PyJWT, `tests/clients/verify_jwt.py`) validates against the
//! served JWKS, and malformed or oversized requests answered 4xx without harm.

use std::time::Duration;

use auth_hub_tests::pyjwt::{self, JwksSource};
use auth_hub_tests::{wait_until, Run, TestHub};
use serde_json::{json, Value};

const CONFIG: &str = "[http]\nlisten = \"127.0.0.1:0\"\n";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const KEY_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";

/// An HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// The hub's HTTP base URL, from `auth status --json`.
fn base_url(hub: &TestHub) -> String {
    let status = hub.run(&["--json", "auth", "status"], None);
    status.assert_code(0);
    let address = status.json()["http_listen"]
        .as_str()
        .unwrap_or_else(|| panic!("no http_listen in status: {}", status.stdout))
        .to_owned();
    format!("http://{address}")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    Answer {
        status: response.status().as_u16(),
        headers,
        body: response.body_mut().read_to_string().expect("body read"),
    }
}

fn get(url: &str) -> Answer {
    answer(agent().get(url).call().expect("GET answered"))
}

/// POSTs `body` (sent as is) with `content_type` and an optional bearer key.
fn post_raw(url: &str, bearer: Option<&str>, content_type: &str, body: Vec<u8>) -> Answer {
    let mut request = agent().post(url).header("Content-Type", content_type);
    if let Some(key) = bearer {
        request = request.header("Authorization", &format!("Bearer {key}"));
    }
    answer(request.send(&body[..]).expect("POST answered"))
}

/// POSTs a form.
fn post_form(url: &str, bearer: Option<&str>, fields: &[(&str, &str)]) -> Answer {
    let mut request = agent().post(url);
    if let Some(key) = bearer {
        request = request.header("Authorization", &format!("Bearer {key}"));
    }
    answer(
        request
            .send_form(fields.iter().copied())
            .expect("POST answered"),
    )
}

/// `auth key create NAME ARGS…`; the key's text.
fn create_key(hub: &TestHub, name: &str, args: &[&str]) -> String {
    let mut all = vec!["auth", "key", "create", name];
    all.extend_from_slice(args);
    let run = hub.run(&all, None);
    run.assert_code(0);
    run.stdout.trim().to_owned()
}

/// A hub with the listener, the owner logged in, and an API's service key with `validate`.
fn hub_with_api() -> (TestHub, String, String) {
    let hub = TestHub::start(CONFIG);
    hub.login();
    let api = create_key(&hub, "orders-api", &["--permission", "validate"]);
    let url = base_url(&hub);
    (hub, url, api)
}

fn introspect(url: &str, api: &str, token: &str) -> Value {
    let answer = post_form(&format!("{url}/introspect"), Some(api), &[("token", token)]);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.header("cache-control"),
        Some("no-store"),
        "{answer:?}"
    );
    answer.json()
}

/// PyJWT (`tests/clients/verify_jwt.py`) checks `token` against the JWKS at `jwks_url`.
fn pyjwt_verify(jwks_url: &str, issuer: &str, audience: &str, token: &str) -> Run {
    pyjwt::verify(token, JwksSource::Url(jwks_url), issuer, audience)
}

#[test]
fn no_listener_without_config() {
    let hub = TestHub::start("");
    hub.login();
    let status = hub.run(&["--json", "auth", "status"], None);
    status.assert_code(0);
    assert!(
        status.json().get("http_listen").is_none(),
        "{}",
        status.stdout
    );
    let text = hub.run(&["auth", "status"], None);
    text.assert_code(0);
    assert!(!text.stdout.contains("http:"), "{}", text.stdout);
    assert!(hub.log().contains("auth-hub listening"));
    assert!(
        !hub.log().contains("http endpoints listening"),
        "{}",
        hub.log()
    );
}

#[test]
fn a_non_loopback_address_needs_the_flag_and_a_taken_port_stops_the_start() {
    let mut hub = TestHub::start("");
    hub.stop();
    hub.write_config("[http]\nlisten = \"0.0.0.0:0\"\n");
    let refused = hub.serve_refused();
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("http.listen") && refused.stderr.contains("allow_non_loopback"),
        "{}",
        refused.stderr
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let address = taken.local_addr().expect("address").to_string();
    hub.write_config(&format!("[http]\nlisten = \"{address}\"\n"));
    let refused = hub.serve_refused();
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains(&address) && refused.stderr.contains("already in use"),
        "{}",
        refused.stderr
    );
    drop(taken);

    hub.write_config(CONFIG);
    hub.restart();
    hub.login();
    let url = base_url(&hub);
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    assert_eq!(get(&format!("{url}/.well-known/jwks.json")).status, 200);
}

#[test]
fn jwks_is_served_with_a_short_cache_and_wrong_paths_and_methods_are_refused() {
    let (_hub, url, _api) = hub_with_api();
    let jwks = get(&format!("{url}/.well-known/jwks.json"));
    assert_eq!(jwks.status, 200, "{jwks:?}");
    assert_eq!(jwks.header("content-type"), Some("application/json"));
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=60"));
    let keys = jwks.json()["keys"].as_array().cloned().unwrap_or_default();
    assert!(!keys.is_empty(), "{}", jwks.body);
    for key in &keys {
        assert_eq!(key["kty"], "OKP", "{key}");
        assert_eq!(key["crv"], "Ed25519", "{key}");
        assert!(key["kid"].is_string() && key.get("d").is_none(), "{key}");
    }
    assert_eq!(get(&format!("{url}/introspect")).status, 405);
    assert_eq!(
        get(&format!("{url}/.well-known/openid-configuration")).status,
        404
    );
    let post = post_form(&format!("{url}/.well-known/jwks.json"), None, &[]);
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

#[test]
fn introspection_of_active_revoked_expired_and_unknown_keys() {
    let (hub, url, api) = hub_with_api();
    let user = create_key(&hub, "alice", &["--scope", "cargo/*"]);
    let active = introspect(&url, &api, &user);
    assert_eq!(active["active"], true, "{active}");
    assert_eq!(active["sub"], "key:alice");
    assert_eq!(active["username"], "alice");
    assert_eq!(active["client_id"], "alice");
    assert_eq!(active["scope"], "cargo/*");
    assert_eq!(active["credential"], "api_key");
    assert_eq!(active["token_type"], "Bearer");
    assert_eq!(active["iss"], "auth-hub");

    hub.run(&["auth", "key", "revoke", "alice"], None)
        .assert_code(0);
    assert_eq!(introspect(&url, &api, &user), json!({"active": false}));

    let brief = create_key(&hub, "brief", &["--expires", "4s"]);
    assert_eq!(introspect(&url, &api, &brief)["active"], true);
    let expired = wait_until(Duration::from_secs(30), || {
        let answer = introspect(&url, &api, &brief);
        (answer["active"] == false).then_some(answer)
    })
    .expect("the key expires");
    assert_eq!(expired, json!({"active": false}));

    // Unknown name; right name with a wrong secret; not a credential at all; a JWT-shaped
    // string that is not a valid JWT.
    let wrong_secret = format!("{}x", &api[..api.len() - 1]);
    for unknown in [
        "TAUTH_nobody--z4PhNX7vuL3xVChQ1m2AB9Yg",
        wrong_secret.as_str(),
        "hello",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    ] {
        assert_eq!(
            introspect(&url, &api, unknown),
            json!({"active": false}),
            "{unknown}"
        );
    }
    let audit = hub.run(&["--json", "auth", "audit"], None);
    audit.assert_code(0);
    assert!(audit.stdout.contains("http_introspect"), "{}", audit.stdout);
    assert!(
        !audit.stdout.contains(&user),
        "a token reached the audit log"
    );
    assert!(
        !hub.log().contains(&user) && !hub.log().contains(&api),
        "a token reached the log"
    );
}

#[test]
fn introspection_needs_a_live_bearer_key_with_validate() {
    let (hub, url, api) = hub_with_api();
    let plain = create_key(&hub, "plain", &[]);
    let endpoint = format!("{url}/introspect");

    let none = post_form(&endpoint, None, &[("token", &plain)]);
    assert_eq!(none.status, 401, "{none:?}");
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"auth-hub\"")
    );
    assert_eq!(none.json()["error"], "invalid_client");

    let forbidden = post_form(&endpoint, Some(&plain), &[("token", &api)]);
    assert_eq!(forbidden.status, 403, "{forbidden:?}");
    assert_eq!(forbidden.json()["error"], "insufficient_scope");

    hub.run(&["auth", "key", "revoke", "orders-api"], None)
        .assert_code(0);
    let revoked = post_form(&endpoint, Some(&api), &[("token", &plain)]);
    assert_eq!(revoked.status, 401, "{revoked:?}");
    assert!(
        revoked
            .header("www-authenticate")
            .is_some_and(|value| value.contains("error=\"invalid_token\"")),
        "{revoked:?}"
    );
}

#[test]
fn an_api_key_exchanged_for_a_hub_jwt_validates_with_pyjwt_against_the_served_jwks() {
    let (hub, url, api) = hub_with_api();
    let user = create_key(&hub, "alice", &["--scope", "cargo/*"]);
    let exchanged = post_form(
        &format!("{url}/token"),
        Some(&api),
        &[
            ("grant_type", GRANT),
            ("subject_token", &user),
            ("subject_token_type", KEY_TYPE),
            ("audience", "orders"),
            ("requested_token_type", JWT_TYPE),
        ],
    );
    assert_eq!(exchanged.status, 200, "{exchanged:?}");
    assert_eq!(exchanged.header("cache-control"), Some("no-store"));
    let body = exchanged.json();
    assert_eq!(body["issued_token_type"], JWT_TYPE);
    assert_eq!(body["token_type"], "Bearer");
    let expires_in = body["expires_in"].as_i64().expect("expires_in");
    assert!((1..=300).contains(&expires_in), "{body}");
    let token = body["access_token"].as_str().expect("access_token");

    let jwks_url = format!("{url}/.well-known/jwks.json");
    let verified = pyjwt_verify(&jwks_url, "auth-hub", "orders", token);
    verified.assert_code(0);
    let claims = verified.json();
    assert_eq!(claims["sub"], "key:alice", "{claims}");
    assert_eq!(claims["key"], "alice", "{claims}");
    assert_eq!(claims["scope"], "cargo/*", "{claims}");
    assert_eq!(claims["aud"], "orders", "{claims}");
    assert_eq!(claims["iss"], "auth-hub", "{claims}");
    // The independent check is not a rubber stamp: another audience fails it.
    pyjwt_verify(&jwks_url, "auth-hub", "billing", token).assert_code(1);

    // The hub itself reports the new token active, as a hub JWT.
    let introspected = introspect(&url, &api, token);
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["credential"], "hub_jwt");
    assert_eq!(introspected["sub"], "key:alice");
    assert_eq!(introspected["username"], "alice");
    assert_eq!(introspected["scope"], "cargo/*");
    // Tampered: inactive, and nothing else.
    let mut tampered = token.to_owned();
    let last = tampered.pop().expect("non-empty");
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(introspect(&url, &api, &tampered), json!({"active": false}));
}

/// The fields of an API-key exchange for `orders`.
fn key_exchange(subject: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", GRANT),
        ("subject_token_type", KEY_TYPE),
        ("audience", "orders"),
        ("subject_token", subject),
    ]
}

#[test]
fn token_exchange_refusals_have_the_oauth_shapes() {
    let (hub, url, api) = hub_with_api();
    let user = create_key(&hub, "alice", &[]);
    let endpoint = format!("{url}/token");
    let exchange = |bearer: Option<&str>, fields: &[(&str, &str)]| {
        let answer = post_form(&endpoint, bearer, fields);
        assert_eq!(
            answer.header("cache-control"),
            Some("no-store"),
            "{answer:?}"
        );
        let error = answer.json()["error"].as_str().unwrap_or("").to_owned();
        (answer.status, error)
    };
    assert_eq!(
        exchange(None, &key_exchange(&user)),
        (401, "invalid_client".into())
    );
    assert_eq!(
        exchange(Some(&api), &[("grant_type", "client_credentials")]),
        (400, "unsupported_grant_type".into())
    );
    assert_eq!(
        exchange(Some(&api), &key_exchange(&user)[..3]),
        (400, "invalid_request".into())
    );
    let mut with_scope = key_exchange(&user);
    with_scope.push(("scope", "cargo/*"));
    assert_eq!(
        exchange(Some(&api), &with_scope),
        (400, "invalid_scope".into())
    );
    let plain = create_key(&hub, "plain", &[]);
    assert_eq!(
        exchange(Some(&plain), &key_exchange(&user)),
        (400, "unauthorized_client".into())
    );
    hub.run(&["auth", "key", "revoke", "alice"], None)
        .assert_code(0);
    assert_eq!(
        exchange(Some(&api), &key_exchange(&user)),
        (400, "invalid_request".into())
    );
}

#[test]
fn malformed_and_oversized_bodies_are_4xx_and_the_hub_goes_on() {
    let (hub, url, api) = hub_with_api();
    let endpoint = format!("{url}/introspect");
    let form = "application/x-www-form-urlencoded";

    let json_body = post_raw(
        &endpoint,
        Some(&api),
        "application/json",
        b"{\"token\":\"x\"}".to_vec(),
    );
    assert_eq!(json_body.status, 415, "{json_body:?}");
    assert_eq!(json_body.json()["error"], "invalid_request");

    let twice = post_raw(&endpoint, Some(&api), form, b"token=a&token=b".to_vec());
    assert_eq!(twice.status, 400, "{twice:?}");

    let garbage = post_raw(
        &endpoint,
        Some(&api),
        form,
        vec![0xff, 0x00, b'%', b'=', 0xfe],
    );
    assert_eq!(garbage.status, 400, "{garbage:?}");
    assert_eq!(garbage.json()["error"], "invalid_request");

    let mut huge = b"token=".to_vec();
    huge.resize(70 * 1024, b'a');
    let oversized = post_raw(&endpoint, Some(&api), form, huge.clone());
    assert_eq!(oversized.status, 413, "{oversized:?}");
    let oversized = post_raw(&format!("{url}/token"), Some(&api), form, huge);
    assert_eq!(oversized.status, 413, "{oversized:?}");

    // Still serving, on HTTP and on the socket.
    assert_eq!(
        introspect(&url, &api, "TAUTH_x--zabc"),
        json!({"active": false})
    );
    hub.run(&["auth", "status"], None).assert_code(0);
}

#[test]
fn changing_http_on_a_running_hub_is_applied_at_the_next_start() {
    let (mut hub, url, _api) = hub_with_api();
    hub.write_config("");
    let note = wait_until(Duration::from_secs(20), || {
        let status = hub.run(&["--json", "auth", "status"], None);
        status.json()["http_restart"].as_str().map(str::to_owned)
    })
    .expect("status reports the change");
    assert!(note.contains("restart"), "{note}");
    // Still serving where it was bound until then.
    assert_eq!(get(&format!("{url}/.well-known/jwks.json")).status, 200);
    let text = hub.run(&["auth", "status"], None);
    assert!(
        text.stdout.contains(&format!("http:     {url}")),
        "{}",
        text.stdout
    );
    assert!(
        hub.log().contains("restart the hub to apply it"),
        "{}",
        hub.log()
    );

    hub.restart();
    let status = hub.run(&["--json", "auth", "status"], None).json();
    assert!(status.get("http_listen").is_none(), "{status}");
    assert!(status.get("http_restart").is_none(), "{status}");
}

#[test]
fn a_real_provider_id_token_is_introspected_and_exchanged_over_http() {
    use auth_hub_tests::oidc_provider::{id_token_for, OidcProvider, ProviderOptions};

    let (hub, url, api) = hub_with_api();
    let provider = OidcProvider::start(ProviderOptions::default());
    let issuer = provider.issuer();
    hub.run(
        &[
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
            &issuer,
            "--client-id",
            provider.client_id(),
        ],
        None,
    )
    .assert_code(0);
    let id_token = id_token_for(&provider, "dave");

    // Introspection validates it against the provider's JWKS, found by its issuer.
    let introspected = introspect(&url, &api, &id_token);
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(introspected["credential"], "provider_jwt", "{introspected}");
    assert_eq!(introspected["iss"], issuer.as_str(), "{introspected}");
    let user = introspected["sub"].as_str().expect("sub").to_owned();

    // RFC 8693: the id_token in, a hub JWT about that user out, which PyJWT accepts against the
    // served JWKS.
    let exchanged = post_form(
        &format!("{url}/token"),
        Some(&api),
        &[
            ("grant_type", GRANT),
            ("subject_token", &id_token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
            ("audience", "orders"),
        ],
    );
    assert_eq!(exchanged.status, 200, "{exchanged:?}");
    let token = exchanged.json()["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    let verified = pyjwt_verify(
        &format!("{url}/.well-known/jwks.json"),
        "auth-hub",
        "orders",
        &token,
    );
    verified.assert_code(0);
    let claims = verified.json();
    assert_eq!(
        claims["sub"],
        format!("{issuer}|{user}").as_str(),
        "{claims}"
    );
    assert_eq!(claims["provider"], "osf/cli/oidc", "{claims}");

    // A tampered id_token is inactive, and refused for exchange with the OAuth error shape.
    let (head, signature) = id_token.rsplit_once('.').expect("jwt");
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{head}.{flipped}{}", &signature[1..]);
    assert_eq!(introspect(&url, &api, &tampered), json!({"active": false}));
    let refused = post_form(
        &format!("{url}/token"),
        Some(&api),
        &[
            ("grant_type", GRANT),
            ("subject_token", &tampered),
            ("subject_token_type", JWT_TYPE),
            ("audience", "orders"),
        ],
    );
    assert_eq!(refused.status, 400, "{refused:?}");
    assert_eq!(refused.json()["error"], "invalid_request", "{refused:?}");
}
