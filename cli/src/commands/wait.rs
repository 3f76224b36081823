//! `--wait DURATION` / `--no-wait`: how long a command may wait for the owner's approval of a
//! scope. One definition, flattened into `auth get` and the forge commands (`push`,
//! `workspace push`, `init --create-remote`, `status --fetch`), so they parse and mean the same.

use std::time::Duration;

use auth_hub_protocol::duration::parse_duration;
use clap::Args;

use crate::commands::auth::wait_for;

/// The wait flags.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct WaitArgs {
    /// How long to wait for approval (90, 90s, 5m); the hub caps it at its grant timeout.
    #[arg(long, value_name = "SECS", value_parser = parse_duration, conflicts_with = "no_wait")]
    pub wait: Option<Duration>,
    /// Do not wait: if the scope needs approval, fail at once (exit 3).
    #[arg(long)]
    pub no_wait: bool,
}

impl WaitArgs {
    /// The wait asked for: zero with `--no-wait`, else `--wait`, else the default (60 s).
    pub fn duration(&self) -> Duration {
        wait_for(self.wait, self.no_wait)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Probe {
        #[command(flatten)]
        wait: WaitArgs,
    }

    fn parse(args: &[&str]) -> Result<Duration, clap::Error> {
        let mut argv = vec!["probe"];
        argv.extend_from_slice(args);
        Probe::try_parse_from(argv).map(|probe| probe.wait.duration())
    }

    #[test]
    fn parses_like_auth_get() {
        assert_eq!(parse(&[]).expect("default"), Duration::from_secs(60));
        assert_eq!(parse(&["--no-wait"]).expect("no wait"), Duration::ZERO);
        assert_eq!(
            parse(&["--wait", "5m"]).expect("5m"),
            Duration::from_secs(300)
        );
        assert_eq!(
            parse(&["--wait", "90"]).expect("90"),
            Duration::from_secs(90)
        );
        assert!(
            parse(&["--wait", "5s", "--no-wait"]).is_err(),
            "they conflict"
        );
        assert!(parse(&["--wait", "soon"]).is_err(), "not a duration");
    }
}
