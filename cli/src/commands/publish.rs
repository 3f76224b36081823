//! `hyperforge publish [--path DIR] [--bump patch|minor|major|X.Y.Z] [--dry-run] [--no-push]
//! [--wait D | --no-wait] [--allow-dirty]`: releases the package in DIR to its registry with a
//! token from auth-hub, then pushes the branch and the new tag to every forge.
//!
//! The registry's scope and every forge's scope are asked for in one request before anything
//! changes; a refused registry scope stops here (exit 3). The release itself (bump, verify,
//! commit, publish, tag) is [`crate::package::release`]'s transaction: when it fails the
//! repository is as it was. A push that fails after the registry accepted the package is
//! reported with the command that finishes the job (`hyperforge push --tags`), exit 1.
//! `--dry-run` prints the plan, asks the hub only `has_scope` (starting none), changes nothing.

use std::path::{Path, PathBuf};

use auth_hub_client::{AuthClient, AuthError, HubClient};
use auth_hub_protocol::{Secret, SecretScope};
use clap::Args;
use serde_json::{json, Value};

use crate::commands::forge_access::{self, Access, ForgeFailure};
use crate::commands::push::{self, push_forge_refs, ForgePush, Head};
use crate::commands::wait::WaitArgs;
use crate::commands::Context;
use crate::config::{RepoConfig, UserConfig};
use crate::error::{CliError, ErrorKind};
use crate::package::refusal::RegistryReason;
use crate::package::release::{self, Plan, ReleaseError, Released};
use crate::package::{manifest, registry, Bump, ManifestError, Package, Registry};
use crate::progress::Progress;
use crate::project::{self, Project, ProjectForge};

/// Arguments of `publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The package's directory (holding Cargo.toml, package.json or pyproject.toml).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub path: PathBuf,
    /// The new version: patch, minor, major, or exactly X.Y.Z.
    #[arg(long, value_name = "patch|minor|major|X.Y.Z", default_value = "patch", value_parser = parse_bump)]
    pub bump: Bump,
    /// Print the plan (versions, registry, secret paths and whether each is granted now, the
    /// commands it would run); change nothing, fetch no token.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not push the branch and the tag to the forges afterwards.
    #[arg(long)]
    pub no_push: bool,
    /// `--wait` / `--no-wait`: how long to wait for approval of the registry and forge scopes.
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Release even when the work tree has uncommitted changes (only the manifest and lock
    /// file are committed).
    #[arg(long)]
    pub allow_dirty: bool,
}

fn parse_bump(text: &str) -> Result<Bump, String> {
    text.parse()
        .map_err(|error: crate::package::version::VersionError| error.to_string())
}

/// What `publish` works on, all decided before anything changes.
struct Target {
    plan: Plan,
    project: Project,
    /// The branch pushed afterwards; `None` with `--no-push`.
    branch: Option<String>,
    /// The registry's scope first, then each forge's (none with `--no-push`).
    scopes: Vec<SecretScope>,
}

impl Target {
    fn registry_scope(&self) -> SecretScope {
        self.plan.token_path.parent_scope()
    }

    /// The forges pushed to afterwards.
    fn forges(&self) -> &[ProjectForge] {
        if self.branch.is_some() {
            &self.project.forges
        } else {
            &[]
        }
    }

    /// The `--json` fields every outcome shares.
    fn json(&self) -> serde_json::Map<String, Value> {
        let plan = &self.plan;
        let mut map = serde_json::Map::new();
        map.insert("package".into(), json!(plan.package.name));
        map.insert("ecosystem".into(), json!(plan.package.ecosystem.name()));
        map.insert("registry".into(), json!(plan.registry.name));
        map.insert("registry_url".into(), json!(plan.registry.url));
        map.insert(
            "old_version".into(),
            json!(plan.package.version.to_string()),
        );
        map.insert("version".into(), json!(plan.version.to_string()));
        map.insert("tag".into(), json!(plan.tag));
        map.insert("token_path".into(), json!(plan.token_path.as_str()));
        map
    }
}

