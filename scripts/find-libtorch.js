#!/usr/bin/env node
'use strict';
// Finds libtorch, in two ways:
//  - to build against it (findLibtorch()): by its CMake files (share/cmake/Torch/TorchConfig.cmake),
//    which only a development install has (Debian's libtorch-dev, an unpacked libtorch, a Python
//    torch install). Order (DESIGN.md): $LIBTORCH, then Python's torch
//    (torch.utils.cmake_prefix_path), then the system.
//  - to load a prebuilt binary against it (findLibtorch({ runtime: true })): by its shared
//    libraries alone, so that Debian's runtime packages (libtorch1.13, libtorch2.6: versioned
//    sonames in /usr/lib/<triplet>, no CMake files, no unversioned libtorch.so) and a Python torch's
//    torch/lib are enough. Order: $LIBTORCH, then the system, then Python's torch (slow to ask).
// Both ways name a libtorch's version by the same rule (libtorchVersion below), so that a
// prebuild's tag, written at build time, is the one the run-time lookup computes.
// Used by CMakeLists.txt (--cmake-prefix), binding.gyp (--include, --libdir), the prebuild and
// install scripts, scripts/load-addon.js and setup/doctor (--json; --runtime for the run-time lookup).
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const SYSTEM_CMAKE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/cmake/Torch',
  '/usr/lib/aarch64-linux-gnu/cmake/Torch',
  '/usr/local/share/cmake/Torch',
  '/usr/share/cmake/Torch',
];
// Where the dynamic loader looks by default, and so where a libtorch found here needs no
// preloading: Debian's multiarch directories first.
const SYSTEM_LIB_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/usr/local/lib',
  '/usr/lib64',
  '/usr/lib',
];

const read = (file) => { try { return fs.readFileSync(file, 'utf8'); } catch { return null; } };
const exists = (file) => fs.existsSync(file);
/** "2.6.0+cu124" → "2.6.0", "1.13.0a0" → "1.13.0": the numeric release, as prebuild tags carry it. */
const release = (v) => { const m = /^\d+\.\d+(?:\.\d+)?/.exec(String(v || '').trim()); return m ? m[0] : null; };

/**
 * The version of the libtorch whose libraries are in `libDir` (prefix: its install root, where
 * build-version or version.py live; cmakeDir: its CMake files, when known). One rule for build
 * time and run time, first that applies:
 *  1. the file name libtorch_cpu.so.X.Y.Z (Debian's versioned libraries; a symlink such as
 *     Debian python3-torch's torch/lib/libtorch_cpu.so is followed to it). Debian 12's 1.13.1
 *     names its files and its CMake version 1.13.0, and its torch/version.py says 1.13.0a0:
 *     all of them are this one library, 1.13.0;
 *  2. build-version (an unpacked libtorch: "2.6.0+cpu");
 *  3. version.py's __version__ (a Python torch: "2.6.0+cu124");
 *  4. TorchConfigVersion.cmake's PACKAGE_VERSION.
 */
function libtorchVersion(libDir, prefix, cmakeDir) {
  const fromName = (name) => { const m = /^libtorch_cpu\.so\.(\d+\.\d+\.\d+)$/.exec(name); return m ? m[1] : null; };
  try {
    const v = fromName(path.basename(fs.realpathSync(path.join(libDir, 'libtorch_cpu.so'))));
    if (v) return v;
  } catch { /* no unversioned name (a runtime-only install): look at the versioned ones */ }
  try {
    const vs = fs.readdirSync(libDir).map(fromName).filter(Boolean).sort(compareVersions);
    if (vs.length) return vs[vs.length - 1];
  } catch { /* no such directory */ }
  if (prefix) {
    const bv = release(read(path.join(prefix, 'build-version')));
    if (bv) return bv;
    const py = /^__version__ = '([^']+)'/m.exec(read(path.join(prefix, 'version.py')) || '');
    if (py && release(py[1])) return release(py[1]);
  }
  if (cmakeDir) {
    const cm = /PACKAGE_VERSION "([^"]+)"/.exec(read(path.join(cmakeDir, 'TorchConfigVersion.cmake')) || '');
    if (cm) return release(cm[1]) || cm[1];
  }
  return null;
}

