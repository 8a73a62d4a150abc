#!/bin/sh
# Installs what twinslot's demo and tests need on a Debian machine, and nothing twice:
# system packages (when run as root, or through sudo), then the npm packages of package-lock.json.
set -eu
cd "$(dirname "$0")/.."

PACKAGES="python3 mosquitto mosquitto-clients openssl ca-certificates shellcheck qemu-system-x86 busybox-static cpio e2fsprogs kmod curl systemd util-linux"

missing=""
for pkg in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing="$missing $pkg"
  fi
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "twinslot setup: missing Debian packages:$missing" >&2
    echo "run as root: apt-get update && apt-get install -y$missing" >&2
    exit 1
  fi
  echo "twinslot setup: installing$missing"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086 # the package list is meant to split
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "twinslot setup: Node.js and npm are needed to bootstrap (any version >= 18; Node 24 comes from npm)" >&2
  exit 1
fi

stamp=node_modules/.twinslot-setup
lock=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock" ]; then
  npm ci --no-audit --no-fund
  echo "$lock" > "$stamp"
fi