/// Runs `publish`.
///
/// # Errors
/// Usage and config errors (2); a refused registry scope (3); a failed release, with the
/// repository as it was, or a failed push after the publish (1).
pub async fn run(ctx: &Context, args: PublishArgs) -> Result<(), CliError> {
    let target = target(&args).await?;
    let reason = format!(
        "hyperforge publish {} {}",
        target.plan.package.name, target.plan.version
    );
    if args.dry_run {
        return dry_run(ctx, &target, reason).await;
    }

    let client = forge_access::connect_forges(reason).await?;
    let decisions = forge_access::decide(&client, &target.scopes, args.wait.duration()).await?;
    // A refused forge scope does not stop the publish: that forge's push reports it after.
    if let Some(failure) = decisions.refusal(&target.registry_scope()) {
        return Err(refused(ctx, &target, &failure));
    }
    let token = fetch_token(ctx, &client, &target).await?;

    let progress = Progress::new(&ctx.out);
    let task = progress.task(&format!(
        "{} {}",
        target.plan.package.name, target.plan.version
    ));
    let released = release::release(
        &target.project.repo,
        &target.plan,
        &token,
        args.allow_dirty,
        &task,
    )
    .await;
    drop(task);
    drop(token);
    let released = match released {
        Ok(released) => released,
        Err(error) => {
            progress.finish();
            return Err(failed(ctx, &target, error));
        }
    };
    if !ctx.out.is_json() {
        let short = released.commit.get(..12).unwrap_or(&released.commit);
        progress.suspend(|| {
            ctx.out.line(&format!(
                "✓ Published {} v{} to {}\n✓ Tagged {} ({short})",
                target.plan.package.name,
                target.plan.version,
                target.plan.registry.name,
                released.tag
            ))
        })?;
    }

    let mut pushes = Vec::new();
    if let Some(branch) = &target.branch {
        let head = Head {
            branch: branch.clone(),
            commit: released.commit.clone(),
        };
        let tags = [released.tag.clone()];
        let pushed = format!("{} and {}", head.branch, released.tag);
        for forge in target.forges() {
            let task = progress.task(&forge.forge.name);
            let outcome = push_forge_refs(
                &client,
                &target.project,
                forge,
                &head,
                false,
                &tags,
                &decisions,
                &task,
            )
            .await;
            drop(task);
            if !ctx.out.is_json() {
                push::report(ctx, &progress, &outcome, &pushed)?;
            }
            pushes.push(outcome);
        }
    }
    progress.finish();
    finish(ctx, &target, &released, &pushes)
}

/// Reads the package, its repository, registry and forges, and makes the plan.
async fn target(args: &PublishArgs) -> Result<Target, CliError> {
    // Absolute, so the plan, the tag rule and the messages name real directories.
    let dir = std::fs::canonicalize(&args.path).map_err(|error| {
        CliError::usage(format!("cannot open {}: {error}", args.path.display()))
    })?;
    let mut packages = manifest::read(&dir).map_err(manifest_error)?;
    let package = match packages.len() {
        1 => packages.remove(0),
        0 => {
            return Err(CliError::usage(format!(
                "no package to publish in {}",
                dir.display()
            )))
        }
        _ => return Err(several_packages(&dir, &packages)),
    };
    let repo = project::open_repo(&package.dir).await?;
    let user = UserConfig::load()?;
    let config = match RepoConfig::load(repo.root())? {
        Some(config) => config,
        None if args.no_push => RepoConfig::default(),
        None => {
            return Err(CliError::usage(format!(
                "{} has no .hyperforge/config.toml, so there is no forge to push to",
                repo.root().display()
            ))
            .with_hint(format!(
                "run `hyperforge init --path {} --forges github --org YOUR-ORG`, or publish \
                 without pushing (`--no-push`)",
                auth_hub_protocol::command::shell_quote(&repo.root().to_string_lossy())
            )))
        }
    };
    let registry = registry_for(&package, &config, &user)?;
    let shared = shared_repository(repo.root(), &package);
    let plan = Plan::new(package, registry, &args.bump, shared)
        .map_err(|error| CliError::usage(error.to_string()))?;
    let project = Project::resolve(repo, config, &user).await?;
    let branch = if args.no_push {
        None
    } else {
        let branch = project
            .repo
            .current_branch()
            .await
            .map_err(project::git_error)?
            .ok_or_else(|| {
                CliError::usage("HEAD is detached: there is no branch to push the release to")
                    .with_hint("check out a branch first (`git switch NAME`), or pass --no-push")
            })?;
        Some(branch)
    };
    let mut scopes = vec![plan.token_path.parent_scope()];
    if branch.is_some() {
        for scope in forge_access::scopes_of(project.forges.iter()) {
            if !scopes.iter().any(|known| known.as_str() == scope.as_str()) {
                scopes.push(scope);
            }
        }
    }
    Ok(Target {
        plan,
        project,
        branch,
        scopes,
    })
}

