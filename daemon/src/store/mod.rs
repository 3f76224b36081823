//! SKELETON: store
