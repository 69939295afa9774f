/**
 * `torchrnn doctor`: what torchrnn runs on. The addon binary (a local build or which prebuild),
 * the libtorch line and variant in this process (1.13, 2.6 …; cpu or cuXYZ), the prebuilds passed
 * over and why, the libtorch found and the one linked, BLAS, threads, CUDA and cuDNN.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '..';

interface Found { source?: string; libDir: string; version: string | null; variant: string; cudaVersion: string | null }

/** The shared libraries of interest mapped into this process (libtorch, BLAS, OpenMP, CUDA). */
function loadedLibraries(): string[] {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    const libs = new Set<string>();
    for (const line of maps.split('\n')) {
      const file = line.split(/\s+/)[5];
      if (file && /lib(torch|c10|openblas|blas|lapack|mkl|gomp|iomp|cudart|cudnn)[^/]*\.so/.test(file)) libs.add(file);
    }
    return [...libs].sort();
  } catch {
    return []; // not Linux
  }
}

function blasOf(libs: string[]): string {
  const names = libs.map((l) => path.basename(l));
  const openblas = libs.find((l) => /libopenblas/.test(l));
  if (openblas) return `OpenBLAS (${openblas}${/pthread/.test(openblas) ? ', pthread' : /openmp/.test(openblas) ? ', OpenMP' : ''})`;
  if (names.some((n) => /mkl/.test(n))) return 'MKL';
  const blas = libs.find((l) => /libblas/.test(l));
  if (blas) {
    let target = blas;
    try { target = fs.realpathSync(blas); } catch { /* keep the name */ }
    return /openblas/.test(target) ? `OpenBLAS via ${blas} -> ${target}` : `${target} (reference BLAS: install libopenblas0-pthread for 7x faster LSTM training)`;
  }
  return 'unknown';
}

interface Prebuild { file: string; glibc: string; libtorch: string; variant: string }
interface Choice { kind: 'build' | 'prebuild' | null; file: string | null; found?: Found | null; refused: string[]; prebuilds?: Prebuild[] }

/** The C allocator's policy (native/allocator.cc), as one line. */
function mallocLine(p: torch.MallocPolicy): string {
  const mib = (n: number) => `${n / 2 ** 20} MiB`;
  switch (p.policy) {
    case 'torchrnn': return `allocator: glibc malloc with torchrnn's thresholds (mmap ${mib(p.mmapThreshold)}, trim ${mib(p.trimThreshold)})${p.largeBlocks.enabled ? `, tensors from ${p.largeBlocks.threshold / 2 ** 10} KiB in torchrnn's block cache` : ''}; TORCHRNN_MALLOC=default for glibc's own`;
    case 'user': return `allocator: glibc malloc as you configured it (${p.reason}; torchrnn's thresholds not applied)`;
    case 'glibc-default': return `allocator: glibc malloc with its default thresholds (${p.reason})`;
    default: return `allocator: ${p.reason}`;
  }
}

export function doctorLines(): string[] {
  const info = torch.buildInfo();
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { choose, lastLoad, variantOf } = require('../../scripts/load-addon.js') as {
    choose(root: string): Choice; lastLoad(): Choice | null; variantOf(found: Found): string;
  };
  const { libtorchOfFile } = require('../../scripts/find-libtorch.js') as { libtorchOfFile(file: string): Found };
  /* eslint-enable @typescript-eslint/no-require-imports */
  const root = path.join(__dirname, '..', '..');
  // what loading the addon chose (this process loaded it through scripts/load-addon.js), else the same choice again
  const c = lastLoad() ?? choose(root);
  const libs = loadedLibraries();
  const linked = libs.filter((l) => /libtorch_cpu|libtorch\.so|libc10\.so/.test(l));
  const lines = [
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    `torchrnn ${(require('../../package.json') as { version: string }).version} on Node ${process.version} (${process.platform}-${process.arch}, glibc ${(process.report?.getReport() as { header?: { glibcVersionRuntime?: string } })?.header?.glibcVersionRuntime ?? 'n/a'})`,
    `addon: ${info.addon.file} (${info.addon.kind === 'prebuild' ? 'prebuilt binary' : 'built from source'})`,
  ];
  // scripts/load-addon.js loads the file TORCHRNN_ADDON names instead of its usual choice (the sanitizer build)
  if (process.env.TORCHRNN_ADDON) lines.push(`TORCHRNN_ADDON is set: ${process.env.TORCHRNN_ADDON} (loaded instead of build/Release or a prebuild)`);
  // The line and variant of the libtorch in this process: from the libtorch_cpu library mapped
  // (its file name, or version.py / build-version beside it), as the prebuild tags name them.
  const cpuLib = libs.find((l) => /libtorch_cpu\.so/.test(l));
  const running = cpuLib ? libtorchOfFile(cpuLib) : c.found ?? null;
  if (running?.version) {
    lines.push(`libtorch line: ${running.version.split('.').slice(0, 2).join('.')} (libtorch ${running.version}, ${variantOf(running)})${cpuLib ? ` from ${cpuLib}` : ''}`);
  }
  if (info.addon.kind === 'prebuild') {
    const p = c.prebuilds?.find((x) => x.file === info.addon.file);
    lines.push(`prebuild loaded: ${path.basename(info.addon.file)}${p ? ` (made for libtorch ${p.libtorch}, ${p.variant}, glibc ${p.glibc} or newer)` : ''}`);
  } else {
    lines.push('prebuild loaded: none (the addon was built from source on this machine)');
  }
  for (const r of c.refused) lines.push(`prebuild not used: ${r}`);
  if (c.kind === 'build') {
    for (const p of c.prebuilds ?? []) lines.push(`prebuild not used: ${path.basename(p.file)}: the build from source comes first`);
  }
  const f = c.found;
  if (f) lines.push(`libtorch found: ${f.version ?? 'unknown version'} (${f.variant}${f.cudaVersion ? ` ${f.cudaVersion}` : ''}) from ${f.source} in ${f.libDir}`);
  lines.push(
    `libtorch linked: ${info.libtorch} (${info.cuda ? 'CUDA' : 'CPU'})${linked.length ? ` from ${linked.join(', ')}` : ''}`,
    `BLAS: ${blasOf(libs)}`,
    `threads: libtorch intra-op ${torch.getNumThreads()} (of ${require('os').cpus().length} CPUs)`,
    mallocLine(torch.backends.cpu.mallocPolicy()),
    `CUDA: ${info.cuda ? `available, ${torch.cuda.deviceCount()} device(s)` : 'not available (CPU-only libtorch, or no GPU visible)'}; cuDNN: ${info.cudnn ? 'available' : 'not available'}`,
    ...info.config.split('\n').filter((l) => /BLAS|LAPACK|MKL|OpenMP|CUDA|CuDNN/i.test(l) && !/Build settings/.test(l)).map((l) => `build: ${l.trim()}`),
  );
  return lines;
}

export function doctor(): void {
  process.stdout.write(doctorLines().join('\n') + '\n');
}
