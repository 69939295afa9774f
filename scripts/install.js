#!/usr/bin/env node
'use strict';
// npm's install step for torchrnn. Nothing here downloads anything.
//   1. A prebuilt binary that matches the libtorch on this machine (found by its shared
//      libraries: a runtime package is enough) loads, tried in a child process: done, nothing
//      compiled. One that does not load (another build of the same version: undefined symbols)
//      is reported with the loader's message, and the install goes on to 2.
//   2. Otherwise, with libtorch found (its CMake files): build from source with cmake-js against it.
//   3. No libtorch: fail with ERR_LIBTORCH_NOT_FOUND, the places looked at and the three ways
//      to provide one (or, when only its shared libraries were found, what building needs).
// In a development checkout (lib/*.ts present) it does nothing: `npm run compile` builds there.
// The same choice is made again at run time (scripts/load-addon.js), so a package installed
// with scripts disabled (npm --ignore-scripts, or npm's allowScripts policy) still uses its
// prebuild.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch, HOW_TO } = require('./find-libtorch.js');
const { choose, loadAddon, variantOf } = require('./load-addon.js');

const root = path.join(__dirname, '..');
const say = (m) => process.stdout.write(`torchrnn: ${m}\n`);
const fail = (code, m) => {
  process.stderr.write(`torchrnn: ${code}: ${m}\n`);
  process.exit(1);
};

if (fs.existsSync(path.join(root, 'lib', 'index.ts'))) {
  say('development checkout: build with `npm run compile` (or `bash scripts/setup.sh`)');
  process.exit(0);
}

/**
 * Loads the chosen prebuild in a child process, so that whatever loading does (a dlopen that
 * fails on undefined symbols, a libtorch that aborts in its static initializers when it meets
 * another copy of itself) is reported and cannot end this script: the install goes on to build
 * from source. Returns { file, refused } when a prebuild loads, else { failed: [{ file, cause }] }.
 */
function probePrebuild() {
  const code = `
    const l = require(${JSON.stringify(path.join(__dirname, 'load-addon.js'))});
    let out;
    try { const r = l.loadAddon(${JSON.stringify(root)}, { prebuildsOnly: true }); out = { file: r.file, refused: r.refused }; }
    catch (e) { out = { failed: e.failed || [], message: String(e.message) }; }
    process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8', timeout: 120000 });
  try {
    return JSON.parse(r.stdout);
  } catch {
    const last = String(r.stderr || '').trim().split('\n').filter(Boolean).pop();
    const how = r.signal ? `the process loading it was killed by ${r.signal}` : `the process loading it exited with ${r.status}`;
    return { failed: [{ file: choice.file, cause: `${how}${last ? `: ${last}` : ''}` }] };
  }
}

const choice = choose(root, { prebuildsOnly: true });
for (const r of choice.refused) say(`prebuilt binary not used: ${r}`);
if (choice.file) {
  const probe = probePrebuild();
  if (probe.file) {
    for (const r of probe.refused) if (!choice.refused.includes(r)) say(`prebuilt binary not used: ${r}`);
    say(`using the prebuilt binary ${path.relative(root, probe.file)} (libtorch ${choice.found.version}, ${variantOf(choice.found)}, from ${choice.found.source} in ${choice.found.libDir}); nothing to compile`);
    process.exit(0);
  }
  for (const f of probe.failed) say(`the prebuilt binary ${path.basename(f.file)} does not load here (${f.cause}); building from source`);
  if (!probe.failed.length) say(`the prebuilt binary ${path.basename(choice.file)} does not load here (${String(probe.message).split('\n')[0]}); building from source`);
}

const { found, tried } = findLibtorch();
if (!found) {
  // Only the shared libraries (a runtime package such as Debian's libtorch2.6, without
  // libtorch-dev) are not enough to build: say so rather than "not found".
  const runtime = choice.found !== undefined ? choice.found : findLibtorch({ runtime: true }).found;
  if (runtime) {
    fail('ERR_LIBTORCH_NOT_FOUND', `libtorch ${runtime.version} (${variantOf(runtime)}) was found from ${runtime.source} in ${runtime.libDir}, but no prebuilt binary fits it, and building from source needs its headers and CMake files, which were not found. Looked at:\n  ${tried.join('\n  ')}\n`
      + `Install them (Debian/Ubuntu: sudo apt-get install libtorch-dev, the same version as the runtime), or set LIBTORCH to a libtorch that has them, and run \`npm rebuild torchrnn\`.`);
  }
  fail('ERR_LIBTORCH_NOT_FOUND', `libtorch was not found. Looked at:\n  ${tried.join('\n  ')}\n${HOW_TO}\nThen run \`npm rebuild torchrnn\`.`);
}

function onPath(cmd) {
  return (process.env.PATH || '').split(path.delimiter).some((d) => {
    try { fs.accessSync(path.join(d, cmd), fs.constants.X_OK); return true; } catch { return false; }
  });
}
const missing = [['cmake', 'cmake'], [process.env.CXX || 'c++', 'g++'], ['make', 'make']].filter(([cmd]) => !onPath(cmd)).map(([, pkg]) => pkg);
if (missing.length) {
  fail('ERR_BUILD_TOOLS_NOT_FOUND', `no prebuilt binary fits libtorch ${found.version} (${found.variant}) from ${found.source}, and building from source needs ${missing.join(', ')}, not found on PATH.\n`
    + `Install them (Debian/Ubuntu: sudo apt-get install ${missing.join(' ')}) and run \`npm rebuild torchrnn\`.`);
}

say(`building from source against libtorch ${found.version} (${found.variant}) from ${found.source} in ${found.libDir} (a few minutes)`);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--out', 'build'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail('ERR_BUILD_FAILED', `the build from source failed (cmake-js exit ${r.status}); the output above says why`);
try {
  const { file } = loadAddon(root);
  say(`built ${path.relative(root, file)}`);
} catch (err) {
  fail('ERR_BUILD_FAILED', `the addon was built but does not load: ${err.message}`);
}
