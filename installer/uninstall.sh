#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# Removes twinslot from a device: stops and removes the units, the releases and the launcher.
# Keeps /etc/twinslot (config, identity, trust) and /var/lib/twinslot (slots, state, journal)
# unless --purge, which also removes them and the twinslot users.
set -eu

usage() {
  cat <<'EOF'
Usage: uninstall.sh [--root DIR] [--prefix DIR] [--purge]

  --root DIR     uninstall from DIR instead of / (no systemctl)
  --prefix DIR   where releases were installed (default /opt/twinslot)
  --purge        also remove config, credentials, slots, state and the twinslot users
  -h, --help     this help
EOF
}

die() { echo "uninstall.sh: $*" >&2; exit 1; }
say() { echo "uninstall.sh: $*"; }

ROOT=/ PREFIX=/opt/twinslot PURGE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || die "--root needs a value"; ROOT=$2; shift ;;
    --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; PREFIX=$2; shift ;;
    --purge) PURGE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done

[ "$(id -u)" = 0 ] || die "must run as root"
case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path" ;; esac
[ -d "$ROOT" ] || die "no such root: $ROOT"
R=$(cd "$ROOT" && pwd); [ "$R" = / ] && R=""
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -f "$HERE/app/installer/lib/users.sh" ]; then LIB="$HERE/app/installer/lib"; else LIB="$HERE/lib"; fi
# shellcheck source=lib/users.sh
. "$LIB/users.sh"

UNITS="twinslot-agent.service twinslot-supervisor.service"
if [ -z "$R" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  # shellcheck disable=SC2086 # two unit names
  systemctl disable --now $UNITS 2>/dev/null || true
fi
for u in $UNITS; do
  rm -f "$R/etc/systemd/system/$u"
  rm -rf "$R/etc/systemd/system/$u.d"
done
if [ -z "$R" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
fi
say "removed the systemd units"

if [ "$(readlink "$R/usr/local/bin/twinslot" 2>/dev/null || true)" = "$PREFIX/current/bin/twinslot" ]; then
  rm -f "$R/usr/local/bin/twinslot"
fi
# The script may run from inside the prefix; the shell has read it already.
rm -rf "$R${PREFIX:?}"
say "removed $PREFIX"

if [ "$PURGE" = 1 ]; then
  rm -rf "$R/etc/twinslot" "$R/var/lib/twinslot" "$R/run/twinslot"
  remove_user twinslot-app
  remove_user twinslot
  say "purged config, credentials, slots and state"
else
  say "kept /etc/twinslot and /var/lib/twinslot (use --purge to remove them)"
fi
