//! Lays out the `auth-hub` executable's code so that what a hub runs sits together
//! (`layout/link_order.rs`): less of its binary is resident.

include!("../layout/link_order.rs");

fn main() {
    link_order("auth-hub");
}
