/** Process-wide settings: random seed, thread count, CUDA availability, build facts. */
import { addonInfo, MallocPolicy, native } from './binding';
import { invalidArg } from './errors';
import { assertCuda, checkBool, checkDevice, checkInt } from './validate';
import { checkTensor, Tensor, wrap } from './tensor';

/**
 * Seeds libtorch's generators (the same numbers as torch.manual_seed(n) in Python). Accepts an
 * integer in [-2^63, 2^64), as a number (within ±(2^53 - 1)) or a bigint; a negative seed is
 * taken modulo 2^64, as PyTorch does (manualSeed(-1) is manualSeed(2n ** 64n - 1n)). PyTorch
 * refuses the rest ("Overflow when unpacking long"); so does this, with ERR_INVALID_ARG.
 */
export function manualSeed(seed: number | bigint): void {
  const ok = typeof seed === 'number' ? Number.isSafeInteger(seed) : typeof seed === 'bigint' && seed >= -(2n ** 63n) && seed < 2n ** 64n;
  if (!ok) invalidArg('an integer in [-2^63, 2^64) (a number within ±(2^53 - 1), or a bigint)', 'seed', seed);
  native.manualSeed(BigInt.asIntN(64, BigInt(seed)));
}

/**
 * Sets libtorch's intra-op thread count. The default is fastest here: with OpenBLAS running
 * its own threads, raising this made LSTM training slower on 2-core machines (DESIGN.md).
 */
export function setNumThreads(n: number): void {
  native.setNumThreads(checkInt(n, 'n', { min: 1, max: 1024 }));
}
export function getNumThreads(): number { return native.getNumThreads(); }

/**
 * Flushes float32/float64 denormal (subnormal) numbers to zero, as torch.set_flush_denormal:
 * sets the CPU's FTZ and DAZ flags. Returns true when the CPU supports them (x86 with SSE3),
 * false otherwise (nothing changes then). Off by default, as in PyTorch. The flags are per
 * thread: this sets them for synchronous calls, and async jobs queued afterwards (forwardAsync,
 * trainStep, fit...) apply the same mode on the executor thread.
 * @example torch.setFlushDenormal(true); torch.tensor([1e-39]).mul(1).item() // 0
 */
export function setFlushDenormal(mode: boolean): boolean {
  return native.setFlushDenormal(checkBool(mode, 'mode'));
}

export const cuda = {
  /** True when libtorch has CUDA and a GPU is visible. */
  isAvailable(): boolean { return native.cudaIsAvailable(); },
  /** The number of visible CUDA devices (0 on CPU-only builds). */
  deviceCount(): number { return native.cudaIsAvailable() ? native.cudaDeviceCount() : 0; },
  /**
   * Waits until every kernel queued on the device has finished (torch.cuda.synchronize), after
   * the jobs queued on the executor before it. Throws ERR_CUDA_UNAVAILABLE without CUDA.
   */
  synchronize(device?: number | string): void {
    const d = device === undefined ? 'cuda' : typeof device === 'number' ? `cuda:${checkInt(device, 'device', { min: 0 })}` : checkDevice(device);
    if (!d.startsWith('cuda')) invalidArg('a CUDA device ("cuda", "cuda:N" or N)', 'device', device);
    assertCuda(d);
    native.cudaSynchronize(d.includes(':') ? Number(d.split(':')[1]) : -1);
  },
};

type CudnnFlag = 'enabled' | 'benchmark' | 'deterministic' | 'allowTF32';
const cudnnFlag = (name: CudnnFlag) => ({
  get: () => native.cudnnFlags()[name],
  set: (v: unknown) => native.setCudnnFlag(name, checkBool(v, `backends.cudnn.${name}`)),
  enumerable: true,
});

/**
 * torch.backends: cuDNN's global flags, which the recurrent modules use on CUDA. Settable as in
 * PyTorch (`torch.backends.cudnn.benchmark = true`); on a CPU-only libtorch they are kept and
 * have no effect.
 *
 * `fusedRnn` is torchrnn's own: `enabled` (default true) lets nn.LSTM run torchrnn's fused CPU
 * layer (training and inference), which agrees with PyTorch to float32 rounding; set it false
 * for libtorch's own LSTM, bit for bit what PyTorch computes. `auto` (default true) lets a module
 * take libtorch's own layer where that is faster: on libtorch 2.x, whose LSTM runs on oneDNN,
 * a non-packed nn.LSTM with a batch under 8 (16 without gradients); set it false for the fused
 * layer wherever it applies. `kernels` (read-only) is the instruction set of its gate kernels:
 * 'avx512', 'avx2+fma' or 'baseline'.
 */
