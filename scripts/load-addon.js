'use strict';
// Finds and loads torchrnn's native addon. Used by lib/binding.ts at run time and by
// scripts/install.js and `torchrnn doctor`. Order:
//   1. build/Release/torchrnn.node: built on this machine, against the libtorch recorded in its
//      rpath (npm run compile, or the install script's build from source);
//   2. a prebuild in prebuilds/<platform>-<arch>/ whose name records what it was built against,
//      torchrnn.napi.glibc-<v>.libtorch-<version>-<variant>.node, taken only when that libtorch
//      (version and variant: cpu or cuXYZ) is the one found on this machine now and this glibc is
//      not older. A prebuild for another libtorch is never loaded: the error says so.
// For a libtorch outside the loader's default paths (LIBTORCH, a Python torch), its libraries
// are loaded first by absolute path (RTLD_GLOBAL), so that no LD_LIBRARY_PATH is needed.
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const PREBUILD = /^torchrnn\.napi\.glibc-(\d+\.\d+)\.libtorch-([0-9][\w.]*)-(cpu|cu\d+)\.node$/;

function glibcVersion() {
  if (process.platform !== 'linux') return null;
  const header = process.report && process.report.getReport().header;
  return (header && header.glibcVersionRuntime) || null;
}

function versionLE(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) < (pb[i] || 0);
  }
  return true;
}

/** The variant tag of a libtorch: 'cpu', or 'cu' + the CUDA version digits (cu117). */
function variantOf(found) {
  if (found.variant !== 'cuda') return 'cpu';
  return found.cudaVersion ? `cu${found.cudaVersion.replace('.', '')}` : 'cuda';
}

/** The tag a prebuild built against `found` gets, e.g. glibc-2.36.libtorch-1.13.0-cpu. */
function prebuildName(found, glibc = glibcVersion()) {
  return `torchrnn.napi.glibc-${glibc || '0.0'}.libtorch-${found.version || 'unknown'}-${variantOf(found)}.node`;
}

function listPrebuilds(root = ROOT) {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let names = [];
  try { names = fs.readdirSync(dir); } catch { /* none */ }
  return names.map((n) => {
    const m = PREBUILD.exec(n);
    return m ? { file: path.join(dir, n), glibc: m[1], libtorch: m[2], variant: m[3] } : null;
  }).filter(Boolean);
}

/** Loads a shared library's symbols globally so that the addon's DT_NEEDED entries resolve to it. */
function preload(libDir) {
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL;
  for (const lib of ['libc10.so', 'libtorch_cpu.so', 'libc10_cuda.so', 'libtorch_cuda.so', 'libtorch.so']) {
    const file = path.join(libDir, lib);
    if (!fs.existsSync(file)) continue;
    try {
      process.dlopen({ exports: {} }, file, flags);
    } catch (err) {
      // a plain library "did not self-register" as a Node module, but it is loaded now
      if (!/self-register|register/i.test(String(err && err.message))) throw err;
    }
  }
}

function requireAddon(file) {
  const mod = { exports: {} };
  process.dlopen(mod, file, os.constants.dlopen.RTLD_NOW);
  return mod.exports;
}

/**
 * Chooses the addon to load without loading it. Returns { file, kind, found?, tried[], refused[] }
 * (file null when nothing fits), where refused lists prebuilds passed over and why.
 */
function choose(root = ROOT, opts = {}) {
  const tried = [];
  const refused = [];
  const local = path.join(root, 'build', 'Release', 'torchrnn.node');
  tried.push(`${local} (a build from source)`);
  if (!opts.prebuildsOnly && fs.existsSync(local)) return { file: local, kind: 'build', tried, refused };
  const prebuilds = listPrebuilds(root);
  tried.push(`${path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)} (${prebuilds.length} prebuilt binaries)`);
  if (prebuilds.length === 0) return { file: null, kind: null, tried, refused };
  // eslint-disable-next-line global-require
  const { findLibtorch } = require('./find-libtorch.js');
  const { found, tried: looked } = findLibtorch({ runtime: true });
  if (!found) {
    for (const p of prebuilds) refused.push(`${path.basename(p.file)}: no libtorch found on this machine (looked at ${looked.join('; ')})`);
    return { file: null, kind: null, tried, refused, found: null };
  }
  const glibc = glibcVersion();
  const want = variantOf(found);
  let pick = null;
  for (const p of prebuilds) {
    const name = path.basename(p.file);
    if (p.libtorch !== found.version || p.variant !== want) {
      refused.push(`${name}: built for libtorch ${p.libtorch} (${p.variant}), but this machine has libtorch ${found.version} (${want}) from ${found.source} in ${found.libDir}`);
    } else if (glibc && !versionLE(p.glibc, glibc)) {
      refused.push(`${name}: needs glibc ${p.glibc}, this machine has ${glibc}`);
    } else if (!pick || versionLE(pick.glibc, p.glibc)) {
      pick = p;
    }
  }
  return { file: pick ? pick.file : null, kind: pick ? 'prebuild' : null, tried, refused, found };
}

/** Loads the addon; on failure throws an Error whose message says what was tried and what to do. */
function loadAddon(root = ROOT) {
  const c = choose(root);
  let cause = null;
  if (c.file) {
    try {
      if (c.kind === 'prebuild' && c.found && c.found.source !== 'system') preload(c.found.libDir);
      return { binding: requireAddon(c.file), file: c.file, kind: c.kind };
    } catch (err) {
      cause = String((err && err.message) || err).split('\n')[0];
    }
  }
  const libMissing = cause !== null && /lib(torch|c10)[^:]*\.so/.test(cause);
  const lines = [
    cause ? `torchrnn: could not load its native addon ${c.file} (${cause}).` : 'torchrnn: no native addon fits this machine.',
    `Tried: ${c.tried.join(', then ')}.`,
    ...c.refused.map((r) => `Not loaded: ${r}.`),
    libMissing ? 'The addon was found but libtorch, which it links against, was not.' : '',
    'To fix it: install libtorch (Debian/Ubuntu: `sudo apt-get install libtorch-dev libopenblas0-pthread`),',
    'or point LIBTORCH at an unpacked libtorch or a Python torch install, then build from source with',
    '`npm rebuild torchrnn` (or `npm run compile` in a checkout; `bash scripts/setup.sh` does all of this).',
  ].filter(Boolean);
  const e = new Error(lines.join('\n'));
  e.code = 'ERR_LIBTORCH_NOT_FOUND';
  throw e;
}

module.exports = { loadAddon, choose, listPrebuilds, prebuildName, glibcVersion, variantOf, PREBUILD };
