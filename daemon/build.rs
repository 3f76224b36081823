//! Lays out the `auth-hub` executable's code so that what a hub runs sits together
//! (`layout/link_order.rs`): less of its binary is resident. Links the unwinder in rather than
//! loading libgcc_s at every start (`layout/static_unwind.rs`): a hub that `auth get` starts is
//! waited for.

include!("../layout/link_order.rs");
include!("../layout/static_unwind.rs");

fn main() {
    link_order("auth-hub");
    static_unwind("auth-hub");
}
