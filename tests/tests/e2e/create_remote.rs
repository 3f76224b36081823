//! `hyperforge init --create-remote` against servers that follow the GitHub, Gitea and GitLab
//! REST APIs (`fake_forge::forge_api`; no forge server can be installed here): each token
//! comes from the hub by scope, an existing repository is reported and is not an error, and a
//! refused scope or token fails only that forge.

use auth_hub_tests::forge_fixture::ForgeWorld;
use auth_hub_tests::Run;
use fake_forge::forge_api::{FakeForge, FakeKind};

/// Three forges, one of each kind, with their API roots pointing at the fakes.
struct Forges {
    world: ForgeWorld,
    hub: FakeForge,
    tea: FakeForge,
    lab: FakeForge,
}

fn forges(hub_config: &str) -> Forges {
    let hub = FakeForge::start(FakeKind::Github, "tok-hub", "alice");
    let tea = FakeForge::start(FakeKind::Gitea, "tok-tea", "alice");
    let lab = FakeForge::start(FakeKind::Gitlab, "tok-lab", "alice");
    hub.add_org("acme");
    tea.add_org("acme");
    lab.add_org("acme");
    let extra = format!(
        "\n[forge.hub]\nkind = \"github\"\nurl = \"{}\"\napi_url = \"{}\"\n\
         \n[forge.tea]\nkind = \"gitea\"\nurl = \"{}\"\n\
         \n[forge.lab]\nkind = \"gitlab\"\nurl = \"{}\"\n",
        hub.origin(),
        hub.api_url(),
        tea.origin(),
        lab.origin(),
    );
    let world = ForgeWorld::start_with_user_config(hub_config, &extra);
    Forges {
        world,
        hub,
        tea,
        lab,
    }
}

impl Forges {
    fn tokens(&self, org: &str) {
        for (forge, token) in [("hub", "tok-hub"), ("tea", "tok-tea"), ("lab", "tok-lab")] {
            self.world.put_token(forge, org, token);
            self.world.grant(&format!("{forge}/{org}/*"));
        }
    }

    fn create(&self, repo: &std::path::Path, org: &str, extra: &[&str]) -> Run {
        let path = repo.display().to_string();
        let mut args = vec![
            "init",
            "--path",
            &path,
            "--forges",
            "hub,tea,lab",
            "--org",
            org,
            "--create-remote",
        ];
        args.extend_from_slice(extra);
        self.world.run(repo, &args)
    }
}

#[test]
fn creates_the_repository_on_every_kind_of_forge_then_reports_it_exists() {
    let f = forges("");
    f.tokens("alice");
    let repo = f.world.work_repo("tool");

    let run = f.create(
        &repo,
        "alice",
        &["--visibility", "public", "--description", "A tool"],
    );
    run.assert_code(0);
    for forge in ["hub", "tea", "lab"] {
        assert!(
            run.stdout.contains(&format!("{forge}: created alice/tool")),
            "{forge} created: {}",
            run.stdout
        );
    }
    for fake in [&f.hub, &f.tea, &f.lab] {
        assert_eq!(fake.repos(), [("alice".to_owned(), "tool".to_owned())]);
    }

    // Each API got the request its documentation describes.
    let github = f.hub.requests();
    let create = github
        .iter()
        .find(|r| r.method == "POST")
        .expect("a POST to GitHub");
    assert_eq!(create.path, "/user/repos");
    assert_eq!(create.header("authorization"), Some("Bearer tok-hub"));
    let body = create.body.as_ref().expect("JSON body");
    assert_eq!(body["name"], "tool");
    assert_eq!(body["private"], false);
    assert_eq!(body["description"], "A tool");

    let gitea = f.tea.requests();
    let create = gitea
        .iter()
        .find(|r| r.method == "POST")
        .expect("a POST to Gitea");
    assert_eq!(create.path, "/api/v1/user/repos");
    assert_eq!(create.header("authorization"), Some("token tok-tea"));

    let gitlab = f.lab.requests();
    let create = gitlab
        .iter()
        .find(|r| r.method == "POST")
        .expect("a POST to GitLab");
    assert_eq!(create.path, "/api/v4/projects");
    assert_eq!(create.header("private-token"), Some("tok-lab"));
    let body = create.body.as_ref().expect("JSON body");
    assert_eq!(body["path"], "tool");
    assert_eq!(body["visibility"], "public");
    assert!(body["namespace_id"].is_u64(), "namespace id: {body}");

    // Again: every forge says it exists; that is not an error.
    let again = f.create(&repo, "alice", &[]);
    again.assert_code(0);
    for forge in ["hub", "tea", "lab"] {
        assert!(
            again
                .stdout
                .contains(&format!("{forge}: alice/tool already exists")),
            "{forge}: {}",
            again.stdout
        );
    }
    for fake in [&f.hub, &f.tea, &f.lab] {
        assert_eq!(fake.repos().len(), 1);
    }
}

