//! A workspace's packages as a dependency graph: the order they publish in (each after every
//! workspace package it depends on), the cycle that makes an order impossible, and the packages
//! `--package NAME … [--deps]` selects.

use super::Package;

/// A dependency cycle, named in order (`wa → wb → wa`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dependency cycle: {}", .0.join(" → "))]
pub struct Cycle(pub Vec<String>);

/// For each package (by index), the indices of the workspace packages it depends on: same
/// ecosystem, matched by name (PyPI names compared normalized, as PEP 503 does).
pub fn edges(packages: &[Package]) -> Vec<Vec<usize>> {
    let _ = packages;
    unimplemented!("helper: package core")
}

/// Every package index in publish order; ties keep discovery order.
///
/// # Errors
/// [`Cycle`] naming the packages of one cycle.
pub fn order(packages: &[Package]) -> Result<Vec<usize>, Cycle> {
    let _ = packages;
    unimplemented!("helper: package core")
}
