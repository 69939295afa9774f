#!/usr/bin/env bash
# Runs the project inside a chroot of another Debian release, the way a new user there would:
# the chroot gets Node.js and npm from that release, a copy of this checkout, and then the
# README's own commands (scripts/setup.sh installs the release's libtorch-dev and the rest).
#
#   bash scripts/test-in-debian.sh bookworm|trixie                  set-up, then npm test
#   bash scripts/test-in-debian.sh trixie -- npm run bench:quick    set-up, then that command
#   bash scripts/test-in-debian.sh trixie --no-setup -- CMD         CMD alone, on the last run's build
#   bash scripts/test-in-debian.sh trixie --prepare                 only make the chroot (network only)
#   bash scripts/test-in-debian.sh trixie --shell                   a shell in the chroot
#   bash scripts/test-in-debian.sh trixie --remove                  deletes the chroot
#
# Needs root and debootstrap (installed with apt-get when missing). The chroot is kept in
# $TORCHRNN_CHROOTS (default /var/tmp/torchrnn-chroots)/<release> and reused by later runs; the
# checkout is copied into /src/torchrnn inside it (tracked and untracked files, not what
# .gitignore excludes), and what a command writes to prebuilds/ or test/fixtures/torch-*/ there
# is copied back (`-- npm run fixtures` makes that release's PyTorch fixtures).
# The packages come from the same mirror as this machine's apt sources. Exit status: the command's.
set -euo pipefail

say() { printf '[chroot] %s\n' "$*"; }
die() { printf '[chroot] error: %s\n' "$*" >&2; exit 1; }
usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

release="${1:-}"
case "$release" in
  bookworm|trixie) shift ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; die "the first argument is the release: bookworm or trixie (got '${release}')" ;;
esac
mode=test
setup=1
cmd=()
while (( $# )); do
  case "$1" in
    --shell) mode=shell ;;
    --prepare) mode=prepare ;;
    --remove) mode=remove ;;
    --no-setup) setup=0 ;;
    --) shift; cmd=("$@"); break ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
  shift