/// The registry `package` goes to: the repository's `[package] registry`, else the built-in
/// one of its ecosystem.
fn registry_for(
    package: &Package,
    config: &RepoConfig,
    user: &UserConfig,
) -> Result<Registry, CliError> {
    registry::resolve(package.ecosystem, config.package.as_ref(), config, user)
}

/// True when the package's repository holds other packages too: a Cargo workspace member, or a
/// package below the repository's top level. Its tag then names it.
fn shared_repository(root: &Path, package: &Package) -> bool {
    let canonical = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    package.lock_dir != package.dir || canonical(root) != canonical(&package.dir)
}

/// A manifest problem as a usage error (a file the user can fix), or a failure to read one.
fn manifest_error(error: ManifestError) -> CliError {
    match error {
        ManifestError::Read { .. } => CliError::failure(error.to_string()),
        _ => CliError::usage(error.to_string()),
    }
}

/// `--path` names a Cargo workspace root: one package at a time here.
fn several_packages(dir: &Path, packages: &[Package]) -> CliError {
    let names: Vec<&str> = packages
        .iter()
        .map(|package| package.name.as_str())
        .collect();
    let example = packages
        .iter()
        .find(|package| package.dir != dir)
        .map_or_else(|| dir.to_owned(), |package| package.dir.clone());
    CliError::usage(format!(
        "{} holds {} packages ({}): publish one at a time",
        dir.display(),
        packages.len(),
        names.join(", ")
    ))
    .with_hint(format!(
        "run `hyperforge workspace publish --path {}` for all of them in dependency order, or \
         `hyperforge publish --path {}` for one",
        auth_hub_protocol::command::shell_quote(&dir.to_string_lossy()),
        auth_hub_protocol::command::shell_quote(&example.to_string_lossy())
    ))
}

/// The registry token, from the hub (its scope is granted by now).
async fn fetch_token(
    ctx: &Context,
    client: &HubClient,
    target: &Target,
) -> Result<Secret, CliError> {
    let path = &target.plan.token_path;
    match client.get_secret(path).await {
        Ok(secret) => Ok(secret),
        Err(AuthError::AccessDenied { .. }) => Err(refused(
            ctx,
            target,
            &ForgeFailure::Denied {
                scope: path.parent_scope(),
            },
        )),
        Err(AuthError::Timeout { .. }) => Err(refused(
            ctx,
            target,
            &ForgeFailure::TimedOut {
                scope: path.parent_scope(),
            },
        )),
        Err(error) => {
            let error = CliError::from(error);
            print_json_error(ctx, target, error.message())?;
            Err(error)
        }
    }
}

/// A refused registry scope: the design's lines on stderr, exit 3, nothing changed.
fn refused(ctx: &Context, target: &Target, failure: &ForgeFailure) -> CliError {
    for line in failure.lines(&target.plan.registry.name) {
        crate::output::note(&line);
    }
    let message = format!(
        "not published: no access to the {} token ({})",
        target.plan.registry.name,
        failure.reason()
    );
    if let Err(error) = print_json_error(ctx, target, &message) {
        return error;
    }
    CliError::new(ErrorKind::Denied, message)
}

/// A failed release, the repository put back: the error with what to do next.
fn failed(ctx: &Context, target: &Target, error: ReleaseError) -> CliError {
    let plan = &target.plan;
    let hint = match &error {
        ReleaseError::Dirty(_) => {
            Some("commit or stash them first, or pass --allow-dirty".to_owned())
        }
        ReleaseError::MissingTool { hint, .. } => Some((*hint).to_owned()),
        ReleaseError::TokenRefused(path) => Some(format!(
            "store a token the registry accepts: `printf %s \"$TOKEN\" | hyperforge auth put {path}`"
        )),
        ReleaseError::Registry(RegistryReason::VersionExists) => Some(format!(
            "publish a later version: `hyperforge publish --bump minor`, or `--bump X.Y.Z` above {}",
            plan.version
        )),
        _ => None,
    };
    let message = match &error {
        ReleaseError::AfterPublish(_) => {
            format!("{} v{}: {error}", plan.package.name, plan.version)
        }
        _ => format!(
            "{} v{} not published: {error} (the repository is as it was)",
            plan.package.name, plan.version
        ),
    };
    let error = CliError::failure(message);
    if let Err(output) = print_json_error(ctx, target, error.message()) {
        return output;
    }
    match hint {
        Some(hint) => error.with_hint(hint),
        None => error,
    }
}

