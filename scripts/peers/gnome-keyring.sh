# Peer set-up: gnome-keyring-daemon (secrets component) on a private D-Bus session bus at
# $work/dbus.sock, its login keyring created and unlocked non-interactively (`--unlock` reads the
# password on stdin), the secret stored with `secret-tool store` and read with
# `secret-tool lookup service bench`. Sourced by scripts/bench-peers.

setup_gnome_keyring() {
  local name="secret-tool lookup"
  local tool
  for tool in dbus-daemon gnome-keyring-daemon secret-tool; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      peer_skip "$name" "$tool not installed (./scripts/deps --bench-peers)"
      return 1
    fi
  done
  dbus-daemon --session --nofork --nopidfile --address="unix:path=$work/dbus.sock" \
    >/dev/null 2>"$work/dbus.log" &
  peer_pids+=("$!")
  if ! wait_for 200 test -S "$work/dbus.sock"; then
    peer_skip "$name" "the private D-Bus session bus did not start"
    return 1
  fi
  export DBUS_SESSION_BUS_ADDRESS="unix:path=$work/dbus.sock"
  # A throwaway keyring password; the keyring lives and dies in $work.
  printf %s "bench-keyring-password" |
    gnome-keyring-daemon --foreground --unlock --components=secrets \
      >/dev/null 2>"$work/gnome-keyring.log" &
  peer_pids+=("$!")
  if ! wait_for 200 dbus-send --session --print-reply --dest=org.freedesktop.DBus \
    /org/freedesktop/DBus org.freedesktop.DBus.GetNameOwner string:org.freedesktop.secrets; then
    peer_skip "$name" "gnome-keyring-daemon did not claim org.freedesktop.secrets"
    return 1
  fi
  if ! printf %s "$secret" | secret-tool store --label=bench service bench 2>"$work/secret-tool.log"; then
    peer_skip "$name" "secret-tool store failed: $(head -c 200 "$work/secret-tool.log")"
    return 1
  fi
  if ! prints_secret secret-tool lookup service bench; then
    peer_skip "$name" "the stored secret did not read back"
    return 1
  fi
  peer_add "$name" "secret-tool lookup service bench" \
    "$(gnome-keyring-daemon --version 2>&1 | head -n 1), libsecret-tools $(dpkg-query -W -f='${Version}' libsecret-tools 2>/dev/null || echo '?')"
}
