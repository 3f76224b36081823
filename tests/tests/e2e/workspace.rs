//! `hyperforge workspace` over 30 repositories in 3 orgs (alice and acme-corp granted, bob
//! denied by policy): one access request for the distinct scopes, one block of decisions, every
//! granted repository pushed, every bob repository reported as failed; `workspace status` lists
//! them all and skips `target/`, `node_modules/` and hidden directories.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use auth_hub_tests::forge_fixture::ForgeWorld;

const ORGS: [(&str, &str); 3] = [
    ("acme-corp", "acme-lib"),
    ("alice", "alice-repo"),
    ("bob", "bob-lib"),
];
const PER_ORG: usize = 10;
const SCOPES: [&str; 3] = ["github/acme-corp/*", "github/alice/*", "github/bob/*"];

/// Every `(org, repo name)` in path order.
fn repos() -> Vec<(&'static str, String)> {
    ORGS.iter()
        .flat_map(|(org, stem)| (0..PER_ORG).map(move |i| (*org, format!("{stem}-{i:02}"))))
        .collect()
}

/// The workspace: 30 initialised repositories under `ws/`, bare repositories and tokens on the
/// server, alice and acme-corp granted, bob denied by policy; plus decoys that must be skipped.
fn workspace() -> (ForgeWorld, PathBuf) {
    let hub_config = r#"
[[policy.rule]]
scope = "github/bob/*"
action = "deny"
"#;
    let world = ForgeWorld::start(hub_config);
    let ws = world.dir().join("ws");
    for (org, _) in ORGS {
        world.put_token("github", org, &format!("tok-ws-{org}-5d1e"));
    }
    world.grant("github/alice/*");
    world.grant("github/acme-corp/*");
    for (org, name) in repos() {
        let repo = ws.join(&name);
        world.init_repo_at(&repo);
        world.init(&repo, "github", org);
        world.server.create_bare("github", org, &name);
    }
    // Repositories hidden where discovery must not look.
    let config = fs::read(ws.join("acme-lib-00/.hyperforge/config.toml")).unwrap();
    for decoy in ["target/ghost", "node_modules/ghost", ".hidden/ghost"] {
        let path = ws.join(decoy);
        world.init_repo_at(&path);
        fs::create_dir_all(path.join(".hyperforge")).unwrap();
        fs::write(path.join(".hyperforge/config.toml"), &config).unwrap();
    }
    (world, ws)
}

