#!/usr/bin/env bash
# npm run prebuild:all: the prebuilt binaries the npm package ships, one per supported libtorch
# line: this machine's natively (npm run prebuild), the other Debian release's inside its chroot
# (scripts/test-in-debian.sh, which copies what the chroot writes to prebuilds/ back here).
#   Debian 12 (bookworm): libtorch 1.13, glibc 2.36      Debian 13 (trixie): libtorch 2.6, glibc 2.41
# Then `npm pack` makes a tarball that carries both (CPU).
#
#   bash scripts/prebuild-all.sh            prebuilds/<platform>-<arch>/ is emptied first, so the
#                                           tarball ships only what this run built
#   bash scripts/prebuild-all.sh --setup    run the chroot's full set-up (scripts/setup.sh) even
#                                           when the last run's tree there can be reused
#
# Needs root (the chroot). The chroot lives in $TORCHRNN_CHROOTS (test-in-debian.sh's default:
# /var/tmp/torchrnn-chroots); its first use creates it and runs the set-up (~7 min plus a build
# of the addon). A later run reuses the chroot's tree (--no-setup) when its package-lock.json is
# this checkout's and its libtorch-dev is installed: prebuild compiles in a copy of native/ and
# needs only node_modules and libtorch's headers from it.
set -euo pipefail

say() { printf '[prebuild:all] %s\n' "$*"; }
die() { printf '[prebuild:all] error: %s\n' "$*" >&2; exit 1; }

force_setup=0
for arg in "$@"; do
  case "$arg" in
    --setup) force_setup=1 ;;
    -h|--help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $arg" ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
codename="$(. /etc/os-release 2>/dev/null && printf '%s' "${VERSION_CODENAME:-}")"
case "$codename" in
  bookworm) other=trixie ;;
  trixie) other=bookworm ;;
  *) die "this machine is '${codename:-not Debian}': prebuild:all runs on Debian 12 (bookworm) or 13 (trixie)" ;;
esac
[[ "$(id -u)" == 0 ]] || die "needs root (the $other chroot: debootstrap, mount, chroot)"

dir="prebuilds/$(node -p 'process.platform + "-" + process.arch')"
if [[ -d "$dir" ]]; then
  say "emptying $dir (only what this run builds ships)"
  rm -rf "$dir"
fi

start=$SECONDS
say "$codename (this machine): npm run prebuild"
npm run prebuild

chroot_root="${TORCHRNN_CHROOTS:-/var/tmp/torchrnn-chroots}/$other"
setup=(--no-setup)
if (( force_setup )) || [[ ! -f "$chroot_root/.torchrnn-ready" ]] \
  || [[ ! -f "$chroot_root/usr/lib/x86_64-linux-gnu/cmake/Torch/TorchConfig.cmake" && ! -f "$chroot_root/usr/lib/aarch64-linux-gnu/cmake/Torch/TorchConfig.cmake" ]] \
  || [[ ! -d "$chroot_root/src/torchrnn/node_modules/prebuildify" ]] \
  || ! cmp -s "$chroot_root/src/torchrnn/package-lock.json" "$repo/package-lock.json"; then
  setup=()
fi
say "$other (chroot in $chroot_root${setup[*]:+, reusing its last set-up}): npm run prebuild"
# prebuilds/ there is emptied first: test-in-debian.sh copies back all it holds, and a reused
# tree keeps the last run's files.
bash scripts/test-in-debian.sh "$other" "${setup[@]}" -- bash -c 'rm -rf prebuilds && npm run prebuild'

# Both lines must be there now, each with its own glibc.
node -e '
  const { listPrebuilds } = require("./scripts/load-addon.js");
  const p = listPrebuilds(".");
  for (const x of p) console.log(`[prebuild:all]   ${require("path").relative(".", x.file)}`);
  const lines = new Set(p.map((x) => x.libtorch.split(".").slice(0, 2).join(".")));
  if (lines.size < 2) { console.error(`[prebuild:all] error: expected prebuilds for two libtorch lines, found ${[...lines].join(", ") || "none"}`); process.exit(1); }
'
say "done in $(( SECONDS - start )) s; \`npm pack\` ships these"
