//! SKELETON: audit
