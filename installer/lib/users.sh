# shellcheck shell=sh
# System users of twinslot. On a live system they are made with groupadd/useradd; under --root
# (an image being built, a test) and where those tools are missing, DIR/etc/passwd, group and
# shadow are edited directly, so the host's user database is never touched.
# Sourced by install.sh and uninstall.sh, which set R (the root, "" for /) and define die/say.

# The uid of NAME in the target's passwd (0 for root), empty when absent.
uid_of() {
  [ "$1" = root ] && { echo 0; return 0; }
  awk -F: -v n="$1" '$1 == n { print $3; exit }' "$R/etc/passwd" 2>/dev/null || true
}

# The gid of group NAME in the target's group file (0 for root), empty when absent.
gid_of() {
  [ "$1" = root ] && { echo 0; return 0; }
  awk -F: -v n="$1" '$1 == n { print $3; exit }' "$R/etc/group" 2>/dev/null || true
}

# The highest id below 1000 used neither as a uid nor as a gid (system range, like useradd -r).
free_system_id() {
  n=999
  while [ "$n" -ge 100 ]; do
    if ! awk -F: -v i="$n" '$3 == i { found = 1 } END { exit !found }' "$R/etc/passwd" "$R/etc/group"; then
      echo "$n"
      return 0
    fi
    n=$((n - 1))
  done
  die "no free system uid/gid below 1000"
}

# Appends NAME (group and user) to the target's files.
add_user_to_files() {
  mkdir -p "$R/etc"
  touch "$R/etc/passwd" "$R/etc/group"
  gid=$(gid_of "$1")
  if [ -z "$gid" ]; then
    gid=$(free_system_id)
    echo "$1:x:$gid:" >>"$R/etc/group"
    [ ! -f "$R/etc/gshadow" ] || echo "$1:!::" >>"$R/etc/gshadow"
  fi
  if awk -F: -v i="$gid" '$3 == i { found = 1 } END { exit !found }' "$R/etc/passwd"; then uid=$(free_system_id); else uid=$gid; fi
  echo "$1:x:$uid:$gid:$2:/nonexistent:$3" >>"$R/etc/passwd"
  [ ! -f "$R/etc/shadow" ] || echo "$1:!*:::::::" >>"$R/etc/shadow"
}

# Makes system user NAME with its own group NAME, no home and no login shell.
ensure_user() {
  if [ -n "$(uid_of "$1")" ] && [ -n "$(gid_of "$1")" ]; then return 0; fi
  shell=/usr/sbin/nologin
  [ -x "$R$shell" ] || shell=/bin/false
  if [ -z "$R" ] && command -v useradd >/dev/null 2>&1 && command -v groupadd >/dev/null 2>&1; then
    [ -n "$(gid_of "$1")" ] || groupadd --system "$1"
    useradd --system --gid "$1" --home-dir /nonexistent --no-create-home --shell "$shell" --comment "$2" "$1"
  else
    add_user_to_files "$1" "$2" "$shell"
  fi
  say "created system user $1 ($(uid_of "$1"):$(gid_of "$1"))"
}

# Removes user and group NAME (uninstall --purge).
remove_user() {
  [ -n "$(uid_of "$1")$(gid_of "$1")" ] || return 0
  if [ -z "$R" ] && command -v userdel >/dev/null 2>&1; then
    userdel "$1" 2>/dev/null || true
    [ -z "$(gid_of "$1")" ] || groupdel "$1" 2>/dev/null || true
  else
    for f in passwd shadow group gshadow; do
      [ -f "$R/etc/$f" ] || continue
      awk -F: -v n="$1" '$1 != n' "$R/etc/$f" >"$R/etc/$f.twinslot-new"
      chmod "$(stat -c %a "$R/etc/$f")" "$R/etc/$f.twinslot-new"
      mv "$R/etc/$f.twinslot-new" "$R/etc/$f"
    done
  fi
  say "removed system user $1"
}
