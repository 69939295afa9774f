#!/usr/bin/env bash
# Compiles and links the addon against Debian 13's CUDA build of libtorch (libtorch-cuda-dev
# 2.6, contrib), in a trixie chroot of its own, so that the CUDA build is at least built. No GPU
# and no cuDNN are needed, and nothing is run on a GPU. A CI step (.ci/run prepares the chroot
# in the background while the tests run, then builds): about 2.7 GB download, 8.6 GB on disk,
# 12.5 min from scratch on 2 cores (measured; about 6 min with the chroot kept).
#
#   bash scripts/cuda-compile-check.sh            make/reuse the chroot, build, check
#   bash scripts/cuda-compile-check.sh --prepare  only make the chroot and install (network, disk)
#   bash scripts/cuda-compile-check.sh --remove   delete the chroot
#
# What it does:
#  1. scripts/test-in-debian.sh trixie --prepare in $TORCHRNN_CUDA_CHROOTS (default
#     /var/tmp/torchrnn-cuda-chroots; kept apart from test-in-debian's own chroots, because
#     libtorch-cuda-dev conflicts with libtorch-dev), then adds non-free and non-free-firmware.
#  2. libtorch-cuda-2.6 depends on nvidia-cudnn, an installer that downloads cuDNN from NVIDIA
#     while it is installed. An empty local package of that name stands in for it (no cuDNN
#     library inside). Then apt-get installs libtorch-cuda-dev, nvidia-cuda-toolkit (nvcc and
#     the CUDA headers: Caffe2Config.cmake runs find_package(CUDA) and enable_language(CUDA),
#     and fails without them) and the build tools.
#  3. npm ci && npm run build:native in a copy of this checkout (test-in-debian.sh --no-setup).
#  4. Checks that torchrnn.node has libtorch_cuda.so.2.6 as NEEDED, then loads it with node.
#     Without cuDNN the load fails with "libcudnn.so.9: cannot open shared object file"
#     (libtorch_cuda needs it): that one failure is expected and reported, not an error. If it
#     loads (a real cuDNN in the chroot), torch.cuda.isAvailable() must be false and
#     .to('cuda') must throw ERR_CUDA_UNAVAILABLE (no GPU here).
# Needs root. Exit status 0 when all of that holds.
set -euo pipefail

say() { printf '[cuda-check] %s\n' "$*"; }
die() { printf '[cuda-check] error: %s\n' "$*" >&2; exit 1; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
chroots="${TORCHRNN_CUDA_CHROOTS:-/var/tmp/torchrnn-cuda-chroots}"
root="$chroots/trixie"
in_debian() { TORCHRNN_CHROOTS="$chroots" bash "$repo/scripts/test-in-debian.sh" trixie "$@"; }

prepare_only=0
case "${1:-}" in
  --remove) in_debian --remove; exit $? ;;
  --prepare) prepare_only=1 ;;
  -h|--help) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  *) die "unknown option: $1" ;;
esac
[[ "$(id -u)" == 0 ]] || die "needs root (debootstrap, mount, chroot)"
total=$SECONDS

# --- 1. the chroot ---------------------------------------------------------------------------------
in_debian --prepare

