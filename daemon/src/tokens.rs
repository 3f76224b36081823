//! SKELETON: tokens