fn arg(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn workspace_push_asks_once_and_pushes_the_granted_repositories() {
    let (world, ws) = workspace();
    let audit_before = world.audit_lines().len();
    let path = arg(&ws);

    let started = Instant::now();
    let run = world.run(&ws, &["workspace", "push", "--path", &path]);
    let workspace_time = started.elapsed();
    run.assert_code(1);
    let out = &run.stdout;
    let all = format!("{}\n{}", run.stdout, run.stderr);

    // One request block listing each distinct scope once, in first-seen (path) order.
    assert_eq!(
        out.matches("Requesting access to:").count(),
        1,
        "one request block:\n{out}"
    );
    let block: Vec<&str> = out
        .lines()
        .skip_while(|l| l.trim() != "Requesting access to:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(block, SCOPES, "the requested scopes:\n{out}");
    for decision in ["✓ Granted: github/acme-corp/*", "✓ Granted: github/alice/*"] {
        assert_eq!(
            out.lines().filter(|l| l.trim() == decision).count(),
            1,
            "{decision:?} once in:\n{out}"
        );
    }
    // Every failure is on stderr, once, naming the forge; the refused scope once, with the
    // command that grants it.
    let err = &run.stderr;
    for once in [
        "✗ Denied: github/bob/*",
        "  Run: hyperforge auth grant 'github/bob/*'",
    ] {
        assert_eq!(
            err.lines().filter(|l| *l == once).count(),
            1,
            "{once:?} once in:\n{err}"
        );
    }
    assert!(!out.contains("✗"), "no failure on stdout:\n{out}");
    assert!(err.contains("error: 10 of 30 repositories failed"), "{err}");

    for (org, name) in repos() {
        if org == "bob" {
            let line = format!("✗ Failed: {name} (github: access denied)");
            assert_eq!(
                err.lines().filter(|l| *l == line).count(),
                1,
                "{line:?} once in:\n{err}"
            );
            assert_eq!(world.server.head_of("github", org, &name, "main"), None);
        } else {
            assert!(
                out.contains(&format!("Pushing {name}... ✓")),
                "{name} pushed in:\n{out}"
            );
            let head = world.head(&ws.join(&name));
            assert_eq!(
                world.server.head_of("github", org, &name, "main"),
                Some(head),
                "{org}/{name} landed"
            );
        }
    }
    assert!(!all.contains("ghost"), "decoys were skipped:\n{all}");

    // The hub decided each scope once: one batch, not one request per repository.
    let audit = world.audit_lines();
    let decisions: Vec<&serde_json::Value> = audit[audit_before..]
        .iter()
        .filter(|line| {
            matches!(
                line["event"].as_str(),
                Some("scope_granted" | "scope_denied" | "scope_pending" | "scope_timeout")
            )
        })
        .collect();
    for scope in SCOPES {
        assert_eq!(
            decisions.iter().filter(|l| l["scope"] == scope).count(),
            1,
            "one decision for {scope}: {decisions:#?}"
        );
    }
    assert_eq!(decisions.len(), SCOPES.len(), "{decisions:#?}");

    // For the closing note: the same pushes as a plain sequential `git push` loop.
    let helper = world.fixed_helper("plain", "tok-plain");
    let started = Instant::now();
    for (org, name) in repos().into_iter().filter(|(org, _)| *org != "bob") {
        world.server.create_bare("plain", org, &name);
        world.server.accept_token("plain", org, "tok-plain");
        let url = format!("{}/plain/{org}/{name}.git", world.server.base_url());
        world.git(
            &ws.join(&name),
            &[
                "-c",
                &format!("credential.helper={helper}"),
                "push",
                "--quiet",
                &url,
                "main",
            ],
        );
    }
    eprintln!(
        "workspace push of 30 repositories: {workspace_time:?}; sequential git push of the 20 granted: {:?}",
        started.elapsed()
    );
}

#[test]
fn workspace_push_json_reports_scopes_and_repositories() {
    let (world, ws) = workspace();
    let path = arg(&ws);
    let run = world.run(&ws, &["--json", "workspace", "push", "--path", &path]);
    run.assert_code(1);
    let json = run.json();
    let scopes = json["scopes"].as_array().expect("scopes");
    let listed: Vec<&str> = scopes.iter().filter_map(|s| s["scope"].as_str()).collect();
    assert_eq!(listed, SCOPES, "{json}");
    for scope in scopes {
        let granted = scope["scope"] != "github/bob/*";
        assert_eq!(scope["granted"], granted, "{json}");
    }
    let repos_json = json["repos"].as_array().expect("repos");
    assert_eq!(repos_json.len(), 30, "{json}");
    for (org, name) in repos() {
        let entry = repos_json
            .iter()
            .find(|r| r["repo"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} in {json}"));
        assert_eq!(entry["ok"], org != "bob", "{entry}");
        let forges = entry["forges"].as_array().expect("forges");
        assert_eq!(forges.len(), 1, "{entry}");
        assert_eq!(forges[0]["forge"], "github");
        assert_eq!(forges[0]["ok"], org != "bob");
        if org == "bob" {
            assert!(forges[0]["error"].is_string(), "{entry}");
        } else {
            assert!(forges[0]["error"].is_null(), "{entry}");
        }
    }
}

#[test]
fn workspace_status_lists_every_repository() {
    let (world, ws) = workspace();
    let path = arg(&ws);
    let run = world.run(&ws, &["--json", "workspace", "status", "--path", &path]);
    run.assert_code(0);
    let json = run.json();
    let list = json.as_array().expect("an array of repositories");
    let names: Vec<&str> = list.iter().filter_map(|r| r["repo"].as_str()).collect();
    let expected: Vec<String> = repos().into_iter().map(|(_, name)| name).collect();
    assert_eq!(names, expected, "sorted by path, decoys skipped");
    for entry in list {
        assert_eq!(entry["branch"], "main", "{entry}");
        assert_eq!(entry["dirty"], false, "{entry}");
        let forges = entry["forges"].as_array().expect("forges");
        assert_eq!(forges[0]["forge"], "github");
        assert_eq!(forges[0]["present"], true);
        assert_eq!(forges[0]["url_matches"], true);
    }
    // Asking for status makes no secret request.
    assert!(world.server.requests().is_empty());
}
