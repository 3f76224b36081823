//! The disk's floor for one acknowledged write: how long the file store's own durable write (a
//! [`SlotPair::write`]: in place into the older of two slot files, then `fdatasync`) takes on the
//! store's file system, with a record the size of the store. A `put_secret` can be no faster than
//! this, so the abuse report sets the writes' latency beside it: what is above the floor is the
//! hub's; the floor is the disk's.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use auth_hub::store::slots::SlotPair;

use super::stats::LatencyStats;

/// Names of the scratch slots, beside the store and removed afterwards.
const SCRATCH: [&str; 2] = ["disk-floor-a.scratch", "disk-floor-b.scratch"];

/// Times `rounds` durable slot writes of a `bytes`-sized record in `dir`.
///
/// # Errors
/// Writing or removing the scratch file failed.
pub fn measure(dir: &Path, bytes: usize, rounds: usize) -> io::Result<LatencyStats> {
    let mut slots = SlotPair::new(dir, SCRATCH);
    let contents = vec![0x5a_u8; bytes];
    // The first write of each slot creates it; the store pays that once, not per write.
    slots.write(&contents)?;
    slots.write(&contents)?;
    let mut latencies: Vec<Duration> = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        slots.write(&contents)?;
        latencies.push(started.elapsed());
    }
    for index in 0..2 {
        std::fs::remove_file(slots.path(index))?;
    }
    Ok(LatencyStats::of(latencies))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_every_round_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let stats = measure(dir.path(), 4096, 5).unwrap();
        assert_eq!(stats.count, 5);
        assert!(stats.p50_us > 0.0 && stats.p50_us <= stats.max_us);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(measure(&dir.path().join("gone"), 10, 1).is_err());
    }
}
