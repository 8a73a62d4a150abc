# shellcheck shell=sh
# Directories and files written as root where a less privileged user can write too: the agent
# owns /etc/twinslot/certs (fleet provisioning stores its certificates there) and, while the
# supervisor lends it one, a slot. Sourced by install.sh after users.sh and before files.sh;
# install.sh sets R, NODE and defines die/say.
#
# INVARIANTS (root never follows a path a less privileged user can write)
# - A directory the installer manages is checked first: a symbolic link or anything but a
#   directory there stops the install (check_dir); owners are set with chown -h.
# - Each managed directory's parent is root-owned and not group/other-writable, so nobody else
#   can swap the directory between the check and the chown/chmod.
# - Nothing is copied, chowned, chmodded or compared through a path inside a directory another
#   user owns: a file for such a directory is made in STAGING (root 0700, on the same filesystem
#   as certs/), given its owner and mode there, and renamed over its name (rename(2) replaces a
#   planted symlink instead of following it). The file already there is read only with
#   O_NOFOLLOW | O_NONBLOCK (a link or a FIFO is "different"), to keep an identical one.
# - slots/a and slots/b are created root:root 0755 when missing and never touched afterwards:
#   the supervisor hands a slot to the agent at prepare-slot and takes it back at slot-ready.

STAGING=/etc/twinslot/.install-staging

# Stops unless device path DIR is absent or a directory itself (not a symlink to one).
check_dir() {
  if [ -L "$R$1" ]; then
    die "$1 is a symbolic link, not a directory: refusing to work through it (remove it and run install.sh again)"
  fi
  if [ -e "$R$1" ] && [ ! -d "$R$1" ]; then
    die "$1 exists and is not a directory: refusing to replace it (remove it and run install.sh again)"
  fi
}

# Stops unless device path DIR is a directory that root owns and nobody else may write.
check_root_only_dir() {
  check_dir "$1"
  set -- "$1" "$(stat -c %u "$R$1")" "$(stat -c %a "$R$1")"
  if [ "$2" != 0 ] || [ $((0$3 & 022)) != 0 ]; then
    die "$1 is owned by uid $2 with mode $3: root writes in it only when it is root's alone (root, not group/other-writable)"
  fi
}

# Directory DIR (device path) with OWNER GROUP MODE; its parent must be root's alone.
ensure_dir() {
  parent=$(dirname "$1")
  [ ! -d "$R$parent" ] || [ "$parent" = / ] || check_root_only_dir "$parent"
  check_dir "$1"
  mkdir -p "$R$1"
  chown -h "$(ids "$2" "$3")" "$R$1"
  chmod "$4" "$R$1"
}

# Slot directory SLOT, root:root 0755 when it is missing; an existing one is the supervisor's.
ensure_slot() {
  check_root_only_dir "$(dirname "$1")"
  check_dir "$1"
  [ -d "$R$1" ] && return 0
  mkdir -m 0755 "$R$1"
  say "created $1"
}

# A fresh root-only STAGING beside certs/; removed again when install.sh exits.
open_staging() {
  check_root_only_dir "$(dirname "$STAGING")"
  rm -rf "$R${STAGING:?}"
  mkdir -m 0700 "$R$STAGING"
  trap 'rm -rf "$R${STAGING:?}"' EXIT
}

# Replaces DEST (full path) with STAGED unless DEST is a regular file with the same bytes, owner
# and mode; prints "same" or "placed". DEST is opened with O_NOFOLLOW and never followed.
# shellcheck disable=SC2016 # JavaScript, not shell
PLACE_JS='
const fs = require("node:fs");
const [staged, dest] = process.argv.slice(1);
const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
function same() {
  let fd;
  try { fd = fs.openSync(dest, O_RDONLY | O_NOFOLLOW | O_NONBLOCK); } catch { return false; }
  try {
    const d = fs.fstatSync(fd), s = fs.statSync(staged);
    if (!d.isFile() || d.nlink !== 1 || d.uid !== s.uid || d.gid !== s.gid || d.mode !== s.mode || d.size !== s.size) return false;
    return fs.readFileSync(fd).equals(fs.readFileSync(staged));
  } finally { fs.closeSync(fd); }
}
try {
  if (same()) { fs.unlinkSync(staged); console.log("same"); } else { fs.renameSync(staged, dest); console.log("placed"); }
} catch (err) { console.error(`${dest}: ${err.message}`); process.exitCode = 1; }
'

# Copies SRC to device path DEST, in a directory a non-root user owns, as OWNER GROUP MODE.
place_file() {
  [ -d "$R$STAGING" ] || die "internal: place_file before open_staging"
  staged="$R$STAGING/$(basename "$2")"
  rm -f "$staged"
  (umask 077 && cp "$1" "$staged")
  chown "$(ids "$3" "$4")" "$staged"
  chmod "$5" "$staged"
  case $("$NODE" -e "$PLACE_JS" "$staged" "$R$2") in
    same) ;;
    placed) say "wrote $2" ;;
    *) die "$2 not written" ;;
  esac
}
