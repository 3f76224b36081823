# Peer set-up: a private `ssh-agent -a $work/ssh-agent.sock` holding one ed25519 key, listed by
# `ssh-add -l`. It returns key fingerprints, not a stored value, so it is the cheapest thing an
# agent can answer: the floor of "ask a running agent". Sourced by scripts/bench-peers.

setup_ssh_agent() {
  local name="ssh-add -l"
  if ! command -v ssh-agent >/dev/null 2>&1 || ! command -v ssh-add >/dev/null 2>&1; then
    peer_skip "$name" "ssh-agent or ssh-add not installed"
    return 1
  fi
  export SSH_AUTH_SOCK="$work/ssh-agent.sock"
  ssh-agent -D -a "$SSH_AUTH_SOCK" >/dev/null 2>&1 &
  peer_pids+=("$!")
  if ! wait_for 200 test -S "$SSH_AUTH_SOCK"; then
    peer_skip "$name" "ssh-agent did not bind $SSH_AUTH_SOCK"
    return 1
  fi
  ssh-keygen -q -t ed25519 -N '' -C bench -f "$work/id_ed25519" >/dev/null
  ssh-add -q "$work/id_ed25519" 2>/dev/null
  if [ "$(ssh-add -l 2>/dev/null | wc -l)" -ne 1 ]; then
    peer_skip "$name" "the agent does not list exactly one key"
    return 1
  fi
  peer_add "$name" "ssh-add -l" "$(ssh -V 2>&1)"
}