/// With `--json`, the one object for a run that ended before the pushes.
fn print_json_error(ctx: &Context, target: &Target, message: &str) -> Result<(), CliError> {
    if !ctx.out.is_json() {
        return Ok(());
    }
    let mut map = target.json();
    map.insert("commit".into(), Value::Null);
    map.insert("pushes".into(), json!([]));
    map.insert("error".into(), json!(message));
    ctx.out.json(&Value::Object(map))
}

/// The `--json` object of a published package and the exit: a failed push is a failure (1),
/// with the command that finishes the job.
fn finish(
    ctx: &Context,
    target: &Target,
    released: &Released,
    pushes: &[ForgePush],
) -> Result<(), CliError> {
    let failed: Vec<&str> = pushes
        .iter()
        .filter(|push| push.result.is_err())
        .map(|push| push.forge.as_str())
        .collect();
    let error = (!failed.is_empty()).then(|| {
        format!(
            "published {} v{}, but the push failed for {} of {} forges: {}",
            target.plan.package.name,
            target.plan.version,
            failed.len(),
            pushes.len(),
            failed.join(", ")
        )
    });
    if ctx.out.is_json() {
        let mut map = target.json();
        map.insert("commit".into(), json!(released.commit));
        map.insert(
            "pushes".into(),
            json!(pushes.iter().map(ForgePush::json).collect::<Vec<_>>()),
        );
        map.insert("error".into(), json!(error));
        ctx.out.json(&Value::Object(map))?;
    }
    match error {
        None => Ok(()),
        Some(message) => Err(CliError::failure(message).with_hint(format!(
            "the package and the release commit and tag are made; finish with `hyperforge push \
             --tags --path {}`",
            auth_hub_protocol::command::shell_quote(&target.project.repo.root().to_string_lossy())
        ))),
    }
}

