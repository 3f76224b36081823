# Peer set-up: a private auth-hub (AUTH_HUB_HOME under $work) holding the secret at
# github/alice/token with a standing grant on github/alice/*, read by the release
# `hyperforge auth get`. Sourced by scripts/bench-peers; needs $bin, $work and $secret.

setup_hyperforge() {
  export AUTH_HUB_HOME="$work/hub" AUTH_HUB_NO_AUTOSTART=1
  mkdir -p -m 700 "$AUTH_HUB_HOME"
  "$bin/auth-hub" serve --home "$AUTH_HUB_HOME" 2>"$work/hub.log" &
  hub_pid=$!
  peer_pids+=("$hub_pid")
  if ! wait_for 200 test -S "$AUTH_HUB_HOME/auth-hub.sock"; then
    peer_skip "hyperforge auth get" "auth-hub did not bind its socket (see its log)"
    return 1
  fi
  "$bin/hyperforge" auth login >/dev/null
  printf %s "$secret" | "$bin/hyperforge" auth put github/alice/token >/dev/null
  "$bin/hyperforge" auth grant 'github/alice/*' >/dev/null
  if ! prints_secret "$bin/hyperforge" auth get github/alice/token; then
    peer_skip "hyperforge auth get" "the stored secret did not read back"
    return 1
  fi
  peer_add "hyperforge auth get" "$bin/hyperforge auth get github/alice/token" \
    "$("$bin/hyperforge" --version) (release build)"
}
