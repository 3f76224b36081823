//! Access tokens per scope until expiry; secret values for a short TTL. SKELETON.