/// `publish --dry-run`: the plan, whether each scope is granted now, and what would be refused
/// already (a dirty work tree, an existing tag). No token, no hub started, nothing changed.
async fn dry_run(ctx: &Context, target: &Target, reason: String) -> Result<(), CliError> {
    let plan = &target.plan;
    let access = forge_access::preview(reason, &target.scopes).await;
    let access_of = |scope: &SecretScope| {
        access
            .iter()
            .find(|(known, _)| known.as_str() == scope.as_str())
            .map(|(_, state)| state.clone())
            .unwrap_or_else(|| Access::Unknown("not asked".to_owned()))
    };
    let refusal = match release::check(&target.project.repo, plan, false).await {
        Ok(()) => None,
        Err(error) => Some(error.to_string()),
    };
    let registry_scope = target.registry_scope();
    let registry_access = access_of(&registry_scope);
    let commands = plan.commands();
    let project = &target.project;
    let forges: Vec<Value> = target
        .forges()
        .iter()
        .map(|forge| {
            let planned = forge_access::secret_path(forge).and_then(|(org, path)| {
                let url = forge_access::transfer_url(forge, &org, &project.name())?;
                Ok((path.parent_scope(), url))
            });
            match planned {
                Ok((scope, url)) => {
                    let state = access_of(&scope);
                    json!({"forge": forge.forge.name, "url": url, "scope": scope.as_str(),
                           "access": state.name(), "describe": state.describe(&scope),
                           "error": null})
                }
                Err(failure) => json!({"forge": forge.forge.name, "url": null, "scope": null,
                                       "access": null, "describe": null,
                                       "error": failure.reason()}),
            }
        })
        .collect();

    if ctx.out.is_json() {
        let mut map = target.json();
        map.insert("dry_run".into(), json!(true));
        map.insert("scope".into(), json!(registry_scope.as_str()));
        map.insert("access".into(), json!(registry_access.name()));
        map.insert("branch".into(), json!(target.branch));
        map.insert("commands".into(), json!(commands));
        map.insert("refusal".into(), json!(refusal));
        map.insert("pushes".into(), json!(forges));
        return ctx.out.json(&Value::Object(map));
    }
    let mut lines = vec![
        format!(
            "would publish {} {} → {} to {} ({})",
            plan.package.name,
            plan.package.version,
            plan.version,
            plan.registry.name,
            plan.registry
                .url
                .as_deref()
                .unwrap_or("the public registry")
        ),
        format!(
            "  token: {} ({})",
            plan.token_path,
            registry_access.describe(&registry_scope)
        ),
        format!("  tag: {}", plan.tag),
    ];
    if let Some(refusal) = &refusal {
        lines.push(format!("  would stop now: {refusal}"));
    }
    lines.push("  would run:".to_owned());
    lines.extend(commands.iter().map(|command| format!("    {command}")));
    if commands.iter().any(|command| command.contains("$TMP")) {
        lines.push("    ($TMP: a private temporary directory, removed afterwards)".to_owned());
    }
    match &target.branch {
        None => lines.push("  would not push (--no-push)".to_owned()),
        Some(branch) => {
            for forge in &forges {
                let name = forge["forge"].as_str().unwrap_or("?");
                match (forge["url"].as_str(), forge["describe"].as_str()) {
                    (Some(url), Some(describe)) => lines.push(format!(
                        "  would push {branch} and {} to {name}: {url} ({describe})",
                        plan.tag
                    )),
                    _ => lines.push(format!(
                        "  would not push to {name}: {}",
                        forge["error"].as_str().unwrap_or("?")
                    )),
                }
            }
        }
    }
    ctx.out.line(&lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        args: PublishArgs,
    }

    fn parse(args: &[&str]) -> Result<PublishArgs, clap::Error> {
        let mut argv = vec!["publish"];
        argv.extend_from_slice(args);
        Probe::try_parse_from(argv).map(|probe| probe.args)
    }

    #[test]
    fn bump_defaults_to_patch_and_takes_an_exact_version() {
        assert_eq!(parse(&[]).expect("defaults").bump, Bump::Patch);
        assert_eq!(
            parse(&["--bump", "minor"]).expect("minor").bump,
            Bump::Minor
        );
        assert!(matches!(
            parse(&["--bump", "2.0.0"]).expect("exact").bump,
            Bump::Exact(_)
        ));
        assert!(parse(&["--bump", "sideways"]).is_err());
        assert!(parse(&["--wait", "5m", "--no-wait"]).is_err());
    }

    /// Crate `name` 0.1.0 in `dir`, its lock file in `lock_dir`.
    fn crate_at(name: &str, dir: &str, lock_dir: &str) -> Package {
        Package {
            dir: PathBuf::from(dir),
            ecosystem: crate::package::Ecosystem::Cargo,
            name: name.to_owned(),
            version: crate::package::Version {
                major: 0,
                minor: 1,
                patch: 0,
                suffix: String::new(),
            },
            dependencies: Vec::new(),
            lock_dir: PathBuf::from(lock_dir),
        }
    }

    #[test]
    fn a_workspace_root_is_a_usage_error_naming_the_way_out() {
        let member = |name: &str, dir: &str| crate_at(name, dir, "/w");
        let error = several_packages(
            Path::new("/w"),
            &[member("wa", "/w/wa"), member("wb", "/w/wb")],
        );
        assert_eq!(error.kind(), ErrorKind::Usage);
        assert_eq!(
            error.message(),
            "/w holds 2 packages (wa, wb): publish one at a time"
        );
        let hint = error.hint().expect("hint");
        assert!(
            hint.contains("hyperforge workspace publish --path /w"),
            "{hint}"
        );
        assert!(hint.contains("hyperforge publish --path /w/wa"), "{hint}");
    }

    #[test]
    fn members_and_subdirectories_are_shared_repositories() {
        let package = |dir: &str, lock: &str| crate_at("wa", dir, lock);
        let root = Path::new("/nonexistent/r");
        assert!(!shared_repository(
            root,
            &package("/nonexistent/r", "/nonexistent/r")
        ));
        assert!(shared_repository(
            root,
            &package("/nonexistent/r/wa", "/nonexistent/r")
        ));
        assert!(shared_repository(
            root,
            &package("/nonexistent/r/js", "/nonexistent/r/js")
        ));
    }
}
