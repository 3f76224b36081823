# Shared by the peer set-ups of scripts/bench-peers: how a peer is registered for timing or
# skipped, and how a started daemon is remembered so the run's exit trap can end it. Sourced, not
# run. Every peer lives under $work (a private temp dir); nothing here touches the user's agents.

# Peers that will be timed: display name, command line (for hyperfine -N), version text.
peer_names=()
peer_cmds=()
peer_versions=()
# Peers that could not be set up: "name: why".
peer_skips=()
# Daemons this run started, ended by pid on exit.
peer_pids=()

# peer_add NAME COMMAND VERSION: registers a peer whose COMMAND prints the secret.
peer_add() {
  peer_names+=("$1")
  peer_cmds+=("$2")
  peer_versions+=("$3")
}

# peer_skip NAME WHY: records that NAME is not measured, and why.
peer_skip() {
  peer_skips+=("$1: $2")
  echo "skipped $1: $2" >&2
}

# wait_for TRIES COMMAND...: runs COMMAND every 50 ms until it succeeds, at most TRIES times.
wait_for() {
  local tries=$1
  shift
  local i
  for ((i = 0; i < tries; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  return 1
}

# prints_secret COMMAND...: succeeds when COMMAND's output, less a trailing newline, is $secret.
prints_secret() {
  local out
  out=$("$@" 2>/dev/null) || return 1
  [ "$out" = "$secret" ]
}