function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0);
  return 0;
}

/** Whether `libDir` holds lib<name>.so, or lib<name>.so.<suffix> when a suffix is given. */
function hasLib(libDir, name, suffix) {
  return exists(path.join(libDir, `lib${name}.so${suffix ? `.${suffix}` : ''}`));
}

/** CPU or CUDA, and which CUDA: an unpacked libtorch has build-version ("1.13.1+cu117"), a Python torch version.py (cuda = '11.7'). */
function variantOf(libDir, prefix, soSuffix) {
  const cuda = hasLib(libDir, 'torch_cuda', soSuffix) || hasLib(libDir, 'c10_cuda', soSuffix);
  if (!cuda) return { variant: 'cpu', cudaVersion: null };
  let cudaVersion = null;
  if (prefix) {
    const bv = /\+cu(\d+)(\d)\b/.exec(read(path.join(prefix, 'build-version')) || '');
    if (bv) cudaVersion = `${bv[1]}.${bv[2]}`;
    const py = /^cuda(?:: \S+)? = '([\d.]+)'/m.exec(read(path.join(prefix, 'version.py')) || '');
    if (py) cudaVersion = py[1];
  }
  return { variant: 'cuda', cudaVersion };
}

/** Returns the candidate found in `dir` (a libtorch root, a cmake prefix or a Torch config dir), or null. */
function fromDir(dir, source) {
  const tries = [
    path.join(dir, 'share', 'cmake', 'Torch'),
    path.join(dir, 'Torch'),
    dir,
  ];
  for (const cmakeDir of tries) {
    if (exists(path.join(cmakeDir, 'TorchConfig.cmake'))) {
      return describe(cmakeDir, source);
    }
  }
  return null;
}

function describe(cmakeDir, source) {
  // The prefix is what TorchConfig.cmake itself computes: upstream configs sit in
  // <prefix>/share/cmake/Torch ("../../../"), Debian's in <prefix>/lib/<triplet>/cmake/Torch
  // ("../../../../"). Read the relative path from the file rather than guess.
  let up = ['..', '..', '..'];
  const cfg = read(path.join(cmakeDir, 'TorchConfig.cmake'));
  const m = cfg && cfg.match(/TORCH_INSTALL_PREFIX "\$\{CMAKE_CURRENT_LIST_DIR\}\/((?:\.\.\/?)+)"/);
  if (m) up = m[1].split('/').filter((x) => x === '..');
  const prefix = path.resolve(cmakeDir, ...up);
  const candidates = [path.join(prefix, 'lib'), path.resolve(cmakeDir, '..', '..')];
  const libDir = candidates.find((d) => exists(path.join(d, 'libtorch.so')) || exists(path.join(d, 'libtorch.dylib'))) || candidates[0];
  const include = path.join(prefix, 'include');
  return {
    source,
    cmakeDir,
    // CMake finds <dir>/Torch/TorchConfig.cmake under a prefix path entry <dir>.
    cmakePrefix: path.resolve(cmakeDir, '..'),
    prefix,
    includeDirs: [include, path.join(include, 'torch', 'csrc', 'api', 'include')],
    libDir,
    version: libtorchVersion(libDir, prefix, cmakeDir),
    ...variantOf(libDir, prefix),
  };
}

/**
 * A run-time candidate from a directory of unversioned libraries (an unpacked libtorch's lib/, a
 * Python torch's torch/lib): libtorch.so, libtorch_cpu.so and libc10.so must all be there.
 * `prefix` holds build-version or version.py.
 */
function runtimeFromLibDir(libDir, prefix, source, tried) {
  const missing = ['torch', 'torch_cpu', 'c10'].filter((n) => !hasLib(libDir, n));
  if (missing.length) {
    tried.push(`${libDir} (${missing.length === 3 ? 'no libtorch' : `no ${missing.map((n) => `lib${n}.so`).join(', ')}`})`);
    return null;
  }
  const cmakeDir = [path.join(prefix, 'share', 'cmake', 'Torch')].find((d) => exists(path.join(d, 'TorchConfigVersion.cmake'))) || null;
  const version = libtorchVersion(libDir, prefix, cmakeDir);
  tried.push(`${libDir} (libtorch ${version || 'of unknown version'})`);
  return { source, libDir, prefix, cmakeDir, version, ...variantOf(libDir, prefix), preload: true };
}

