#!/usr/bin/env bash
# The one set-up step for a new user and for CI: installs what is missing, installs the npm
# dependencies and builds the addon. Safe to run again (it skips what is already there).
#
#   bash scripts/setup.sh          libtorch, OpenBLAS, the build tools, npm ci, npm run compile
#   bash scripts/setup.sh --dev    also python3-torch (scripts/gen-fixtures.py, benchmarks) and iproute2 (test/66)
#
# As root with apt-get it installs missing Debian packages itself. Otherwise it says what to
# install, or builds against the libtorch that scripts/find-libtorch.js finds ($LIBTORCH,
# then Python's torch, then the system).
set -euo pipefail

say() { printf '[setup] %s\n' "$*"; }
warn() { printf '[setup] warning: %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
# shellcheck disable=SC2154  # rc is assigned inside the trap
trap 'rc=$?; printf "[setup] failed (exit %s) at: %s\n" "$rc" "$BASH_COMMAND" >&2' ERR

usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $arg" ;;
  esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
say "repository: $(pwd)"

# --- Node ------------------------------------------------------------------------------------
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  die "Node.js and npm are required (see \"engines\" in package.json); install them first, e.g. from https://nodejs.org/"
fi
# shellcheck disable=SC2016  # JavaScript, not shell
node -e '
  const want = (require("./package.json").engines || {}).node || "";
  const m = want.match(/>=\s*(\d+)\.(\d+)\.(\d+)/);
  if (!m) process.exit(0);
  const have = process.versions.node.split(".").map(Number);
  const need = m.slice(1).map(Number);
  for (let i = 0; i < 3; i++) {
    if (have[i] !== need[i]) {
      if (have[i] > need[i]) process.exit(0);
      console.error(`[setup] error: Node.js ${want} is required, this is ${process.version}`);
      process.exit(1);
    }
  }' || exit 1
say "node $(node -v), npm $(npm -v 2>/dev/null)"

# --- System packages -------------------------------------------------------------------------
# make: cmake-js (without ninja) and node-gyp drive make; cmake only recommends it, so
# --no-install-recommends would leave it out. ninja-build: cmake-js prefers Ninja, which builds
# in parallel. libtorch-dev pulls in the rest (libtorch1.13, headers, python3 for node-gyp);
# its libblas.so.3 dependency is satisfied by libopenblas0-pthread, so the reference BLAS
# (about 7 times slower for an LSTM training step) is not installed. libgloo-dev: the Gloo
# headers that c10d's ProcessGroupGloo.hpp includes (torch.distributed; without them the addon
# builds without distributed support). dataset-fashion-mnist: the 70,000 Fashion-MNIST images
# (30 MB, IDX files under /usr/share/datasets) for `torchrnn train mnist --fashion`.
# espeak-ng: the speech synthesizer that the speech and wavenet tasks make their audio with
# (Debian 12: 1.51, Debian 13: 1.52).
packages=(libtorch-dev libgloo-dev libopenblas0-pthread cmake g++ make ninja-build dataset-fashion-mnist espeak-ng)
# --dev adds python3-torch (fixtures, the Python interop tests, benchmarks) and iproute2 (test/66
# makes network namespaces with `ip netns` for its ranks on separate hosts).
if (( dev )); then packages+=(python3-torch iproute2); fi

have_dpkg=0
command -v dpkg-query >/dev/null 2>&1 && have_dpkg=1

installed() { # a package counts when dpkg says "... installed" (not "config-files" etc.)
  local status
  status="$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" || return 1
  [[ "$status" == *" installed" ]]
}

missing=()
if (( have_dpkg )); then
  for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
  done
fi

is_root=0
[[ "$(id -u)" == 0 ]] && is_root=1
have_apt=0
command -v apt-get >/dev/null 2>&1 && (( have_dpkg )) && have_apt=1

print_how_to() {
  local list=("$@")
  (( ${#list[@]} )) || list=("${packages[@]}")
  cat >&2 <<EOF
[setup] Install the missing packages (Debian 12 / Ubuntu), then run this script again:
    sudo apt-get update
    sudo apt-get install -y --no-install-recommends ${list[*]}
[setup] Or build against another libtorch (cmake, make and a C++17 compiler are still needed):
    export LIBTORCH=/path/to/libtorch          # an unpacked libtorch (the folder holding share/cmake/Torch)
    export LIBTORCH=/path/to/site-packages/torch   # or a Python torch install
  or make 'python3 -c "import torch"' work (set PYTHON to choose the interpreter), then run:
    bash scripts/setup.sh
EOF
}

if (( ${#missing[@]} )); then
  if (( is_root && have_apt )); then
    say "installing: ${missing[*]}"
    # A fresh machine has no package lists yet; one update per run is enough.
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    missing=()   # apt-get install -y fails (and so this script) unless all of them are installed
  else
    why="not root"; (( have_apt )) || why="no apt-get"
    say "missing Debian packages: ${missing[*]} (cannot install them: $why)"
  fi
elif (( have_dpkg )); then
  say "system packages present: ${packages[*]}"
fi

# --- BLAS: OpenBLAS (pthread) must be the libblas.so.3 that libtorch loads ---------------------
# Installing libopenblas0-pthread normally selects it (priority 100 against 10 for the
# reference BLAS), but a manual update-alternatives choice or another BLAS can override that.
if (( have_dpkg )) && installed libopenblas0-pthread && command -v update-alternatives >/dev/null 2>&1; then
  blas_ok=1
  while read -r name _; do
    [[ "$name" == libblas.so.3-* || "$name" == liblapack.so.3-* ]] || continue
    want="$(update-alternatives --list "$name" 2>/dev/null | grep '/openblas-pthread/' | head -n1 || true)"
    [[ -n "$want" ]] || continue
    current="$(update-alternatives --query "$name" 2>/dev/null | sed -n 's/^Value: //p')"
    if [[ "$current" != "$want" ]]; then
      if (( is_root )); then
        say "selecting OpenBLAS for $name (was ${current:-none})"
        update-alternatives --set "$name" "$want"
      else
        blas_ok=0
        warn "$name points to ${current:-none}, not OpenBLAS: training will be several times slower. Fix with:"
        printf '    sudo update-alternatives --set %s %s\n' "$name" "$want" >&2
      fi
    fi
  done < <(update-alternatives --get-selections 2>/dev/null || true)
  if (( blas_ok )); then say "BLAS: OpenBLAS (pthread)"; fi
fi

# --- libtorch, build tools -------------------------------------------------------------------
if ! libtorch_json="$(node scripts/find-libtorch.js --json 2>/dev/null)"; then
  node scripts/find-libtorch.js --json >/dev/null || true   # prints where it looked
  print_how_to "${missing[@]+"${missing[@]}"}"
  exit 1
fi
# shellcheck disable=SC2016  # JavaScript, not shell
say "libtorch: $(node -e '
  const f = JSON.parse(process.argv[1]);
  process.stdout.write(`${f.version || "unknown version"} (${f.source}, ${f.variant}) in ${f.libDir}`);
' "$libtorch_json")"

tools_missing=()
command -v cmake >/dev/null 2>&1 || tools_missing+=(cmake)
command -v c++ >/dev/null 2>&1 || command -v g++ >/dev/null 2>&1 || tools_missing+=(g++)
command -v make >/dev/null 2>&1 || command -v ninja >/dev/null 2>&1 || tools_missing+=(make)
if (( ${#tools_missing[@]} )); then
  say "missing build tools: ${tools_missing[*]}"
  print_how_to "${missing[@]+"${missing[@]}"}"
  exit 1
fi
if (( ${#missing[@]} )); then
  for p in "${missing[@]}"; do
    case "$p" in
      libopenblas0-pthread) warn "libopenblas0-pthread is missing: with the reference BLAS, training is about 7 times slower" ;;
      python3-torch) warn "python3-torch is missing: scripts/gen-fixtures.py and the benchmarks need it" ;;
      iproute2) warn "iproute2 is missing: test/66 (ranks on separate network hosts) skips without the ip command" ;;
      espeak-ng) warn "espeak-ng is missing: the speech and wavenet CLI tasks (and test/73) synthesize their audio with it" ;;
    esac
  done
  warn "continuing without: ${missing[*]} (install with: sudo apt-get install -y --no-install-recommends ${missing[*]})"
fi

# --- npm dependencies and the build ----------------------------------------------------------
if [[ -f package-lock.json ]]; then
  say "npm ci"
  npm ci
else
  say "npm install (no package-lock.json)"
  npm install
fi

say "npm run compile"
npm run compile

say "done: build/Release/torchrnn.node is built; run the tests with: npm test"
