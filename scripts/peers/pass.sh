# Peer set-up: `pass` with a private GNUPGHOME holding one unprotected (%no-protection) ed25519 /
# cv25519 key and a private PASSWORD_STORE_DIR; the first `pass show` before timing starts and
# preloads gpg-agent, so the timed runs pay only for pass, gpg and the agent's decryption.
# Sourced by scripts/bench-peers; the agent is ended with `gpgconf --kill` on exit.

setup_pass() {
  local name="pass show"
  if ! command -v pass >/dev/null 2>&1 || ! command -v gpg >/dev/null 2>&1; then
    peer_skip "$name" "pass or gpg not installed (./scripts/deps --bench-peers)"
    return 1
  fi
  export GNUPGHOME="$work/gnupg" PASSWORD_STORE_DIR="$work/password-store"
  mkdir -p -m 700 "$GNUPGHOME"
  cat >"$work/gpg-key-params" <<'PARAMS'
%no-protection
Key-Type: EDDSA
Key-Curve: ed25519
Subkey-Type: ECDH
Subkey-Curve: cv25519
Name-Real: bench
Name-Email: bench@bench.invalid
Expire-Date: 0
%commit
PARAMS
  if ! gpg --batch --quiet --gen-key "$work/gpg-key-params" >/dev/null 2>"$work/gpg.log"; then
    peer_skip "$name" "gpg could not create a key: $(head -c 200 "$work/gpg.log")"
    return 1
  fi
  local fpr
  fpr=$(gpg --batch --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
  pass init "$fpr" >/dev/null 2>&1
  printf '%s\n' "$secret" | pass insert -m bench/token >/dev/null 2>&1
  # The first decryption starts gpg-agent and loads the key.
  if ! prints_secret pass show bench/token; then
    peer_skip "$name" "the stored secret did not read back"
    return 1
  fi
  peer_add "$name" "pass show bench/token" \
    "pass $(pass --version 2>/dev/null | grep -o 'v[0-9.]*' | head -n 1), $(gpg --version | head -n 1)"
}

# cleanup_pass: ends the private gpg-agent, if one was started.
cleanup_pass() {
  [ -n "${GNUPGHOME:-}" ] && [ -d "$GNUPGHOME" ] && gpgconf --kill gpg-agent >/dev/null 2>&1
  return 0
}
