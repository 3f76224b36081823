//! `package.json`: `name`, `version`, and the packages a registry needs first: the keys of
//! `dependencies`, `peerDependencies` and `optionalDependencies` (not `devDependencies`).

use super::{push_unique, Manifest, ManifestError, Source};
use crate::package::json;
use crate::package::Ecosystem;

/// The dependency objects whose packages must be published first.
const DEPENDENCY_KEYS: [&str; 3] = ["dependencies", "peerDependencies", "optionalDependencies"];

pub(crate) fn parse(source: &Source<'_>) -> Result<Manifest, ManifestError> {
    let value = source.json()?;
    let Some(object) = value.as_object() else {
        return Err(source.invalid(None, "the top level must be an object".into()));
    };
    let span =
        |key: &str| json::string_span(source.text, &[key]).or_else(|| key_span(source.text, key));
    let string = |key: &str| match object.get(key) {
        None => Err(source.invalid(None, format!("no `{key}`"))),
        Some(serde_json::Value::String(text)) => Ok(text.as_str()),
        Some(_) => Err(source.invalid(span(key), format!("`{key}` must be a string"))),
    };
    let name = source.name(Ecosystem::Npm, string("name")?, span("name"))?;
    let version = source.version(string("version")?, span("version"))?;
    let mut dependencies = Vec::new();
    for key in DEPENDENCY_KEYS {
        match object.get(key) {
            None => {}
            // In the order written (serde_json's map is sorted).
            Some(serde_json::Value::Object(_)) => {
                for (dependency, _, _) in json::object_entries(source.text, &[key]) {
                    push_unique(&mut dependencies, &dependency);
                }
            }
            Some(_) => {
                return Err(source.invalid(
                    key_span(source.text, key),
                    format!("`{key}` must be an object"),
                ))
            }
        }
    }
    Ok(Manifest {
        name: Some(name),
        version: Some(version),
        dependencies,
        members: Vec::new(),
    })
}

/// Where the top-level `key` is written, roughly: the first `"key"` in the text.
fn key_span(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let quoted = format!("\"{key}\"");
    text.find(&quoted).map(|at| at..at + quoted.len())
}
