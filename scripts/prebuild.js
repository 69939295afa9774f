#!/usr/bin/env node
'use strict';
// npm run prebuild: builds the addon with prebuildify (Node-API, stripped; node-gyp backend,
// binding.gyp) and stores it as
//   prebuilds/<platform>-<arch>/torchrnn.napi.glibc-<v>.libtorch-<version>-<variant>.node
// a name that records what it was built against, so that scripts/load-addon.js loads it only
// where the same libtorch is found. node-gyp always builds in ./build, where the CMake build
// lives too, so prebuildify runs in a temporary copy of the sources.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { findLibtorch, HOW_TO } = require('./find-libtorch.js');
const { prebuildName, choose, PREBUILD } = require('./load-addon.js');

const root = path.join(__dirname, '..');
const { found, tried } = findLibtorch();
if (!found) {
  process.stderr.write(`prebuild: libtorch not found. Looked at:\n  ${tried.join('\n  ')}\n${HOW_TO}\n`);
  process.exit(1);
}
const name = prebuildName(found);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'torchrnn-prebuild-'));
try {
  for (const entry of ['binding.gyp', 'package.json', 'native', 'scripts']) {
    fs.cpSync(path.join(root, entry), path.join(work, entry), { recursive: true });
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'), 'dir');
  const env = { ...process.env };
  // node-gyp builds against this Node's own headers when they are installed (no download)
  const prefix = path.dirname(path.dirname(process.execPath));
  if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
  const t0 = Date.now();
  console.log(`prebuild: building against libtorch ${found.version} (${found.variant}) from ${found.source} in ${found.libDir}`);
  execFileSync(process.execPath, [require.resolve('prebuildify/bin.js'), '--napi', '--strip'], { cwd: work, env, stdio: 'inherit' });
  const outDir = path.join(work, 'prebuilds', `${process.platform}-${process.arch}`);
  const built = fs.readdirSync(outDir).filter((f) => f.endsWith('.node'));
  if (built.length !== 1) throw new Error(`prebuild: expected one .node file in ${outDir}, found ${built.join(', ') || 'none'}`);
  const destDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  fs.mkdirSync(destDir, { recursive: true });
  const dest = path.join(destDir, name);
  if (!PREBUILD.test(name)) throw new Error(`prebuild: ${name} does not parse as a prebuild name`);
  fs.copyFileSync(path.join(outDir, built[0]), dest);
  // The run-time lookup (by shared libraries, scripts/load-addon.js) must choose this binary on
  // this machine: the tag written here and the one computed there come from the same rule.
  const chosen = choose(root, { prebuildsOnly: true });
  if (!chosen.files.includes(dest)) {
    fs.rmSync(dest);
    throw new Error(`prebuild: the loader would not choose ${name} on the machine that built it:\n  ${chosen.refused.join('\n  ') || 'no libtorch found at run time'}`);
  }
  const size = (fs.statSync(dest).size / 1e6).toFixed(1);
  console.log(`prebuild: wrote ${path.relative(root, dest)} (${size} MB) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