/**
 * The run-time candidates in a system library directory: one per libtorch_cpu.so.X.Y.Z whose
 * sonames (libtorch.so.X.Y, libtorch_cpu.so.X.Y, libc10.so.X.Y, as Debian's packages name them)
 * are there too, newest first. The dynamic loader finds these by soname: no preloading.
 */
function runtimeFromSystemDir(libDir, tried) {
  let names;
  try { names = fs.readdirSync(libDir); } catch { tried.push(`${libDir} (no such directory)`); return []; }
  const versions = names.map((n) => /^libtorch_cpu\.so\.(\d+\.\d+\.\d+)$/.exec(n)).filter(Boolean).map((m) => m[1]).sort(compareVersions).reverse();
  const found = [];
  for (const version of versions) {
    const soname = version.split('.').slice(0, 2).join('.');
    const missing = ['torch', 'torch_cpu', 'c10'].filter((n) => !names.includes(`lib${n}.so.${soname}`));
    if (missing.length) {
      tried.push(`${libDir} (libtorch_cpu.so.${version} without ${missing.map((n) => `lib${n}.so.${soname}`).join(', ')})`);
      continue;
    }
    tried.push(`${libDir} (libtorch ${version}: libtorch_cpu.so.${version})`);
    found.push({ source: 'system', libDir, prefix: null, cmakeDir: null, version, ...variantOf(libDir, null, soname), preload: false });
  }
  if (!versions.length) {
    // an unpacked libtorch copied into /usr/local/lib has unversioned names only
    if (['torch', 'torch_cpu', 'c10'].every((n) => names.includes(`lib${n}.so`))) {
      const c = runtimeFromLibDir(libDir, path.dirname(libDir), 'system', tried);
      if (c) found.push({ ...c, preload: false });
    } else {
      tried.push(`${libDir} (no libtorch)`);
    }
  }
  return found;
}

function pythons() {
  return [...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean))];
}

function askPython(python, code) {
  try {
    const out = execFileSync(python, ['-c', code], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 60000 });
    return out.toString().trim() || null;
  } catch {
    return null;
  }
}

function pythonCmakePrefix(python) {
  return askPython(python, 'import torch, sys; sys.stdout.write(torch.utils.cmake_prefix_path)');
}

/** torch's package folder, found without importing torch (which takes seconds). */
function pythonTorchDir(python) {
  return askPython(python, [
    'import importlib.util, sys',
    "s = importlib.util.find_spec('torch')",
    "sys.stdout.write(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')",
  ].join('\n'));
}

/**
 * The run-time lookup: walks $LIBTORCH (taken alone when it holds a libtorch: the user chose it),
 * then the system library directories, then Python's torch, and returns the first candidate that
 * `accept` takes (by default the first found; scripts/load-addon.js accepts one a prebuild fits),
 * else the first found. `candidates` lists every one seen, `tried` every place looked at.
 */
