#!/usr/bin/env node
'use strict';
// Finds the libtorch to build against and to load at run time.
// Order (DESIGN.md): $LIBTORCH (an unpacked libtorch or a Python torch install), then Python's
// torch (torch.utils.cmake_prefix_path), then the system (Debian's libtorch-dev).
// Used by CMakeLists.txt (--cmake-prefix), binding.gyp (--include, --libdir) and setup/doctor (--json).
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const SYSTEM_CMAKE_DIRS = [
  '/usr/lib/x86_64-linux-gnu/cmake/Torch',
  '/usr/lib/aarch64-linux-gnu/cmake/Torch',
  '/usr/local/share/cmake/Torch',
  '/usr/share/cmake/Torch',
];

/** Returns the candidate found in `dir` (a libtorch root, a cmake prefix or a Torch config dir), or null. */
function fromDir(dir, source) {
  const tries = [
    path.join(dir, 'share', 'cmake', 'Torch'),
    path.join(dir, 'Torch'),
    dir,
  ];
  for (const cmakeDir of tries) {
    if (fs.existsSync(path.join(cmakeDir, 'TorchConfig.cmake'))) {
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
  try {
    const cfg = fs.readFileSync(path.join(cmakeDir, 'TorchConfig.cmake'), 'utf8');
    const m = cfg.match(/TORCH_INSTALL_PREFIX "\$\{CMAKE_CURRENT_LIST_DIR\}\/((?:\.\.\/?)+)"/);
    if (m) up = m[1].split('/').filter((x) => x === '..');
  } catch { /* keep the upstream layout */ }
  const prefix = path.resolve(cmakeDir, ...up);
  const candidates = [path.join(prefix, 'lib'), path.resolve(cmakeDir, '..', '..')];
  const libDir = candidates.find((d) => fs.existsSync(path.join(d, 'libtorch.so')) || fs.existsSync(path.join(d, 'libtorch.dylib'))) || candidates[0];
  const include = path.join(prefix, 'include');
  let version = null;
  try {
    const v = fs.readFileSync(path.join(cmakeDir, 'TorchConfigVersion.cmake'), 'utf8').match(/PACKAGE_VERSION "([^"]+)"/);
    if (v) version = v[1];
  } catch { /* version stays unknown */ }
  const cuda = fs.existsSync(path.join(libDir, 'libtorch_cuda.so')) || fs.existsSync(path.join(libDir, 'libc10_cuda.so'));
  // The CUDA version: an unpacked libtorch has build-version ("1.13.1+cu117"), a Python torch
  // has version.py (cuda = '11.7').
  let cudaVersion = null;
  try {
    const m = fs.readFileSync(path.join(prefix, 'build-version'), 'utf8').match(/\+cu(\d+)(\d)\b/);
    if (m) cudaVersion = `${m[1]}.${m[2]}`;
  } catch { /* not an unpacked libtorch */ }
  try {
    const m = fs.readFileSync(path.join(prefix, 'version.py'), 'utf8').match(/^cuda(?:: \S+)? = '([\d.]+)'/m);
    if (m) cudaVersion = m[1];
  } catch { /* not a Python torch */ }
  return {
    source,
    cmakeDir,
    // CMake finds <dir>/Torch/TorchConfig.cmake under a prefix path entry <dir>.
    cmakePrefix: path.resolve(cmakeDir, '..'),
    prefix,
    includeDirs: [include, path.join(include, 'torch', 'csrc', 'api', 'include')],
    libDir,
    version,
    variant: cuda ? 'cuda' : 'cpu',
    cudaVersion: cuda ? cudaVersion : null,
  };
}

function pythonCmakePrefix(python) {
  try {
    const out = execFileSync(python, ['-c', 'import torch, sys; sys.stdout.write(torch.utils.cmake_prefix_path)'], {
      stdio: ['ignore', 'pipe', 'ignore'], timeout: 60000,
    });
    return out.toString().trim() || null;
  } catch {
    return null;
  }
}

/**
 * Walks the lookup order; `tried` records every place looked at, for error messages. With
 * `runtime: true` (choosing a prebuild at load time) Python, which is slow to ask, comes last.
 */
function findLibtorch(opts = {}) {
  const tried = [];
  if (process.env.LIBTORCH) {
    tried.push(`LIBTORCH=${process.env.LIBTORCH}`);
    const found = fromDir(process.env.LIBTORCH, 'LIBTORCH');
    if (found) return { found, tried };
  }
  const python = () => {
    const pythons = [...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean))];
    for (const py of pythons) {
      const prefix = pythonCmakePrefix(py);
      tried.push(`${py}: torch.utils.cmake_prefix_path${prefix ? ` = ${prefix}` : ' (no torch)'}`);
      if (prefix) {
        const found = fromDir(prefix, `python torch (${py})`);
        if (found) return found;
      }
    }
    return null;
  };
  const system = () => {
    for (const dir of SYSTEM_CMAKE_DIRS) {
      tried.push(dir);
      const found = fromDir(dir, 'system');
      if (found) return found;
    }
    return null;
  };
  const found = opts.runtime ? system() || python() : python() || system();
  return { found, tried };
}

const HOW_TO = [
  'Provide libtorch in one of three ways:',
  '  1. Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-pthread',
  '  2. A Python torch install: make `python3 -c "import torch"` work (or set PYTHON to that interpreter)',
  '  3. An unpacked libtorch: export LIBTORCH=/path/to/libtorch (the folder holding share/cmake/Torch)',
].join('\n');

module.exports = { findLibtorch, HOW_TO };

if (require.main === module) {
  const { found, tried } = findLibtorch();
  const mode = process.argv[2] || '--json';
  if (!found) {
    process.stderr.write(`torchrnn: libtorch not found. Looked at:\n  ${tried.join('\n  ')}\n${HOW_TO}\n`);
    process.exit(1);
  }
  switch (mode) {
    case '--cmake-prefix': process.stdout.write(found.cmakePrefix); break;
    case '--include': process.stdout.write(found.includeDirs.join(' ')); break;
    case '--libdir': process.stdout.write(found.libDir); break;
    default: process.stdout.write(JSON.stringify({ ...found, tried }, null, 2) + '\n');
  }
}