export const backends = {
  cudnn: Object.defineProperties<{ isAvailable(): boolean; version(): number | null }>({
    /** Whether cuDNN can be used (CUDA libtorch with cuDNN, and a GPU). */
    isAvailable(): boolean { return native.cudnnIsAvailable(); },
    /** cuDNN's version as an integer (8500 for 8.5.0), or null without cuDNN. */
    version(): number | null { return native.cudnnFlags().version; },
  }, {
    enabled: cudnnFlag('enabled'),
    benchmark: cudnnFlag('benchmark'),
    deterministic: cudnnFlag('deterministic'),
    allowTF32: cudnnFlag('allowTF32'),
  }) as unknown as { isAvailable(): boolean; version(): number | null; enabled: boolean; benchmark: boolean; deterministic: boolean; allowTF32: boolean },
  fusedRnn: Object.defineProperties({}, {
    enabled: {
      get: () => native.fusedRnnFlags().enabled,
      set: (v: unknown) => native.setFusedRnnEnabled(checkBool(v, 'backends.fusedRnn.enabled')),
      enumerable: true,
    },
    auto: {
      get: () => native.fusedRnnFlags().auto,
      set: (v: unknown) => native.setFusedRnnAuto(checkBool(v, 'backends.fusedRnn.auto')),
      enumerable: true,
    },
    kernels: { get: () => native.fusedRnnFlags().kernels, enumerable: true },
  }) as { enabled: boolean; auto: boolean; readonly kernels: 'avx512' | 'avx2+fma' | 'baseline' },
  /**
   * The CPU allocator. torchrnn sets glibc malloc's thresholds once per process when it loads,
   * so that the large buffers a training or inference loop frees and allocates again every
   * iteration are reused instead of being mapped (and zeroed page by page) again: blocks up to
   * 256 MiB come from the heap, and up to 512 MiB of free memory stays there for reuse.
   * Tensors from 256 KiB on bypass malloc: they come from torchrnn's own cache of page-mapped
   * blocks, one for the whole process (malloc keeps one per thread), which a miss shrinks before it
   * maps a new block, so resident memory stays at the working size.
   * `TORCHRNN_MALLOC=default` leaves glibc's defaults and libtorch's allocator; so does any glibc
   * malloc setting of your own (`MALLOC_*_` variables, `GLIBC_TUNABLES=glibc.malloc.*`).
   */
  cpu: {
    /** What was applied: `policy` 'torchrnn' (the thresholds above, in bytes), 'glibc-default', 'user' or 'other', and why; `largeBlocks`: the block cache and its counters. */
    mallocPolicy(): MallocPolicy { return native.mallocPolicy(); },
    /**
     * Gives the memory the allocator keeps for reuse back to the operating system (the cached
     * large blocks, then glibc's malloc_trim): for a long-lived process after a large job. Returns
     * whether any was returned.
     */
    releaseMemory(): boolean { return native.releaseMemory(); },
  },
};

/** What the addon was built against: libtorch version and its build configuration. */
export function buildInfo(): { libtorch: string; config: string; parallel: string; cuda: boolean; cudnn: boolean; addon: { file: string; kind: 'build' | 'prebuild' } } {
  return { ...native.buildInfo(), cuda: native.cudaIsAvailable(), cudnn: native.cudnnIsAvailable(), addon: { ...addonInfo } };
}

/** The CPU random generator's state (a uint8 tensor), as torch.get_rng_state(). */
export function getRngState(): Tensor<'uint8'> {
  return wrap<'uint8'>(native.getRngState());
}

/** Restores a state from getRngState(), as torch.set_rng_state(): the same numbers follow. */
export function setRngState(state: Tensor<'uint8'>): void {
  const t = checkTensor(state, 'state');
  if (t.dtype !== 'uint8' || t.dim() !== 1) invalidArg('a 1-D uint8 tensor from getRngState()', 'state', t);
  native.setRngState(t.handle('state'));
}
