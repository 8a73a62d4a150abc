# shellcheck shell=sh
# Files, directories, the release and the units, each written only when it differs from what is
# there, so a second run with the same flags changes nothing. Everything here is written in
# directories that root alone can write; files for directories another user owns go through
# safe-files.sh (place_file).
# Sourced by install.sh, which sets R, PREFIX, RELEASE, VERSION, NODE, UPGRADE and the flags.

ids() { echo "$(uid_of "$1"):$(gid_of "$2")"; }

# Moves generated file NEW over DEST (full target paths) unless identical; sets owner and mode.
# DEST's directory must be root's alone (check_root_only_dir): nobody else can plant a link there.
install_generated() {
  check_root_only_dir "$(dirname "${2#"$R"}")"
  chown "$(ids "$3" "$4")" "$1"
  chmod "$5" "$1"
  if [ -f "$2" ] && [ ! -L "$2" ] && cmp -s "$1" "$2"; then
    rm -f "$1"
    chown -h "$(ids "$3" "$4")" "$2"
    chmod "$5" "$2"
  else
    mv -f "$1" "$2"
    say "wrote ${2#"$R"}"
  fi
}

# Copies SRC to device path DEST (in a root-only directory) with OWNER GROUP MODE; the mode is
# set before the content lands.
ensure_file() {
  tmp="$R$2.twinslot-new"
  rm -f "$tmp"
  (umask 077 && cp "$1" "$tmp")
  install_generated "$tmp" "$R$2" "$3" "$4" "$5"
}

# Symlink device path LINK -> TARGET, replaced only when it points elsewhere.
ensure_symlink() {
  [ "$(readlink "$R$1" 2>/dev/null || true)" = "$2" ] && return 0
  mkdir -p "$(dirname "$R$1")"
  ln -sfn "$2" "$R$1"
  say "linked $1 -> $2"
}

# Copies the release into PREFIX/releases/VERSION, points PREFIX/current at it and keeps only
# the release it replaces as a fallback.
install_release() {
  releases="$R$PREFIX/releases"
  target="$releases/$VERSION"
  active=$(readlink "$R$PREFIX/current" 2>/dev/null || true)
  if [ -n "$active" ] && [ "$active" != "releases/$VERSION" ] && [ "$UPGRADE" = 0 ]; then
    die "twinslot ${active#releases/} is installed; run with --upgrade to replace it with $VERSION"
  fi
  ensure_dir "$PREFIX" root root 0755
  ensure_dir "$PREFIX/releases" root root 0755
  if [ -d "$target" ] && { [ "$UPGRADE" = 0 ] || [ "$(cd "$RELEASE" && pwd -P)" = "$(cd "$target" && pwd -P)" ]; }; then
    :
  else
    rm -rf "$target.new" "$target.old"
    cp -R "$RELEASE/." "$target.new"
    chown -R 0:0 "$target.new"
    chmod -R u+rwX,go+rX,go-w "$target.new"
    [ ! -d "$target" ] || mv "$target" "$target.old"
    mv "$target.new" "$target"
    rm -rf "$target.old"
    say "installed release $VERSION into $PREFIX/releases/$VERSION"
  fi
  ensure_symlink "$PREFIX/current" "releases/$VERSION"
  ensure_symlink /usr/local/bin/twinslot "$PREFIX/current/bin/twinslot"
  for old in "$releases"/*; do
    [ -d "$old" ] || continue
    case "$old" in "$target" | "$releases/${active#releases/}") ;; *) rm -rf "$old"; say "removed old release $(basename "$old")" ;; esac
  done
}

# /etc/twinslot/config.json from the flags, merged into the config already there.
write_config() {
  cfg="$R/etc/twinslot/config.json"
  if [ -f "$cfg" ] && [ -z "$THING$ENDPOINTS$DEVICE_TYPE$CERT$CA$CLAIM_CERT$WATCHDOG" ]; then
    say "keeping /etc/twinslot/config.json"
    return 0
  fi
  set -- --out "$cfg.twinslot-new" --existing "$cfg" \
    --cert-path /etc/twinslot/certs/device.crt --key-path /etc/twinslot/certs/device.key
  [ -z "$THING" ] || set -- "$@" --thing-name "$THING"
  [ -z "$DEVICE_TYPE" ] || set -- "$@" --device-type "$DEVICE_TYPE"
  [ -z "$CA" ] || set -- "$@" --ca-path /etc/twinslot/certs/ca.pem
  [ -z "$WATCHDOG" ] || set -- "$@" --watchdog "$WATCHDOG"
  if [ -n "$TEMPLATE" ]; then
    set -- "$@" --template "$TEMPLATE" --claim-cert-path /etc/twinslot/certs/claim.crt --claim-key-path /etc/twinslot/certs/claim.key
  fi
  old_ifs=$IFS
  IFS=$NL
  set -f
  for e in $ENDPOINTS; do set -- "$@" --endpoint "$e"; done
  for p in $PARAMS; do set -- "$@" --template-param "$p"; done
  set +f
  IFS=$old_ifs
  rm -f "$cfg.twinslot-new"
  "$NODE" "$RELEASE/app/installer/config/write-config.ts" "$@" || { rm -f "$cfg.twinslot-new"; die "config not written"; }
  install_generated "$cfg.twinslot-new" "$cfg" root twinslot 0640
}

# The running systemd's version number, or 0.
systemd_version() {
  v=$(systemctl --version 2>/dev/null | awk 'NR == 1 { print $2 }') || v=0
  case "$v" in '' | *[!0-9]*) echo 0 ;; *) echo "$v" ;; esac
}

# The units, with PREFIX filled in; RestartSteps only where systemd knows it (254+).
install_units() {
  unitdir="$R/etc/systemd/system"
  mkdir -p "$unitdir"
  for u in twinslot-supervisor.service twinslot-agent.service; do
    sed "s|@PREFIX@|$PREFIX|g" "$RELEASE/app/installer/systemd/$u" >"$unitdir/$u.twinslot-new"
    install_generated "$unitdir/$u.twinslot-new" "$unitdir/$u" root root 0644
  done
  sd_version=${SYSTEMD_VERSION:-$(systemd_version)}
  case "$sd_version" in '' | *[!0-9]*) die "--systemd-version must be a number" ;; esac
  dropin="$unitdir/twinslot-agent.service.d"
  if [ "$sd_version" -ge 254 ]; then
    mkdir -p "$dropin"
    chmod 0755 "$dropin"
    cp "$RELEASE/app/installer/systemd/10-restart-steps.conf" "$dropin/10-restart-steps.conf.twinslot-new"
    install_generated "$dropin/10-restart-steps.conf.twinslot-new" "$dropin/10-restart-steps.conf" root root 0644
  elif [ -e "$dropin/10-restart-steps.conf" ]; then
    rm -f "$dropin/10-restart-steps.conf"
    rmdir "$dropin" 2>/dev/null || true
  fi
}

# Tells the user when systemd's own hardware watchdog (RuntimeWatchdogSec) would hold the device
# the supervisor is configured to own: a watchdog device has exactly one owner (EBUSY otherwise).
check_systemd_watchdog() {
  [ -n "$WATCHDOG" ] || return 0
  value="" device=/dev/watchdog0 where=""
  for f in "$R/etc/systemd/system.conf" "$R/usr/lib/systemd/system.conf.d/"*.conf \
    "$R/run/systemd/system.conf.d/"*.conf "$R/etc/systemd/system.conf.d/"*.conf; do
    [ -f "$f" ] || continue
    v=$(sed -n 's/^[[:space:]]*RuntimeWatchdogSec[[:space:]]*=[[:space:]]*//p' "$f" | tail -n 1)
    [ -z "$v" ] || { value=$v; where=${f#"$R"}; }
    d=$(sed -n 's/^[[:space:]]*WatchdogDevice[[:space:]]*=[[:space:]]*//p' "$f" | tail -n 1)
    [ -z "$d" ] || device=$d
  done
  case "$value" in '' | 0 | 0s | 0ms | 0min | off) return 0 ;; esac
  same=0
  [ "$device" = "$WATCHDOG" ] && same=1
  case "$device:$WATCHDOG" in /dev/watchdog:/dev/watchdog0 | /dev/watchdog0:/dev/watchdog) same=1 ;; esac
  [ "$same" = 1 ] || return 0
  cat >&2 <<EOF
install.sh: WARNING: systemd holds the hardware watchdog: RuntimeWatchdogSec=$value in $where
  opens $device, the device given with --watchdog $WATCHDOG. A watchdog device has one owner
  (a second open fails with EBUSY), so the supervisor would run without it. Either give it to
  twinslot: put "[Manager]" and "RuntimeWatchdogSec=0" in /etc/systemd/system.conf.d/twinslot.conf
  and run "systemctl daemon-reexec"; or install without --watchdog and leave it to systemd.
EOF
}

# The initial application bundle in slot a, committed, on a device that has no slot state yet
# (seed-slot.ts keeps any existing state and reports the same bundle as unchanged).
seed_initial_bundle() {
  [ -n "$BUNDLE" ] || return 0
  out=$("$NODE" "$RELEASE/app/installer/seed/seed-slot.ts" --root "${R:-/}" --bundle "$BUNDLE" \
    --trust-dir "$R/etc/twinslot/trust" --config "$R/etc/twinslot/config.json") || die "initial bundle not installed"
  case "$out" in
    *'"kind":"seeded"'*)
      # Code the supervisor runs: root's, nobody else may change it (links inside are not followed).
      chown -R -h 0:0 "$R/var/lib/twinslot/slots/a"
      chmod -R go-w "$R/var/lib/twinslot/slots/a"
      say "installed the initial bundle into slot a (committed)" ;;
    *'"kind":"unchanged"'*) ;;
    *) say "slot state exists; --initial-bundle ignored (state kept)" ;;
  esac
}
