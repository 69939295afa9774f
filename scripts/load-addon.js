'use strict';
// Finds and loads torchrnn's native addon. Used by lib/binding.ts at run time and by
// scripts/install.js and `torchrnn doctor`. Order:
//   0. TORCHRNN_ADDON=<path to a .node file>, when set: that file and nothing else (no fallback:
//      a run meant for a special build must not silently test another one). For the sanitizer
//      build, `npm run build:asan` makes build-asan/Release/torchrnn.node and `npm run test:asan`
//      (scripts/test-asan.sh) sets TORCHRNN_ADDON to it; an AddressSanitizer build needs ASan's
//      runtime preloaded (LD_PRELOAD), and is refused with a message when it is not (loading it
//      otherwise ends the process). `torchrnn doctor` prints the variable when set;
//   1. build/Release/torchrnn.node: built on this machine, against the libtorch recorded in its
//      rpath (npm run compile, or the install script's build from source);
//   2. a prebuild in prebuilds/<platform>-<arch>/ whose name records what it was built against,
//      torchrnn.napi.glibc-<v>.libtorch-<version>-<variant>.node, taken only when that libtorch
//      (version and variant: cpu or cuXYZ) is found on this machine now, by its shared libraries
//      (scripts/find-libtorch.js: a runtime package such as Debian's libtorch2.6 is enough, no
//      CMake files needed), this glibc is not older, and the libraries found provide the sonames
//      the prebuild links against (its DT_NEEDED entries, libtorch.so.2.6 …). A prebuild for
//      another libtorch is never loaded: the error says so. The same version can come as another
//      build (Debian's libtorch 2.6 is not pip's torch 2.6): a prebuild whose dlopen fails
//      (undefined symbols …) is passed over with the loader's message, and the next one is tried.
// For a libtorch outside the loader's default paths (LIBTORCH, a Python torch), its libraries
// are loaded first by absolute path (RTLD_GLOBAL), so that no LD_LIBRARY_PATH is needed.
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const PREBUILD = /^torchrnn\.napi\.glibc-(\d+\.\d+)\.libtorch-([0-9][\w.]*)-(cpu|cu\d+)\.node$/;
const TORCH_LIBS = ['c10', 'torch_cpu', 'c10_cuda', 'torch_cuda', 'torch'];

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

/**
 * The DT_NEEDED entries and DT_SONAME of a 64-bit little-endian ELF file (x86-64, aarch64), read
 * from its program headers without loading it; null for anything else (then no check is made).
 */
function elfDynamic(file) {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const at = (pos, len) => { const b = Buffer.alloc(len); fs.readSync(fd, b, 0, len, pos); return b; };
    const h = at(0, 64);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return null;
    const phoff = Number(h.readBigUInt64LE(0x20));
    const phentsize = h.readUInt16LE(0x36);
    const phnum = h.readUInt16LE(0x38);
    const ph = at(phoff, phentsize * phnum);
    const loads = [];
    let dyn = null;
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      const type = ph.readUInt32LE(o);
      const seg = { offset: Number(ph.readBigUInt64LE(o + 8)), vaddr: Number(ph.readBigUInt64LE(o + 16)), filesz: Number(ph.readBigUInt64LE(o + 32)) };
      if (type === 1) loads.push(seg);
      if (type === 2) dyn = seg;
    }
    if (!dyn) return { needed: [], soname: null };
    const d = at(dyn.offset, dyn.filesz);
    const entries = [];
    let strtab = null;
    for (let o = 0; o + 16 <= d.length; o += 16) {
      const tag = Number(d.readBigInt64LE(o));
      const val = Number(d.readBigUInt64LE(o + 8));
      if (tag === 0) break;
      if (tag === 5) strtab = val;
      if (tag === 1 || tag === 14) entries.push([tag, val]);
    }
    const seg = loads.find((s) => strtab >= s.vaddr && strtab < s.vaddr + s.filesz);
    if (strtab === null || !seg) return null;
    const base = strtab - seg.vaddr + seg.offset;
    const str = (off) => { const b = at(base + off, 256); const end = b.indexOf(0); return b.toString('latin1', 0, end < 0 ? 256 : end); };
    const soname = entries.find(([t]) => t === 14);
    return { needed: entries.filter(([t]) => t === 1).map(([, v]) => str(v)), soname: soname ? str(soname[1]) : null };
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Why the libtorch `found` cannot satisfy the prebuild's libtorch/c10 DT_NEEDED entries, or null
 * when it can (or when that cannot be told). A system libtorch is found by the dynamic loader by
 * file name (its soname) in its directory; a preloaded one by the sonames its files declare.
 */
