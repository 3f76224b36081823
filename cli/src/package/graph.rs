//! A workspace's packages as a dependency graph: the order they publish in (each after every
//! workspace package it depends on), the cycle that makes an order impossible, and the packages
//! `--package NAME … [--deps]` selects.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::names::comparable;
use super::Package;

/// A dependency cycle, named in order (`wa → wb → wa`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle: {}", .0.join(" → "))]
pub struct Cycle(pub Vec<String>);

/// For each package (by index), the indices of the workspace packages it depends on: same
/// ecosystem, matched by name (PyPI names compared normalized, as PEP 503 does).
///
/// A dependency on the package itself is ignored, and each dependency is listed once, in the
/// order the manifest names them.
pub fn edges(packages: &[Package]) -> Vec<Vec<usize>> {
    let keys: Vec<String> = packages
        .iter()
        .map(|package| comparable(package.ecosystem, &package.name))
        .collect();
    packages
        .iter()
        .enumerate()
        .map(|(index, package)| {
            let mut found: Vec<usize> = Vec::new();
            for dependency in &package.dependencies {
                let wanted = comparable(package.ecosystem, dependency);
                let target = packages.iter().enumerate().position(|(other, candidate)| {
                    other != index
                        && candidate.ecosystem == package.ecosystem
                        && keys[other] == wanted
                });
                if let Some(target) = target {
                    if !found.contains(&target) {
                        found.push(target);
                    }
                }
            }
            found
        })
        .collect()
}

/// Every package index in publish order; ties keep discovery order.
///
/// # Errors
/// [`Cycle`] naming the packages of one cycle.
///
/// Kahn's algorithm: a package is ready once every package it depends on is placed, and of the
/// ready ones the first discovered goes next.
pub fn order(packages: &[Package]) -> Result<Vec<usize>, Cycle> {
    let edges = edges(packages);
    let dependents = reverse(&edges);
    let mut waiting: Vec<usize> = edges.iter().map(Vec::len).collect();
    let mut ready: BinaryHeap<Reverse<usize>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, count)| **count == 0)
        .map(|(index, _)| Reverse(index))
        .collect();
    let mut placed = Vec::with_capacity(packages.len());
    while let Some(Reverse(next)) = ready.pop() {
        placed.push(next);
        for &dependent in &dependents[next] {
            waiting[dependent] -= 1;
            if waiting[dependent] == 0 {
                ready.push(Reverse(dependent));
            }
        }
    }
    if placed.len() == packages.len() {
        return Ok(placed);
    }
    Err(find_cycle(packages, &edges, &waiting))
}

/// For each package, the packages that depend on it directly.
fn reverse(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut dependents = vec![Vec::new(); edges.len()];
    for (index, targets) in edges.iter().enumerate() {
        for &target in targets {
            dependents[target].push(index);
        }
    }
    dependents
}

/// One cycle among the packages Kahn's algorithm could not place (`waiting` > 0): each of them
/// depends on another unplaced one, so following those edges from the first must come back
/// round.
fn find_cycle(packages: &[Package], edges: &[Vec<usize>], waiting: &[usize]) -> Cycle {
    let unplaced = |index: usize| waiting[index] > 0;
    let Some(start) = (0..packages.len()).find(|&index| unplaced(index)) else {
        return Cycle(Vec::new());
    };
    let mut path = vec![start];
    let mut current = start;
    loop {
        let Some(&next) = edges[current].iter().find(|&&target| unplaced(target)) else {
            // Cannot happen (every unplaced package waits on an unplaced one); name what is known.
            return Cycle(path.iter().map(|&i| packages[i].name.clone()).collect());
        };
        if let Some(at) = path.iter().position(|&seen| seen == next) {
            let mut cycle: Vec<String> = path[at..]
                .iter()
                .map(|&i| packages[i].name.clone())
                .collect();
            cycle.push(packages[next].name.clone());
            return Cycle(cycle);
        }
        path.push(next);
        current = next;
    }
}

/// The packages `--package NAME …` selects (indices in discovery order), and with `with_deps`
/// every workspace package they depend on, directly or not. PyPI names match as PEP 503
/// compares them.
///
/// # Errors
/// A name that is no package of the workspace, with the names that are.
pub fn select(
    packages: &[Package],
    names: &[String],
    with_deps: bool,
) -> Result<Vec<usize>, String> {
    let mut selected = vec![false; packages.len()];
    for name in names {
        let found: Vec<usize> = packages
            .iter()
            .enumerate()
            .filter(|(_, package)| {
                package.name == *name
                    || comparable(package.ecosystem, &package.name)
                        == comparable(package.ecosystem, name)
            })
            .map(|(index, _)| index)
            .collect();
        if found.is_empty() {
            let available: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
            return Err(if available.is_empty() {
                format!("unknown package `{name}`: the workspace has no packages")
            } else {
                format!(
                    "unknown package `{name}`; the workspace has: {}",
                    available.join(", ")
                )
            });
        }
        for index in found {
            selected[index] = true;
        }
    }
    if with_deps {
        let edges = edges(packages);
        let mut stack: Vec<usize> = (0..packages.len()).filter(|&i| selected[i]).collect();
        while let Some(index) = stack.pop() {
            for &dependency in &edges[index] {
                if !selected[dependency] {
                    selected[dependency] = true;
                    stack.push(dependency);
                }
            }
        }
    }
    Ok((0..packages.len()).filter(|&i| selected[i]).collect())
}

