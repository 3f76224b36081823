//! SKELETON: keys
