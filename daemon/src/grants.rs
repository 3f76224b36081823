//! SKELETON: grants