/// Every package that depends on `failed`, directly or not (indices in discovery order,
/// `failed` itself excluded): what is skipped when `failed` could not be published.
pub fn dependents(packages: &[Package], edges: &[Vec<usize>], failed: usize) -> Vec<usize> {
    let count = packages.len().min(edges.len());
    let reverse = reverse(&edges[..count]);
    let mut reached = vec![false; count];
    let mut stack = vec![failed];
    while let Some(index) = stack.pop() {
        for &dependent in reverse.get(index).into_iter().flatten() {
            if dependent < count && !reached[dependent] && dependent != failed {
                reached[dependent] = true;
                stack.push(dependent);
            }
        }
    }
    (0..count).filter(|&i| reached[i]).collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::package::Ecosystem;

    fn package(ecosystem: Ecosystem, name: &str, dependencies: &[&str]) -> Package {
        Package {
            dir: PathBuf::from(name),
            ecosystem,
            name: name.to_owned(),
            version: "0.1.0".parse().expect("version"),
            dependencies: dependencies.iter().map(|d| (*d).to_owned()).collect(),
            lock_dir: PathBuf::from(name),
        }
    }

    fn cargo(name: &str, dependencies: &[&str]) -> Package {
        package(Ecosystem::Cargo, name, dependencies)
    }

    fn names(packages: &[Package], indices: &[usize]) -> Vec<String> {
        indices.iter().map(|&i| packages[i].name.clone()).collect()
    }

    #[test]
    fn edges_match_names_within_an_ecosystem() {
        let packages = [
            cargo("wa", &["serde", "wa"]),
            cargo("wb", &["wa", "serde", "wa"]),
            package(Ecosystem::Npm, "wa", &[]),
            package(Ecosystem::Npm, "app", &["wa", "wb"]),
            package(Ecosystem::Pypi, "My_Lib", &[]),
            package(Ecosystem::Pypi, "tool", &["my.lib", "wa"]),
        ];
        assert_eq!(
            edges(&packages),
            vec![vec![], vec![0], vec![], vec![2], vec![], vec![4]]
        );
    }

    #[test]
    fn order_is_topological_with_ties_in_discovery_order() {
        let packages = [
            cargo("app", &["wc", "wb"]),
            cargo("wc", &["wb"]),
            cargo("wb", &["wa"]),
            cargo("other", &[]),
            cargo("wa", &[]),
        ];
        let placed = order(&packages).expect("no cycle");
        assert_eq!(
            names(&packages, &placed),
            ["other", "wa", "wb", "wc", "app"]
        );
        assert_eq!(order(&[]).expect("empty"), Vec::<usize>::new());
    }

    #[test]
    fn a_cycle_is_named() {
        let packages = [
            cargo("free", &[]),
            cargo("wa", &["wb"]),
            cargo("wb", &["wc"]),
            cargo("wc", &["wa"]),
            cargo("after", &["wa"]),
        ];
        let cycle = order(&packages).expect_err("cycle");
        assert_eq!(cycle.0, ["wa", "wb", "wc", "wa"]);
        assert_eq!(cycle.to_string(), "dependency cycle: wa → wb → wc → wa");
        // A package depending on a cycle is not part of it.
        let packages = [
            cargo("x", &["wa"]),
            cargo("wa", &["wb"]),
            cargo("wb", &["wa"]),
        ];
        assert_eq!(order(&packages).expect_err("cycle").0, ["wa", "wb", "wa"]);
    }

    #[test]
    fn select_with_and_without_dependencies() {
        let packages = [
            cargo("wa", &[]),
            cargo("wb", &["wa"]),
            cargo("wc", &["wb"]),
            cargo("wd", &[]),
            package(Ecosystem::Pypi, "Py_Lib", &[]),
        ];
        let pick = |names: &[&str], deps: bool| {
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            select(&packages, &names, deps)
        };
        assert_eq!(pick(&["wc"], false), Ok(vec![2]));
        assert_eq!(pick(&["wc"], true), Ok(vec![0, 1, 2]));
        assert_eq!(pick(&["wd", "wb"], true), Ok(vec![0, 1, 3]));
        assert_eq!(pick(&["py-lib"], false), Ok(vec![4]));
        assert_eq!(
            pick(&["nope"], false),
            Err("unknown package `nope`; the workspace has: wa, wb, wc, wd, Py_Lib".to_owned())
        );
        assert!(select(&[], &["x".to_owned()], false)
            .expect_err("empty")
            .contains("no packages"));
    }

    #[test]
    fn dependents_are_transitive() {
        let packages = [
            cargo("wa", &[]),
            cargo("wb", &["wa"]),
            cargo("wc", &["wb"]),
            cargo("wd", &[]),
            cargo("we", &["wd", "wa"]),
        ];
        let edges = edges(&packages);
        assert_eq!(dependents(&packages, &edges, 0), vec![1, 2, 4]);
        assert_eq!(dependents(&packages, &edges, 1), vec![2]);
        assert_eq!(dependents(&packages, &edges, 2), Vec::<usize>::new());
        assert_eq!(dependents(&packages, &edges, 3), vec![4]);
        assert_eq!(dependents(&packages, &edges, 99), Vec::<usize>::new());
    }
}