#[test]
fn an_org_gets_the_org_endpoints_and_private_by_default() {
    let f = forges("");
    f.tokens("acme");
    let repo = f.world.work_repo("lib");

    f.create(&repo, "acme", &[]).assert_code(0);
    let create = f
        .hub
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("a POST to GitHub");
    assert_eq!(create.path, "/orgs/acme/repos");
    assert_eq!(create.body.expect("JSON body")["private"], true);
    let create = f
        .tea
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .expect("a POST to Gitea");
    assert_eq!(create.path, "/api/v1/orgs/acme/repos");
    assert_eq!(f.lab.repos(), [("acme".to_owned(), "lib".to_owned())]);
}

#[test]
fn a_denied_scope_or_refused_token_fails_only_that_forge() {
    let f = forges("[[policy.rule]]\nscope = \"lab/*\"\naction = \"deny\"\n");
    f.world.put_token("hub", "alice", "tok-hub");
    f.world.grant("hub/alice/*");
    f.world.put_token("tea", "alice", "not-the-token");
    f.world.grant("tea/alice/*");
    let repo = f.world.work_repo("app");
    let config_before = std::fs::read(repo.join(".git/config")).unwrap();

    let run = f.create(&repo, "alice", &[]);
    run.assert_code(1);
    assert!(
        run.stdout.contains("hub: created alice/app"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("✗ Access denied to lab/alice/*")
            && run
                .stderr
                .contains("Run: hyperforge auth grant 'lab/alice/*'"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("✗ tea:"), "{}", run.stderr);
    assert!(!run.stderr.contains("not-the-token") && !run.stdout.contains("not-the-token"));
    assert!(f.tea.repos().is_empty());
    assert!(
        f.lab.requests().is_empty(),
        "a denied forge is never called"
    );
    // A failed creation leaves the repository as it was: no config, no remote, and the error
    // says so, with each forge's failure printed once.
    assert!(!repo.join(".hyperforge").exists(), "no config written");
    assert_eq!(
        std::fs::read(repo.join(".git/config")).unwrap(),
        config_before,
        "no remote added"
    );
    assert!(
        run.stderr
            .contains("remote creation failed for 2 of 3 forges: tea, lab"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("and the git remotes were left unchanged"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("✗ tea:").count(), 1, "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("✗ Access denied to lab/alice/*").count(),
        1,
        "{}",
        run.stderr
    );

    // Once the failures are fixed, the same command creates the rest and writes everything;
    // the repository already created on hub is reported, not created twice.
    f.world.put_token("tea", "alice", "tok-tea");
    f.world.hub.write_config("");
    f.world.put_token("lab", "alice", "tok-lab");
    f.world.grant("lab/alice/*");
    let again = wait_for_policy(&f, &repo);
    again.assert_code(0);
    assert!(
        again.stdout.contains("hub: alice/app already exists"),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("tea: created alice/app"),
        "{}",
        again.stdout
    );
    assert!(repo.join(".hyperforge/config.toml").is_file());
    assert_eq!(f.hub.repos().len(), 1);
}

/// Reruns the creation until the hub has reloaded its policy (it watches config.toml).
fn wait_for_policy(f: &Forges, repo: &std::path::Path) -> Run {
    auth_hub_tests::wait_until(std::time::Duration::from_secs(20), || {
        let run = f.create(repo, "alice", &["--no-wait"]);
        (!run.stderr.contains("Access denied to lab/alice/*")).then_some(run)
    })
    .expect("the hub reloads its policy")
}

#[test]
fn no_secret_is_requested_without_create_remote() {
    let f = forges("");
    let repo = f.world.work_repo("quiet");
    f.world.init(&repo, "hub,tea,lab", "alice");
    assert!(
        f.hub.requests().is_empty() && f.tea.requests().is_empty() && f.lab.requests().is_empty()
    );
    let events: Vec<_> = f
        .world
        .audit_lines()
        .into_iter()
        .filter(|event| {
            event["event"]
                .as_str()
                .is_some_and(|name| name.starts_with("scope") || name.starts_with("secret_read"))
        })
        .collect();
    assert!(events.is_empty(), "no secret request: {events:?}");
}
