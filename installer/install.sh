#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# Installs a twinslot release on a device: system users, directories with least-privilege owners
# and modes, /etc/twinslot/config.json from flags, credentials, trusted signing keys, systemd units
# and an optional initial application bundle in slot a. Run it from the unpacked release.
# Safe to run again: with the same flags it changes nothing. See installer/README.md.
set -eu
# Directories and files get explicit modes; what mkdir -p or a temp file makes is not group-writable.
umask 022

usage() {
  cat <<'EOF'
Usage: install.sh [options]

Device identity and connection (required on a first install):
  --thing-name NAME        AWS IoT thing name (also the MQTT client id)
  --endpoint HOST[:PORT]   AWS IoT data endpoint; repeat for disaster-recovery endpoints
  --device-type TYPE       device type matched against bundles' compatible types
  --cert FILE --key FILE   the thing's certificate and private key
  --ca FILE                trust anchor for the broker (default: system trust store)
Fleet provisioning by claim (instead of --cert/--key):
  --claim-cert FILE --claim-key FILE --template NAME [--template-param KEY=VALUE ...]
Other:
  --trust FILE             public key or certificate allowed to sign bundles (repeatable)
  --watchdog DEVICE        hardware watchdog the supervisor owns (e.g. /dev/watchdog)
  --initial-bundle FILE    signed bundle installed into slot a as committed (first install only)
  --prefix DIR             where releases go (default /opt/twinslot)
  --root DIR               install into DIR instead of / (images, tests); no systemctl, no useradd
  --upgrade                replace the installed release; config, credentials and state are kept
  --no-start               do not enable and start the units
  --systemd-version N      assume this systemd version (default: systemctl --version)
  -h, --help               this help
EOF
}

die() { echo "install.sh: $*" >&2; exit 1; }
say() { echo "install.sh: $*"; }

ROOT=/ PREFIX=/opt/twinslot UPGRADE=0 START=1 SYSTEMD_VERSION=""
THING="" DEVICE_TYPE="" ENDPOINTS="" CERT="" KEY="" CA="" CLAIM_CERT="" CLAIM_KEY="" TEMPLATE=""
PARAMS="" TRUST="" WATCHDOG="" BUNDLE=""
NL='
'
need() { [ $# -ge 2 ] || die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --root) need "$@"; ROOT=$2; shift ;;
    --prefix) need "$@"; PREFIX=$2; shift ;;
    --thing-name) need "$@"; THING=$2; shift ;;
    --device-type) need "$@"; DEVICE_TYPE=$2; shift ;;
    --endpoint) need "$@"; ENDPOINTS="$ENDPOINTS$2$NL"; shift ;;
    --cert) need "$@"; CERT=$2; shift ;;
    --key) need "$@"; KEY=$2; shift ;;
    --ca) need "$@"; CA=$2; shift ;;
    --claim-cert) need "$@"; CLAIM_CERT=$2; shift ;;
    --claim-key) need "$@"; CLAIM_KEY=$2; shift ;;
    --template) need "$@"; TEMPLATE=$2; shift ;;
    --template-param) need "$@"; PARAMS="$PARAMS$2$NL"; shift ;;
    --trust) need "$@"; TRUST="$TRUST$2$NL"; shift ;;
    --watchdog) need "$@"; WATCHDOG=$2; shift ;;
    --initial-bundle) need "$@"; BUNDLE=$2; shift ;;
    --systemd-version) need "$@"; SYSTEMD_VERSION=$2; shift ;;
    --upgrade) UPGRADE=1 ;;
    --no-start) START=0 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done

[ "$(id -u)" = 0 ] || die "must run as root (it creates users and sets owners)"
case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path" ;; esac
RELEASE=$(cd "$(dirname "$0")" && pwd)
[ -f "$RELEASE/release.json" ] || die "run install.sh from an unpacked twinslot release (no release.json beside it)"
VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$RELEASE/release.json" | head -n 1)
[ -n "$VERSION" ] || die "release.json has no version"
mkdir -p "$ROOT"
R=$(cd "$ROOT" && pwd); [ "$R" = / ] && R=""
NODE="$RELEASE/runtime/bin/node"
"$NODE" --version >/dev/null 2>&1 || die "the release's runtime does not run on this machine ($(uname -m))"
if [ -n "$CLAIM_CERT$CLAIM_KEY$TEMPLATE" ]; then
  if [ -z "$CLAIM_CERT" ] || [ -z "$CLAIM_KEY" ] || [ -z "$TEMPLATE" ]; then
    die "fleet provisioning needs --claim-cert, --claim-key and --template"
  fi
  [ -z "$CERT$KEY" ] || die "give either --cert/--key or --claim-cert/--claim-key/--template, not both"
