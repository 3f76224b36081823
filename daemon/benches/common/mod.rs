//! What the daemon's criterion benches share: scratch space on the disk under test and a file
//! store of 16 small secrets.

use std::path::Path;

use auth_hub::store::file::FileStore;
use auth_hub::store::{KeySource, SecretStore, StoreOptions};
use auth_hub_protocol::SecretPath;

/// Scratch space on the disk under test (not a tmpfs /tmp): beside the target directory.
pub fn scratch() -> tempfile::TempDir {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-scratch");
    std::fs::create_dir_all(&base).expect("scratch directory");
    tempfile::tempdir_in(base).expect("temporary directory")
}

/// A file store in `dir` holding `bench/k0` … `bench/k15`, 40 bytes each.
pub fn store_of_16_secrets(dir: &Path) -> FileStore {
    let options = StoreOptions {
        key_source: KeySource::File,
        ..StoreOptions::new(dir)
    };
    let store = FileStore::open(&options).expect("open the store");
    for index in 0..16 {
        let path = SecretPath::parse(&format!("bench/k{index}")).expect("path");
        store
            .put(&path, "a-token-of-forty-bytes-or-so-0123456789".into())
            .expect("put");
    }
    store
}
