//! SKELETON: policy