function sonameMismatch(prebuild, found) {
  const dynamic = elfDynamic(prebuild);
  if (!dynamic) return null;
  const wanted = dynamic.needed.filter((n) => /^lib(torch|c10)/.test(n));
  let provided;
  if (found.preload) {
    provided = TORCH_LIBS.map((n) => {
      const e = elfDynamic(path.join(found.libDir, `lib${n}.so`));
      return e && e.soname;
    }).filter(Boolean);
  } else {
    try { provided = fs.readdirSync(found.libDir); } catch { provided = []; }
  }
  const missing = wanted.filter((n) => !provided.includes(n));
  if (!missing.length) return null;
  return `links against ${missing.join(', ')}, which the libtorch ${found.version} in ${found.libDir} does not provide${found.preload ? ` (its libraries are ${provided.join(', ') || 'unnamed'}: another build of libtorch ${found.version})` : ''}`;
}

// process.dlopen() closes a library that does not register a Node module, and a plain
// library closed is unloaded: RTLD_NODELETE (glibc 0x1000, macOS 0x80; Node does not export it)
// keeps it in the process for the addon's DT_NEEDED entries to resolve to by soname.
const RTLD_NODELETE = { linux: 0x1000, darwin: 0x80 }[process.platform] || 0;

/** Loads a shared library's symbols globally so that the addon's DT_NEEDED entries resolve to it. */
function preload(libDir) {
  const flags = os.constants.dlopen.RTLD_NOW | os.constants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  for (const lib of TORCH_LIBS) {
    const file = path.join(libDir, `lib${lib}.so`);
    if (!fs.existsSync(file)) continue;
    try {
      process.dlopen({ exports: {} }, file, flags);
    } catch (err) {
      // a plain library "did not self-register" as a Node module, but it is loaded now
      if (!/self-register|register/i.test(String(err && err.message))) throw err;
    }
  }
}

/**
 * An AddressSanitizer build whose runtime is not loaded yet: loading it would make libasan print
 * "ASan runtime does not come first in initial library list" and end the process, so throw first.
 */
function checkSanitizerRuntime(file) {
  const dynamic = elfDynamic(file);
  const asan = dynamic && dynamic.needed.find((n) => /^libasan\.so/.test(n));
  if (!asan) return;
  let maps = '';
  try { maps = fs.readFileSync('/proc/self/maps', 'utf8'); } catch { return; }
  if (/\/libasan\.so/.test(maps)) return;
  throw new Error(`${file} is an AddressSanitizer build (it links ${asan}): preload its runtime, `
    + 'LD_PRELOAD=$(gcc -print-file-name=libasan.so), or run it through `npm run test:asan`');
}

function requireAddon(file) {
  checkSanitizerRuntime(file);
  const mod = { exports: {} };
  // RTLD_NOW: a library that lacks a symbol the addon needs fails here, with the loader's
  // message, and not later in the middle of a call (which would end the process)
  process.dlopen(mod, file, os.constants.dlopen.RTLD_NOW);
  return mod.exports;
}

/**
 * Chooses the addon to load without loading it. Returns { file, files, kind, found?, candidates?,
 * tried[], refused[] }: `files` every prebuild that fits, best first (`file` is the first, null
 * when none fits), `refused` the prebuilds passed over and why.
 */
