//! End-to-end tests: the real `auth-hub` and `hyperforge` binaries, one temporary hub per test.
//! Modules follow the CLI verbs and the properties the issue judges.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod activation;
mod approval;
mod autostart;
mod client_library;
mod completions;
mod crash;
mod create_remote;
mod declared;
mod exec;
mod exit_codes;
mod forge_dry_run;
mod forge_progress;
mod forge_push;
mod forge_repo;
mod forge_wait;
mod git_credential;
mod git_server;
mod hostile;
mod http_identity;
mod hub_jwt;
mod keychain_backend;
mod keys;
mod logs;
mod r#move;
mod move_openbao;
mod oidc_login;
mod one_hub;
mod openbao_backend;
mod openbao_store;
mod other_language;
mod pipelined;
mod providers;
mod publish;
mod recover;
mod registries;
mod repos;
mod restart;
mod scopes;
mod secrets;
mod service;
mod shutdown;
mod store_loss;
mod store_routes;
mod watch;
mod workspace;
mod workspace_publish;
