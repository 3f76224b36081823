//! `workspace publish --dry-run`: the whole run shown, with each scope's state now, and nothing
//! fetched, started or changed.

use auth_hub_protocol::SecretScope;
use serde_json::{json, Value};

use super::plan::{project, push_problem, repositories_of, scopes_of};
use super::report::{package_json, repositories_json};
use super::{failed, Status, Unit};
use crate::commands::forge_access::{self, Access};
use crate::commands::workspace::packages::{Contents, Workspace};
use crate::commands::Context;
use crate::error::CliError;

/// `--dry-run`: the order, each package's old → new version, registry, token path and its
/// scope's state now, the requirement rewrites, and the repositories that would be pushed. No
/// token is fetched, no hub is started, nothing is changed.
pub(super) async fn dry_run(
    ctx: &Context,
    workspace: &Workspace,
    units: &[Unit],
    push: bool,
    reason: String,
) -> Result<(), CliError> {
    let statuses = vec![Status::Planned; units.len()];
    let pushed = if push {
        repositories_of(units, &statuses)
    } else {
        Vec::new()
    };
    let scopes = scopes_of(workspace, units, &statuses, &pushed);
    let access = forge_access::preview(reason, &scopes).await;
    let state_of = |scope: &SecretScope| -> Access {
        access
            .iter()
            .find(|(known, _)| known.as_str() == scope.as_str())
            .map_or_else(
                || Access::Unknown("not asked".to_owned()),
                |(_, state)| state.clone(),
            )
    };
    let mut problems = 0;
    let mut packages_json = Vec::new();
    if !ctx.out.is_json() {
        ctx.out.line(&format!(
            "Would publish {} packages, in this order:",
            units.iter().filter(|unit| unit.plan.is_ok()).count()
        ))?;
    }
    for (position, unit) in units.iter().enumerate() {
        let package = &workspace.packages[unit.package];
        let repo_name = &workspace.repositories[unit.repo].name;
        let plan = match &unit.plan {
            Ok(plan) => plan,
            Err(error) => {
                problems += 1;
                if ctx.out.is_json() {
                    let status = failed(error.clone(), false);
                    packages_json.push(package_json(workspace, units, unit, &status));
                } else {
                    crate::output::note(&format!("✗ {}: {error}", package.name));
                }
                continue;
            }
        };
        let scope = plan.token_path.parent_scope();
        let state = state_of(&scope);
        if ctx.out.is_json() {
            let mut value = package_json(workspace, units, unit, &Status::Planned);
            if let Value::Object(map) = &mut value {
                map.insert("token_path".into(), json!(plan.token_path.as_str()));
                map.insert("scope".into(), json!(scope.as_str()));
                map.insert("access".into(), json!(state.name()));
                map.insert(
                    "requirement_updates".into(),
                    plan.requirement_updates
                        .iter()
                        .map(
                            |(name, version)| json!({"name": name, "version": version.to_string()}),
                        )
                        .collect(),
                );
            }
            packages_json.push(value);
            continue;
        }
        ctx.out.line(&format!(
            "  {}. {} {} → {} to {}, tag {} in {repo_name}",
            position + 1,
            package.name,
            package.version,
            plan.version,
            plan.registry.name,
            plan.tag
        ))?;
        ctx.out.line(&format!(
            "     token {}: {}",
            plan.token_path,
            state.describe(&scope)
        ))?;
        for (dependency, version) in &plan.requirement_updates {
            ctx.out
                .line(&format!("     requirement on {dependency} → {version}"))?;
        }
    }

    let mut pushes_json = Vec::new();
    for &repo in &pushed {
        let Some(project) = project(workspace, repo) else {
            continue;
        };
        let name = &workspace.repositories[repo].name;
        let problem = push_problem(workspace, repo).await;
        let forges: Vec<(String, Option<SecretScope>)> = project
            .forges
            .iter()
            .map(|forge| {
                let scope = forge_access::secret_path(forge)
                    .ok()
                    .map(|(_, path)| path.parent_scope());
                (forge.forge.name.clone(), scope)
            })
            .collect();
        if ctx.out.is_json() {
            pushes_json.push(json!({
                "repo": name,
                "error": problem,
                "forges": forges.iter().map(|(forge, scope)| json!({
                    "forge": forge,
                    "scope": scope.as_ref().map(SecretScope::as_str),
                    "access": scope.as_ref().map(|scope| state_of(scope).name()),
                })).collect::<Vec<_>>(),
            }));
            continue;
        }
        if let Some(problem) = problem {
            problems += 1;
            crate::output::note(&format!("✗ {name}: {problem}"));
            continue;
        }
        let described: Vec<String> = forges
            .iter()
            .map(|(forge, scope)| match scope {
                Some(scope) => format!("{forge} ({})", state_of(scope).describe(scope)),
                None => forge.clone(),
            })
            .collect();
        ctx.out.line(&format!(
            "Would push {name} (branch and tags) to {}",
            described.join(", ")
        ))?;
    }
    problems += workspace
        .repositories
        .iter()
        .filter(|repository| matches!(repository.contents, Contents::Broken(_)))
        .count();

    if ctx.out.is_json() {
        ctx.out.json(&json!({
            "dry_run": true,
            "scopes": access.iter().map(|(scope, state)| json!({
                "scope": scope.as_str(),
                "access": state.name(),
            })).collect::<Vec<_>>(),
            "packages": packages_json,
            "pushes": pushes_json,
            "repos": repositories_json(workspace),
        }))?;
    }
    if problems > 0 {
        return Err(CliError::failure(format!(
            "{problems} problems would stop part of this publish"
        )));
    }
    Ok(())
}
