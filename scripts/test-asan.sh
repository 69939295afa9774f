#!/usr/bin/env bash
# npm run test:asan [-- <mocha arguments>]: the test suite against the AddressSanitizer +
# UndefinedBehaviorSanitizer build of the addon (npm run build:asan, build-asan/Release/).
#
#   bash scripts/test-asan.sh                   the whole mocha suite, then tfjs-core's suite
#   bash scripts/test-asan.sh test/30.*.ts …    mocha on these files only (CI's subset)
#   bash scripts/test-asan.sh --tfjs-suite …    and tfjs-core's suite after them
#
# Only the addon is instrumented; Node and libtorch are not, so ASan's runtime is preloaded
# (LD_PRELOAD of gcc's libasan.so, which must come first in the process) and
# scripts/load-addon.js loads the build TORCHRNN_ADDON names. UBSan's runtime is inside the
# addon (CMakeLists.txt says why: GCC's shared libubsan.so, preloaded after libasan, writes its
# reports to stderr whatever log_path says). Every process the tests start inherits the
# environment: child Node processes (the CLI, distributed ranks, workers' helpers) run the
# sanitizer build too.
#
# Options:
#   ASan: allocator_may_return_null=1: tests ask libtorch for impossible sizes (a tensor of 2^62
#         elements) and expect its "out of memory" error, where ASan would end the process;
#         detect_leaks=0: Node and libtorch are not built for LeakSanitizer, and both keep
#         process-lifetime allocations (V8's isolate, libtorch's operator registry, OpenBLAS's
#         buffers) that they never free at exit: the exit-time report is thousands of entries
#         none of which is the addon's. The addon's own leaks are checked where they matter,
#         by the tests (torch.memory() back to its baseline after `await settle()`, test/91);
#         halt_on_error=1 (ASan's errors are not recoverable anyway: the process ends);
#         log_path: each process writes its reports to its own file in $LOGDIR, so every
#         report is counted, also those of child processes whose stderr a test swallows.
#   UBSan: print_stacktrace=1; reports go to $LOGDIR as well and the process goes on (every
#         report is counted, not only the first).
# The script fails when any report was written, even when every test passed, and prints the
# count. TORCHRNN_ASAN_LOGS=<dir> keeps the reports there (default: a new directory in /tmp).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD

ADDON=${TORCHRNN_ADDON:-$ROOT/build-asan/Release/torchrnn.node}
if [ ! -f "$ADDON" ]; then
  echo "test-asan: no sanitizer build at $ADDON: run \`npm run build:asan\` first" >&2
  exit 2
fi
LIBASAN=$(gcc -print-file-name=libasan.so)
if [ ! -f "$LIBASAN" ]; then
  echo "test-asan: gcc has no libasan.so here (gcc's AddressSanitizer runtime: Debian's libasan8)" >&2
  exit 2
fi

LOGDIR=${TORCHRNN_ASAN_LOGS:-$(mktemp -d /tmp/torchrnn-asan.XXXXXX)}
mkdir -p "$LOGDIR"
rm -f "$LOGDIR"/asan.* "$LOGDIR"/ubsan.*

# Executables the tests start that hang with ASan's runtime preloaded run without it, through a
# wrapper first on PATH: espeak-ng (the speech task's voices) deadlocks at start on glibc's
# gettext lock (bindtextdomain, from PulseAudio's initialization) under ASan's interceptors.
SHIMS="$LOGDIR/bin"
mkdir -p "$SHIMS"
for tool in espeak-ng; do
  real=$(command -v "$tool") || continue
  printf '#!/bin/sh\n# scripts/test-asan.sh: %s without the sanitizer runtimes\nunset LD_PRELOAD\nexec "%s" "$@"\n' "$tool" "$real" >"$SHIMS/$tool"
  chmod +x "$SHIMS/$tool"
done
export PATH="$SHIMS:$PATH"

export TORCHRNN_ADDON=$ADDON
export LD_PRELOAD="$LIBASAN${LD_PRELOAD:+ $LD_PRELOAD}"
export ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=0:halt_on_error=1:log_path=$LOGDIR/asan:log_exe_name=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=$LOGDIR/ubsan:log_exe_name=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

tfjs=0
files=()
for a in "$@"; do
  if [ "$a" = "--tfjs-suite" ]; then tfjs=1; else files+=("$a"); fi
done
[ $# -eq 0 ] && tfjs=1

echo "test-asan: addon $ADDON"
echo "test-asan: reports go to $LOGDIR"
start=$(date +%s)
status=0
if [ ${#files[@]} -gt 0 ]; then
  # .mocharc.json's spec would add every file: the options without it
  npx mocha --no-config -r tsx/cjs --extension ts --node-option expose-gc --timeout 120000 "${files[@]}" || status=$?
else
  npx mocha || status=$?
fi
if [ $tfjs = 1 ]; then
  npx tsx test/tfjs/run-suite.ts || status=$?
fi
elapsed=$(( $(date +%s) - start ))

# One report = one "ERROR: AddressSanitizer" / "ERROR: LeakSanitizer" header or one UBSan
# "runtime error:" line. ASan's "failed to allocate 0x… bytes" warnings are the impossible sizes
# the tests ask for (allocator_may_return_null=1) and not reports; a log file with anything else
# and no report header (an unexpected format) counts once.
reports=0
warnings=0
for f in "$LOGDIR"/asan.* "$LOGDIR"/ubsan.*; do
  [ -s "$f" ] || continue
  w=$(grep -cE '^==[^ ]*==WARNING: AddressSanitizer failed to allocate 0x[0-9a-f]+ bytes$' "$f")
  warnings=$(( warnings + w ))
  n=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$f")
  if [ "$n" -eq 0 ]; then
    other=$(grep -cvE '^==[^ ]*==WARNING: AddressSanitizer failed to allocate 0x[0-9a-f]+ bytes$' "$f")
    [ "$other" -gt 0 ] && n=1
  fi
  [ "$n" -eq 0 ] && continue
  reports=$(( reports + n ))
  echo "test-asan: report(s) in $f:" >&2
  grep -vE 'WARNING: AddressSanitizer failed to allocate' "$f" | head -n 60 >&2
done
[ $warnings -gt 0 ] && echo "test-asan: $warnings allocations of impossible sizes refused (allocator_may_return_null: the tests' out-of-memory cases)"
echo "test-asan: $reports sanitizer report(s); tests exited with $status; ${elapsed} s"
[ $reports -gt 0 ] && exit 1
exit $status
