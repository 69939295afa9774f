#!/usr/bin/env node
'use strict';
// npm's install step for torchrnn. Nothing here downloads anything.
//   1. A prebuilt binary that matches the libtorch on this machine loads: done, nothing compiled.
//   2. Otherwise, with libtorch found: build from source with cmake-js against it.
//   3. No libtorch: fail with ERR_LIBTORCH_NOT_FOUND, the places looked at and the three ways
//      to provide one.
// In a development checkout (lib/*.ts present) it does nothing: `npm run compile` builds there.
// The same choice is made again at run time (scripts/load-addon.js), so a package installed
// with scripts disabled (npm --ignore-scripts, or npm's allowScripts policy) still uses its
// prebuild.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const { findLibtorch, HOW_TO } = require('./find-libtorch.js');
const { choose, loadAddon } = require('./load-addon.js');

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

const choice = choose(root, { prebuildsOnly: true });
if (choice.file) {
  try {
    loadAddon(root);
    say(`using the prebuilt binary ${path.relative(root, choice.file)} (libtorch ${choice.found.version} from ${choice.found.source}); nothing to compile`);
    process.exit(0);
  } catch (err) {
    say(`the prebuilt binary ${path.basename(choice.file)} does not load here (${String(err.message).split('\n')[0]}); building from source`);
  }
} else {
  for (const r of choice.refused) say(`prebuilt binary not used: ${r}`);
}

const { found, tried } = findLibtorch();
if (!found) fail('ERR_LIBTORCH_NOT_FOUND', `libtorch was not found. Looked at:\n  ${tried.join('\n  ')}\n${HOW_TO}\nThen run \`npm rebuild torchrnn\`.`);

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
