//! The ecosystems' own tools, run as child processes: `cargo package`/`cargo publish`,
//! `npm pack --dry-run`/`npm publish`, `python3 -m build`/`twine upload`. The token reaches a
//! child only the way that tool documents (an environment variable, or for npm a temporary 0600
//! user config that reads `${NPM_TOKEN}`), never in an argument or a file left behind.
