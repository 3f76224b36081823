//! `hyperforge workspace status`: `hyperforge status` for every repository of a workspace, with
//! a `[read/total]` progress line on a terminal.

use serde_json::Value;

use super::discover::{display_name, find_repositories};
use super::WorkspaceArgs;
use crate::commands::status::{collect, describe};
use crate::commands::Context;
use crate::config::UserConfig;
use crate::error::CliError;
use crate::progress::Progress;
use crate::project::Project;

/// Runs `workspace status`.
///
/// # Errors
/// The directory cannot be read or holds no repository; a failure (1) when a repository could
/// not be read (the others are still shown).
pub async fn run(ctx: &Context, args: WorkspaceArgs) -> Result<(), CliError> {
    let root = &args.path;
    let paths = find_repositories(root)
        .map_err(|error| CliError::usage(format!("cannot read {}: {error}", root.display())))?;
    let user = UserConfig::load()?;
    let mut statuses = Vec::with_capacity(paths.len());
    let mut failed = 0;
    let progress = Progress::new(&ctx.out).with_overall(
        u64::try_from(paths.len()).unwrap_or(u64::MAX),
        "repositories read",
    );
    for path in &paths {
        let name = display_name(root, path);
        let status = status_of(path, &user).await;
        progress.advance();
        match status {
            Ok(status) => {
                if ctx.out.is_json() {
                    let mut value = serde_json::to_value(&status)
                        .map_err(|error| CliError::failure(error.to_string()))?;
                    if let Value::Object(map) = &mut value {
                        map.insert("repo".to_owned(), Value::String(name));
                    }
                    statuses.push(value);
                } else {
                    let mut lines = describe(&status);
                    if let Some(header) = lines.first_mut() {
                        *header = header.replacen(&status.path, &name, 1);
                    }
                    progress.suspend(|| lines.iter().try_for_each(|line| ctx.out.line(line)))?;
                }
            }
            Err(error) => {
                failed += 1;
                if ctx.out.is_json() {
                    statuses.push(serde_json::json!({"repo": name, "error": error.message()}));
                } else {
                    progress.note(&format!("✗ {name}: {}", error.message()));
                }
            }
        }
    }
    progress.finish();
    if ctx.out.is_json() {
        ctx.out.json(&statuses)?;
    }
    if failed > 0 {
        return Err(CliError::failure(format!(
            "{failed} repositories could not be read"
        )));
    }
    Ok(())
}

async fn status_of(
    path: &std::path::Path,
    user: &UserConfig,
) -> Result<crate::commands::status::RepoStatus, CliError> {
    collect(&Project::open_with(path, user).await?, None).await
}
