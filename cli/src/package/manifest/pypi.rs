//! `pyproject.toml` (PEP 621): `[project] name`, a static `version`, and the names of the
//! PEP 508 requirements in `dependencies`.

use toml_edit::Item;

use super::{push_unique, Manifest, ManifestError, Source};
use crate::package::Ecosystem;

pub(crate) fn parse(source: &Source<'_>) -> Result<Manifest, ManifestError> {
    let document = source.toml()?;
    let Some(project_item) = document.get("project") else {
        let hint = if document
            .get("tool")
            .and_then(|tool| tool.get("poetry"))
            .is_some()
        {
            " (a [tool.poetry] project: move name and version to [project], PEP 621)"
        } else {
            ""
        };
        return Err(source.invalid(
            None,
            format!("no [project] table: hyperforge publishes PEP 621 projects{hint}"),
        ));
    };
    let Some(project) = project_item.as_table_like() else {
        return Err(source.invalid(
            project_item.span(),
            format!(
                "`project` must be a table, found {}",
                project_item.type_name()
            ),
        ));
    };
    let name_item = project
        .get("name")
        .ok_or_else(|| source.invalid(project_item.span(), "no `name` in [project]".into()))?;
    let name = source.name(
        Ecosystem::Pypi,
        source.toml_string(name_item, "project.name")?,
        name_item.span(),
    )?;
    let dynamic_version = project
        .get("dynamic")
        .and_then(Item::as_array)
        .is_some_and(|dynamic| dynamic.iter().any(|v| v.as_str() == Some("version")));
    if dynamic_version {
        return Err(source.invalid(
            project.get("dynamic").and_then(Item::span),
            "the version is dynamic (`dynamic = [\"version\"]`): set a static version in [project] to publish with hyperforge".into(),
        ));
    }
    let version_item = project.get("version").ok_or_else(|| {
        source.invalid(
            project_item.span(),
            "no `version` in [project]: set a static version, e.g. version = \"0.1.0\"".into(),
        )
    })?;
    let version = source.version(
        source.toml_string(version_item, "project.version")?,
        version_item.span(),
    )?;
    let mut dependencies = Vec::new();
    if let Some(item) = project.get("dependencies") {
        let not_list = || {
            source.invalid(
                item.span(),
                "`project.dependencies` must be a list of strings".into(),
            )
        };
        for value in item.as_array().ok_or_else(not_list)?.iter() {
            let requirement = value.as_str().ok_or_else(not_list)?;
            let name = requirement_name(requirement);
            source
                .name(Ecosystem::Pypi, name, value.span())
                .map_err(|_| {
                    source.invalid(
                        value.span(),
                        format!(
                            "cannot read a package name from the requirement `{}`",
                            requirement.escape_debug()
                        ),
                    )
                })?;
            push_unique(&mut dependencies, name);
        }
    }
    Ok(Manifest {
        name: Some(name),
        version: Some(version),
        dependencies,
        members: Vec::new(),
    })
}

/// The name a PEP 508 requirement starts with: everything before its first `<>=!~;[ (@`.
pub(crate) fn requirement_name(requirement: &str) -> &str {
    let requirement = requirement.trim_start();
    let end = requirement
        .find(|c: char| "<>=!~;[ (@\t".contains(c))
        .unwrap_or(requirement.len());
    &requirement[..end]
}
