//! An in-memory `AuthClient` for consumers' unit tests. SKELETON.

/// In-memory client.
#[derive(Debug, Default)]
pub struct FakeAuthClient {
    _private: (),
}
