//! Shared machinery of the abuse generator (`auth-hub-abuse`) and the crash loop
//! (`auth-hub-crash-loop`): a hub process they own and can kill, the hub's resource figures read
//! from `/proc`, latency percentiles, a seeded random source, the owner session set up over the
//! protocol, and the disk's floor for a durable write. It lives in the library (not in each
//! binary) so both tools measure the same way. The abuse generator's attacker tasks live here
//! too, so its binary reads as its arguments and its run.

pub mod attackers;
pub mod disk_floor;
pub mod hub_process;
pub mod limits;
pub mod owner;
pub mod proc_stats;
pub mod rng;
pub mod stats;
pub mod tally;
pub mod wire;