fi
if [ -n "$CERT$KEY" ] && { [ -z "$CERT" ] || [ -z "$KEY" ]; }; then die "--cert and --key go together"; fi
for f in "$CERT" "$KEY" "$CA" "$CLAIM_CERT" "$CLAIM_KEY" "$BUNDLE"; do
  [ -z "$f" ] || [ -f "$f" ] || die "no such file: $f"
done

# shellcheck source=lib/users.sh
. "$RELEASE/app/installer/lib/users.sh"
# shellcheck source=lib/safe-files.sh
. "$RELEASE/app/installer/lib/safe-files.sh"
# shellcheck source=lib/files.sh
. "$RELEASE/app/installer/lib/files.sh"

# --- preflight: a link or a file where a directory belongs stops the install before any change --
for d in /etc/twinslot /etc/twinslot/trust /etc/twinslot/certs /var/lib/twinslot /var/lib/twinslot/slots \
  /var/lib/twinslot/slots/a /var/lib/twinslot/slots/b /var/lib/twinslot/trash /var/lib/twinslot/agent \
  /var/lib/twinslot/data "$PREFIX" "$PREFIX/releases"; do
  check_dir "$d"
done

# --- users -------------------------------------------------------------------------------------
ensure_user twinslot "twinslot agent"
ensure_user twinslot-app "twinslot application"

# --- release -----------------------------------------------------------------------------------
install_release

# --- directories -------------------------------------------------------------------------------
# Parents first: each directory is checked (no symlinks) and owned before anything goes into it.
# slots/ is taken back from the agent (earlier installers gave it slots/) before slots/a and
# slots/b are looked at; the slots themselves are the supervisor's once they exist.
ensure_dir /etc/twinslot root twinslot 0750
ensure_dir /etc/twinslot/trust root root 0755
ensure_dir /etc/twinslot/certs twinslot twinslot 0700
ensure_dir /var/lib/twinslot root root 0755
ensure_dir /var/lib/twinslot/slots root root 0755
ensure_slot /var/lib/twinslot/slots/a
ensure_slot /var/lib/twinslot/slots/b
ensure_dir /var/lib/twinslot/trash root root 0700
ensure_dir /var/lib/twinslot/agent twinslot twinslot 0700
ensure_dir /var/lib/twinslot/data twinslot-app twinslot-app 0700

# --- credentials and trust ---------------------------------------------------------------------
# certs/ is the agent's: credentials are staged root-only, then renamed in (safe-files.sh).
open_staging
[ -z "$CERT" ] || place_file "$CERT" /etc/twinslot/certs/device.crt twinslot twinslot 0644
[ -z "$KEY" ] || place_file "$KEY" /etc/twinslot/certs/device.key twinslot twinslot 0600
[ -z "$CA" ] || place_file "$CA" /etc/twinslot/certs/ca.pem twinslot twinslot 0644
[ -z "$CLAIM_CERT" ] || place_file "$CLAIM_CERT" /etc/twinslot/certs/claim.crt twinslot twinslot 0644
[ -z "$CLAIM_KEY" ] || place_file "$CLAIM_KEY" /etc/twinslot/certs/claim.key twinslot twinslot 0600
printf '%s' "$TRUST" | while IFS= read -r t; do
  [ -n "$t" ] || continue
  [ -f "$t" ] || die "no such trust file: $t"
  ensure_file "$t" "/etc/twinslot/trust/$(basename "$t")" root root 0644
done

# --- config ------------------------------------------------------------------------------------
write_config

# --- units -------------------------------------------------------------------------------------
install_units
check_systemd_watchdog

# --- initial bundle ----------------------------------------------------------------------------
seed_initial_bundle

# --- start -------------------------------------------------------------------------------------
if [ -z "$R" ] && [ "$START" = 1 ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now twinslot-supervisor.service twinslot-agent.service
  say "twinslot $VERSION is running (systemctl status twinslot-supervisor twinslot-agent)"
else
  say "twinslot $VERSION installed into ${R:-/}; units not started"
fi
