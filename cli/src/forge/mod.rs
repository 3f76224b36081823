//! (placeholder; replaced by the forge model on merge)
pub mod api;
pub mod gitea;
pub mod github;
pub mod gitlab;
pub mod http;
/// What kind of forge software a forge runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForgeKind {
    Github,
    Gitea,
    Gitlab,
}