function choose(root = ROOT, opts = {}) {
  const tried = [];
  const refused = [];
  const override = opts.prebuildsOnly ? '' : process.env.TORCHRNN_ADDON;
  if (override) {
    const file = path.resolve(override);
    tried.push(`${file} (TORCHRNN_ADDON)`);
    return { file, files: [file], kind: 'build', env: 'TORCHRNN_ADDON', tried, refused, prebuilds: listPrebuilds(root) };
  }
  const local = path.join(root, 'build', 'Release', 'torchrnn.node');
  tried.push(`${local} (a build from source)`);
  const prebuilds = listPrebuilds(root);
  if (!opts.prebuildsOnly && fs.existsSync(local)) return { file: local, files: [local], kind: 'build', tried, refused, prebuilds };
  tried.push(`${path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)} (${prebuilds.length} prebuilt binaries)`);
  if (prebuilds.length === 0) return { file: null, files: [], kind: null, tried, refused, prebuilds };
  const glibc = glibcVersion();
  // why prebuild p does not fit libtorch c, or null when it does
  const why = (p, c) => {
    const name = path.basename(p.file);
    if (p.libtorch !== c.version || p.variant !== variantOf(c)) {
      return `${name}: built for libtorch ${p.libtorch} (${p.variant}), but this machine has libtorch ${c.version} (${variantOf(c)}) from ${c.source} in ${c.libDir}`;
    }
    if (glibc && !versionLE(p.glibc, glibc)) return `${name}: needs glibc ${p.glibc}, this machine has ${glibc}`;
    const mismatch = sonameMismatch(p.file, c);
    return mismatch ? `${name}: ${mismatch}` : null;
  };
  const fits = (c) => prebuilds.filter((p) => !why(p, c));
  // eslint-disable-next-line global-require
  const { findLibtorch } = require('./find-libtorch.js');
  const { found, candidates, tried: looked } = findLibtorch({ runtime: true, accept: (c) => fits(c).length > 0 });
  if (!found) {
    for (const p of prebuilds) refused.push(`${path.basename(p.file)}: no libtorch found on this machine (looked at ${looked.join('; ')})`);
    return { file: null, files: [], kind: null, tried, refused, found: null, candidates, prebuilds };
  }
  // best first: the newest glibc this machine has
  const ok = fits(found).sort((a, b) => (a.glibc === b.glibc ? 0 : versionLE(a.glibc, b.glibc) ? 1 : -1));
  for (const p of prebuilds) if (!ok.includes(p)) refused.push(why(p, found));
  const files = ok.map((p) => p.file);
  return { file: files[0] || null, files, kind: files.length ? 'prebuild' : null, tried, refused, found, candidates, prebuilds };
}

/** What the last loadAddon() in this process chose and loaded (for `torchrnn doctor`). */
let lastLoad = null;

/**
 * Loads the addon: the build, else each prebuild that fits in turn until one loads. On failure
 * throws an Error (code ERR_LIBTORCH_NOT_FOUND) whose message says what was tried and what to do.
 */
function loadAddon(root = ROOT, opts = {}) {
  const c = choose(root, opts);
  const failed = [];
  for (const file of c.files) {
    try {
      if (c.kind === 'prebuild' && c.found && c.found.preload) preload(c.found.libDir);
      const binding = requireAddon(file);
      lastLoad = { ...c, file, failed, refused: [...failed.map((f) => `${path.basename(f.file)}: does not load here (${f.cause})`), ...c.refused] };
      return { binding, file, kind: c.kind, found: c.found || null, refused: lastLoad.refused };
    } catch (err) {
      failed.push({ file, cause: String((err && err.message) || err).split('\n')[0] });
    }
  }
  const cause = failed.length ? failed[0].cause : null;
  const libMissing = failed.some((f) => /lib(torch|c10)[^:]*\.so[.\d]*: cannot open/.test(f.cause));
  const undefinedSymbol = failed.some((f) => /undefined symbol/.test(f.cause));
  const lines = [
    cause ? `torchrnn: could not load its native addon ${failed[0].file} (${cause}).` : 'torchrnn: no native addon fits this machine.',
    `Tried: ${c.tried.join(', then ')}.`,
    ...failed.slice(1).map((f) => `Not loaded: ${path.basename(f.file)}: does not load here (${f.cause}).`),
    ...c.refused.map((r) => `Not loaded: ${r}.`),
    c.env ? `${c.env} is set (${process.env[c.env]}): only that file is tried; unset it to load build/Release or a prebuild.` : '',
    libMissing ? 'The addon was found but libtorch, which it links against, was not.' : '',
    undefinedSymbol && c.kind === 'prebuild' ? `The prebuilt binary was made for another build of libtorch ${c.found.version} than the one in ${c.found.libDir} (a symbol it needs is missing there): build it from source for this one.` : '',
    ...(c.env ? [] : [
      'To fix it: install libtorch (Debian/Ubuntu: `sudo apt-get install libtorch-dev libopenblas0-pthread`),',
      'or point LIBTORCH at an unpacked libtorch or a Python torch install, then build from source with',
      '`npm rebuild torchrnn` (or `npm run compile` in a checkout; `bash scripts/setup.sh` does all of this).',
    ]),
  ].filter(Boolean);
  const e = new Error(lines.join('\n'));
  e.code = 'ERR_LIBTORCH_NOT_FOUND';
  e.failed = failed;
  throw e;
}

module.exports = {
  loadAddon, choose, listPrebuilds, prebuildName, glibcVersion, variantOf, elfDynamic, PREBUILD,
  lastLoad: () => lastLoad,
};