# --- 2. CUDA libtorch, placeholder cuDNN, CUDA toolkit ---------------------------------------------
packages=(libtorch-cuda-dev nvidia-cuda-toolkit cmake g++ make ninja-build)
if [[ ! -f "$root/.torchrnn-cuda-ready" ]]; then
  mounted=()
  cleanup() {
    local i
    for (( i = ${#mounted[@]} - 1; i >= 0; i-- )); do umount -R -l "${mounted[$i]}" 2>/dev/null || true; done
  }
  trap cleanup EXIT
  # shellcheck source=scripts/chroot-lock.sh
  source "$repo/scripts/chroot-lock.sh"
  claim_chroot "$root"
  mount -t proc proc "$root/proc"; mounted+=("$root/proc")
  mount -t sysfs sys "$root/sys"; mounted+=("$root/sys")
  mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; mounted+=("$root/dev")
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  ch() {
    nice -n 19 ionice -c3 chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"
  }

  sed -i -E '/^deb /{/ non-free( |$)/! s/$/ non-free/}; /^deb /{/ non-free-firmware( |$)/! s/$/ non-free-firmware/}' \
    "$root/etc/apt/sources.list"

  # The stand-in for nvidia-cudnn: no files, a version above libtorch-cuda-2.6's ">= 9.0.0.312~",
  # and what the real one provides.
  mkdir -p "$root/var/tmp/nvidia-cudnn-placeholder/DEBIAN"
  cat >"$root/var/tmp/nvidia-cudnn-placeholder/DEBIAN/control" <<'EOF'
Package: nvidia-cudnn
Version: 9.99
Architecture: amd64
Maintainer: torchrnn cuda-compile-check <nobody@localhost>
Provides: libcudnn-dev, libcudnn.so, libcudnn.so.9
Section: contrib/libs
Priority: optional
Description: placeholder for the cuDNN installer (no cuDNN inside)
 Satisfies libtorch-cuda-2.6's dependency so that torchrnn can be compiled
 and linked against Debian's CUDA libtorch. Contains no files.
EOF
  ch dpkg-deb --root-owner-group -b /var/tmp/nvidia-cudnn-placeholder /var/tmp/nvidia-cudnn_9.99_amd64.deb >/dev/null
  ch dpkg -i /var/tmp/nvidia-cudnn_9.99_amd64.deb >/dev/null

  log="$root.cuda-apt.log"
  start=$SECONDS
  echo 'Acquire::Retries "5";' >"$root/etc/apt/apt.conf.d/80torchrnn-retries"   # a dropped download is retried
  say "apt-get install ${packages[*]} (log: $log)"
  { ch apt-get update -q && ch apt-get install -y -q -d --no-install-recommends "${packages[@]}"; } >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "apt-get in the chroot failed (log: $log)"; }
  say "downloaded in $(( SECONDS - start )) s"
  ch apt-get install -y -q --no-install-recommends "${packages[@]}" >>"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "apt-get in the chroot failed (log: $log)"; }
  ch apt-get clean
  say "installed in $(( SECONDS - start )) s: $(ch dpkg-query -W -f='${Version}' libtorch-cuda-dev), nvcc $(ch nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')"
  cleanup; mounted=(); trap - EXIT
  touch "$root/.torchrnn-cuda-ready"
fi
if (( prepare_only )); then say "chroot ready in $(( SECONDS - total )) s"; exit 0; fi

# --- 3 and 4. build, then what it links and how it loads ------------------------------------------
# shellcheck disable=SC2016  # runs in the chroot
check='
set -euo pipefail
say() { printf "[cuda-check] %s\n" "$*"; }
start=$SECONDS
npm ci --no-audit --no-fund
npm run build:native
say "built in $(( SECONDS - start )) s"
addon=build/Release/torchrnn.node
needed="$(readelf -d "$addon" | sed -n "s/.*(NEEDED).*\[\(.*\)\]/\1/p" | tr "\n" " ")"
say "NEEDED: $needed"
case " $needed " in *" libtorch_cuda.so."*) ;; *) say "FAIL: libtorch_cuda is not linked in"; exit 1 ;; esac
missing="$(ldd "$addon" | sed -n "s/^[[:space:]]*\([^ ]*\) => not found/\1/p" | sort -u | tr "\n" " ")"
[[ -z "$missing" ]] || say "not found by the loader: $missing"
if out="$(node -e "require(\"./$addon\")" 2>&1)"; then
  npm run build:ts
  node -e "
    const torch = require(\"./dist/index.js\");
    if (torch.cuda.isAvailable()) { console.error(\"[cuda-check] FAIL: a GPU is visible\"); process.exit(1); }
    try { torch.zeros([2]).to(\"cuda\"); console.error(\"[cuda-check] FAIL: .to(cuda) did not throw\"); process.exit(1); }
    catch (e) { if (e.code !== \"ERR_CUDA_UNAVAILABLE\") throw e; }
    console.log(\"[cuda-check] loaded: cuda.isAvailable() false, .to(cuda) throws ERR_CUDA_UNAVAILABLE\");
  "
elif [[ "$missing" == "libcudnn.so.9 " ]] && grep -q "libcudnn.so.9: cannot open shared object file" <<<"$out"; then
  say "does not load, as expected without cuDNN (placeholder nvidia-cudnn): $(grep -m1 libcudnn <<<"$out")"
else
  printf "%s\n" "$out" >&2
  say "FAIL: loading failed for another reason"
  exit 1
fi
'
in_debian --no-setup -- bash -c "$check"
say "done in $(( SECONDS - total )) s"