done
(( ${#cmd[@]} )) || cmd=(npm test)

[[ "$(id -u)" == 0 ]] || die "needs root (debootstrap, mount, chroot)"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="${TORCHRNN_CHROOTS:-/var/tmp/torchrnn-chroots}/$release"

mounted=()
cleanup() {
  local i
  for (( i = ${#mounted[@]} - 1; i >= 0; i-- )); do
    umount -R -l "${mounted[$i]}" 2>/dev/null || true
  done
}
trap cleanup EXIT
# shellcheck source=scripts/chroot-lock.sh
source "$repo/scripts/chroot-lock.sh"

if [[ "$mode" == remove ]]; then
  [[ -d "$root" ]] || { say "no chroot at $root"; exit 0; }
  claim_chroot "$root"
  rm -rf --one-file-system "$root"
  say "removed $root"
  exit 0
fi

# --- the chroot ------------------------------------------------------------------------------
# The mirror this machine's apt uses (deb822 sources first, then the one-line format).
mirror() {
  local uri
  uri="$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1 || true)"
  [[ -n "$uri" ]] || uri="$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    | awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' | grep -v security | head -n1 || true)"
  [[ -n "$uri" ]] || die "no Debian mirror in /etc/apt/sources.list*"
  printf '%s\n' "$uri"
}

claim_chroot "$root"
if [[ ! -f "$root/.torchrnn-debootstrapped" ]]; then
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap
  fi
  url="$(mirror)"
  rm -rf --one-file-system "$root"
  mkdir -p "$root"
  say "debootstrap $release from $url into $root"
  start=$SECONDS
  debootstrap --variant=minbase --include=ca-certificates "$release" "$root" "$url" >"$root.debootstrap.log" 2>&1 \
    || { tail -n 20 "$root.debootstrap.log" >&2; die "debootstrap failed (log: $root.debootstrap.log)"; }
  # The same sources as the host's layout: main plus updates and security, one-line format.
  sec="${url%/debian*}/debian-security"
  cat >"$root/etc/apt/sources.list" <<EOF
deb $url $release main contrib
deb $url $release-updates main contrib
deb $sec $release-security main contrib
EOF
  say "debootstrap done in $(( SECONDS - start )) s"
  touch "$root/.torchrnn-debootstrapped"
fi

# apt in the chroot retries a dropped download instead of failing the run.
mkdir -p "$root/etc/apt/apt.conf.d"
echo 'Acquire::Retries "5";' >"$root/etc/apt/apt.conf.d/80torchrnn-retries"

# Mounts: what Node, npm, Python's multiprocessing and apt need.
mount_in() { # mount_in TYPE|--rbind SOURCE TARGET
  mkdir -p "$root$3"
  if [[ "$1" == --rbind ]]; then mount --rbind "$2" "$root$3"; mount --make-rslave "$root$3"
  else mount -t "$1" "$2" "$root$3"; fi
  mounted+=("$root$3")
}
# The chroot's root a mount point of its own: `ip netns exec` (test/66) makes / a slave mount,
# which fails on a directory that is not one ("mount --make-rslave /": Invalid argument).
mount --bind "$root" "$root"
mounted+=("$root")
mount_in proc proc /proc
mount_in sysfs sys /sys
mount_in --rbind /dev /dev
mount_in tmpfs tmpfs /tmp

# Network settings and the host's CA bundle (npm needs it: the registry is reached through
# this machine's configured certificate chain), npm set to Node's own headers (else cmake-js
# and node-gyp try to download them).
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
cp -L /etc/hosts "$root/etc/hosts"
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
  mkdir -p "$root/usr/local/share/torchrnn"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/torchrnn/host-ca.crt"
fi
npmrc="$root/root/.npmrc"
{
  [[ -f "$HOME/.npmrc" ]] && grep -v -E '^(cafile|nodedir|prefix)=' "$HOME/.npmrc" || true
  echo "cafile=/usr/local/share/torchrnn/host-ca.crt"
  echo "nodedir=/usr"
} >"$npmrc"

# --- run -------------------------------------------------------------------------------------
in_chroot() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NODE_EXTRA_CA_CERTS=/usr/local/share/torchrnn/host-ca.crt \
    ${CI:+CI="$CI"} ${OPENBLAS_CORETYPE:+OPENBLAS_CORETYPE="$OPENBLAS_CORETYPE"} \
    ${OPENBLAS_L2_SIZE:+OPENBLAS_L2_SIZE="$OPENBLAS_L2_SIZE"} "$@"
}

if [[ ! -f "$root/.torchrnn-ready" ]]; then
  start=$SECONDS
  say "apt-get install nodejs npm (the release's own)"
  in_chroot bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm' \
    >"$root.apt.log" 2>&1 || { tail -n 30 "$root.apt.log" >&2; die "apt-get in the chroot failed (log: $root.apt.log)"; }
  touch "$root/.torchrnn-ready"
  say "nodejs $(in_chroot node -v), npm $(in_chroot npm -v) in $(( SECONDS - start )) s"
fi

if [[ "$mode" == prepare ]]; then
  say "ready: $root"
  exit 0
fi

if [[ "$mode" == shell ]]; then
  in_chroot bash -c 'cd /src/torchrnn 2>/dev/null; exec bash -i'
  exit $?
fi

say "copying $repo into $root/src/torchrnn"
# A fresh copy for a run with set-up; with --no-setup the files are copied over the last run's
# tree, which keeps its node_modules/, build/ and dist/.
if (( setup )); then rm -rf --one-file-system "$root/src/torchrnn"; fi
mkdir -p "$root/src/torchrnn"
if (( setup )); then
  (cd "$repo" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$root/src/torchrnn"
else
  # Over the last run's tree: only files whose content changed are written, with a new mtime,
  # so that the build there sees them as newer than its objects (tar would keep this
  # checkout's mtimes, which can be older than an object built from the previous content).
  incoming="$root/src/.incoming"
  rm -rf --one-file-system "$incoming"
  mkdir -p "$incoming"
  (cd "$repo" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$incoming"
  (cd "$incoming" && find . -type f -print0) | while IFS= read -r -d '' f; do
    if ! cmp -s "$incoming/$f" "$root/src/torchrnn/$f"; then
      mkdir -p "$(dirname "$root/src/torchrnn/$f")"
      cp "$incoming/$f" "$root/src/torchrnn/$f"
    fi
  done
  rm -rf --one-file-system "$incoming"
fi

script='cd /src/torchrnn && echo "[chroot] Debian $(cat /etc/debian_version), node $(node -v)"'
if (( setup )); then script+=' && bash scripts/setup.sh --dev'; fi
script+=' && exec "$@"'
set +e
in_chroot bash -c "$script" bash "${cmd[@]}"
rc=$?
set -e
# What a command there makes for the checkout: prebuilds (npm run prebuild), fixtures of the
# release's PyTorch line (npm run fixtures writes test/fixtures/torch-<line>/) and that line's
# API dump (scripts/gen-api/dump.ts writes scripts/gen-api/data/api-<line>.json). Only the
# release's own line is copied back: the other line's files are this checkout's.
case "$release" in bookworm) line=1.13 ;; trixie) line=2.6 ;; esac
if [[ -d "$root/src/torchrnn/prebuilds" ]]; then
  mkdir -p "$repo/prebuilds"
  cp -a "$root/src/torchrnn/prebuilds/." "$repo/prebuilds/"
fi
if [[ -d "$root/src/torchrnn/test/fixtures/torch-$line" ]]; then
  cp -a "$root/src/torchrnn/test/fixtures/torch-$line" "$repo/test/fixtures/"
fi
if [[ -f "$root/src/torchrnn/scripts/gen-api/data/api-$line.json" ]]; then
  cp -a "$root/src/torchrnn/scripts/gen-api/data/api-$line.json" "$repo/scripts/gen-api/data/"
fi
say "exit $rc"
exit "$rc"