function findRuntime(opts) {
  const tried = [];
  const candidates = [];
  const accept = opts.accept || (() => true);
  const done = () => ({ found: candidates.find(accept) || candidates[0] || null, candidates, tried });
  // Debian's python3-torch has torch/lib/libtorch_cpu.so -> the system's libtorch_cpu.so.X.Y: one library, one candidate
  const seen = new Set();
  const add = (c) => {
    let key = path.join(c.libDir, c.preload ? 'libtorch_cpu.so' : `libtorch_cpu.so.${c.version}`);
    try { key = fs.realpathSync(key); } catch { /* keep the name */ }
    if (!seen.has(key)) candidates.push(c);
    seen.add(key);
  };
  if (process.env.LIBTORCH) {
    const dir = process.env.LIBTORCH;
    tried.push(`LIBTORCH=${dir}`);
    const prefix = exists(path.join(dir, 'lib')) ? dir : path.dirname(dir);
    const libDir = exists(path.join(dir, 'lib')) ? path.join(dir, 'lib') : dir;
    const c = runtimeFromLibDir(libDir, prefix, 'LIBTORCH', tried);
    if (c) { add(c); return done(); }
  }
  for (const dir of SYSTEM_LIB_DIRS) {
    runtimeFromSystemDir(dir, tried).forEach(add);
    if (candidates.some(accept)) return done();
  }
  for (const py of pythons()) {
    const torchDir = pythonTorchDir(py);
    tried.push(`${py}: torch${torchDir ? ` in ${torchDir}` : ' not installed'}`);
    if (!torchDir) continue;
    const c = runtimeFromLibDir(path.join(torchDir, 'lib'), torchDir, `python torch (${py})`, tried);
    if (c) add(c);
    if (candidates.some(accept)) return done();
  }
  return done();
}

/**
 * Walks the lookup order; `tried` records every place looked at, for error messages. Without
 * options: the libtorch to build against (its CMake files). With `runtime: true`: the libtorch to
 * load a prebuild against (its shared libraries; see findRuntime).
 */
function findLibtorch(opts = {}) {
  if (opts.runtime) return findRuntime(opts);
  const tried = [];
  if (process.env.LIBTORCH) {
    tried.push(`LIBTORCH=${process.env.LIBTORCH}`);
    const found = fromDir(process.env.LIBTORCH, 'LIBTORCH');
    if (found) return { found, tried };
  }
  for (const py of pythons()) {
    const prefix = pythonCmakePrefix(py);
    tried.push(`${py}: torch.utils.cmake_prefix_path${prefix ? ` = ${prefix}` : ' (no torch)'}`);
    if (prefix) {
      const found = fromDir(prefix, `python torch (${py})`);
      if (found) return { found, tried };
    }
  }
  for (const dir of SYSTEM_CMAKE_DIRS) {
    tried.push(dir);
    const found = fromDir(dir, 'system');
    if (found) return { found, tried };
  }
  return { found: null, tried };
}

/**
 * The libtorch a loaded library file belongs to (from /proc/self/maps: what `torchrnn doctor`
 * reports as linked), described the way the lookups describe it.
 */
function libtorchOfFile(file) {
  const libDir = path.dirname(file);
  const m = /^libtorch_cpu\.so\.(\d+\.\d+\.\d+)$/.exec(path.basename(file));
  if (m) return { libDir, version: m[1], ...variantOf(libDir, null, m[1].split('.').slice(0, 2).join('.')) };
  const prefix = path.dirname(libDir);
  return { libDir, version: libtorchVersion(libDir, prefix, null), ...variantOf(libDir, prefix) };
}

const HOW_TO = [
  'Provide libtorch in one of three ways:',
  '  1. Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-pthread',
  '  2. A Python torch install: make `python3 -c "import torch"` work (or set PYTHON to that interpreter)',
  '  3. An unpacked libtorch: export LIBTORCH=/path/to/libtorch (the folder holding share/cmake/Torch)',
].join('\n');

module.exports = { findLibtorch, libtorchVersion, libtorchOfFile, HOW_TO };

if (require.main === module) {
  const mode = process.argv[2] || '--json';
  const runtime = mode === '--runtime';
  const { found, candidates, tried } = findLibtorch({ runtime });
  if (!found) {
    process.stderr.write(`torchrnn: libtorch not found${runtime ? ' (its shared libraries)' : ''}. Looked at:\n  ${tried.join('\n  ')}\n${HOW_TO}\n`);
    process.exit(1);
  }
  switch (mode) {
    case '--cmake-prefix': process.stdout.write(found.cmakePrefix); break;
    case '--include': process.stdout.write(found.includeDirs.join(' ')); break;
    case '--libdir': process.stdout.write(found.libDir); break;
    default: process.stdout.write(JSON.stringify({ ...found, ...(runtime ? { candidates } : {}), tried }, null, 2) + '\n');
  }
}
