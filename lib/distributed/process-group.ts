/**
 * torch.distributed's default process group, on PyTorch's own engine (c10d): a TCPStore (or
 * FileStore) rendezvous and ProcessGroupGloo on the CPU; 'nccl' on CUDA builds of libtorch
 * that have it. Every rank calls initProcessGroup() once, then the collectives
 * (./collectives.ts) in the same order; nn.parallel.DistributedDataParallel averages the
 * gradients of training steps across the ranks.
 *
 * With `torchrnn run --nproc N script.js` (or torchrun) the environment carries everything:
 * @example
 * import * as torch from 'torchrnn';
 * const { distributed: dist } = torch;
 * dist.initProcessGroup({ backend: 'gloo' });       // reads MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
 * const t = torch.tensor([dist.getRank() + 1]);
 * dist.allReduce(t);                                  // every rank now holds 1 + 2 + … + N
 * dist.destroyProcessGroup();
 *
 * Failures are TorchErrors with code ERR_DISTRIBUTED: a rank that died (the others fail at
 * their next collective), a rank that hangs (the others fail after `timeout`), a missing rank,
 * ranks started with different world sizes, an unreachable master, a port in use.
 */
import { native } from '../binding';
import { invalidArg, TorchError, withCallerStack } from '../errors';
import { cuda } from '../runtime';
import { checkInt, checkOptions, checkString } from '../validate';

export type Backend = 'gloo' | 'nccl';

export interface InitProcessGroupOptions {
  /** 'gloo' (CPU tensors; default) or 'nccl' (CUDA tensors, on CUDA builds of libtorch with NCCL). */
  backend?: Backend;
  /**
   * How the ranks find each other. Default 'env://': MASTER_ADDR and MASTER_PORT from the
   * environment (rank 0 serves the store there). 'tcp://host:port': the same, given here.
   * 'file:///path': a file every rank can reach (it must not exist from an earlier run).
   * rank and worldSize may also come as query parameters: 'tcp://10.0.0.1:23456?rank=1&world_size=4'.
   */
  initMethod?: string;
  /** This process's rank in [0, worldSize). Default: RANK from the environment. */
  rank?: number;
  /** The number of processes. Default: WORLD_SIZE from the environment. */
  worldSize?: number;
  /**
   * Milliseconds to wait for the other ranks, in the rendezvous and in every collective,
   * before failing with ERR_DISTRIBUTED. Default 1800000 (30 minutes, PyTorch's default).
   */
  timeout?: number;
}

/** PyTorch's default timeout for process groups: 30 minutes. */
export const DEFAULT_TIMEOUT = 30 * 60 * 1000;

function notInitialized(fn: string): never {
  throw new TorchError(`${fn}: the default process group has not been initialized: call distributed.initProcessGroup() first`, 'ERR_DISTRIBUTED');
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) invalidArg(`a non-negative integer in the environment variable ${name}`, name, v);
  return n;
}

interface Rendezvous { store: 'tcp' | 'file'; host: string; port: number; path: string; query: URLSearchParams }

function parseInitMethod(method: string): Rendezvous {
  if (method === 'env://') {
    const host = process.env.MASTER_ADDR;
    if (!host) invalidArg("the master's address in the environment variable MASTER_ADDR (initMethod 'env://'; `torchrnn run` sets it)", 'MASTER_ADDR', host);
    const port = process.env.MASTER_PORT;
    if (!port) invalidArg("the master's port in the environment variable MASTER_PORT (initMethod 'env://'; `torchrnn run` sets it)", 'MASTER_PORT', port);
    return { store: 'tcp', host, port: checkPort(Number(port), 'MASTER_PORT', port), path: '', query: new URLSearchParams() };
  }
  let url: URL;
  try {
    url = new URL(method);
  } catch {
    invalidArg("'env://', 'tcp://host:port' or 'file:///path'", 'initMethod', method);
  }
  if (url.protocol === 'tcp:') {
    if (!url.hostname || !url.port) invalidArg("'tcp://host:port' with a host and a port", 'initMethod', method);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    return { store: 'tcp', host, port: checkPort(Number(url.port), 'initMethod', method), path: '', query: url.searchParams };
  }
  if (url.protocol === 'file:') {
    if (!url.pathname || url.pathname === '/') invalidArg("'file:///path/to/a/file'", 'initMethod', method);
    return { store: 'file', host: '', port: 0, path: decodeURIComponent(url.pathname), query: url.searchParams };
  }
  invalidArg("'env://', 'tcp://host:port' or 'file:///path'", 'initMethod', method);
}

function checkPort(n: number, name: string, raw: unknown): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) invalidArg('a port in [1, 65535]', name, raw);
  return n;
}

function queryInt(q: URLSearchParams, ...names: string[]): number | undefined {
  for (const name of names) {
    const v = q.get(name);
    if (v !== null) return checkInt(Number(v), `initMethod's ${name}`, { min: 0 });
  }
  return undefined;
}

/**
 * Joins this process to the default process group (torch.distributed.init_process_group).
 * Blocks until every rank has joined (or `timeout` passed), as in PyTorch.
 * @example
 * distributed.initProcessGroup({ backend: 'gloo', initMethod: 'tcp://127.0.0.1:29500', rank: 0, worldSize: 2 });
 */
export function initProcessGroup(opts?: InitProcessGroupOptions): void {
  const o = checkOptions<InitProcessGroupOptions>(opts, 'options', ['backend', 'initMethod', 'rank', 'worldSize', 'timeout']);
  const backend = o.backend === undefined ? 'gloo' : checkString(o.backend, 'backend', ['gloo', 'nccl'] as const);
  const method = o.initMethod === undefined ? 'env://' : o.initMethod;
  if (typeof method !== 'string') invalidArg("'env://', 'tcp://host:port' or 'file:///path'", 'initMethod', method);
  const timeout = o.timeout === undefined ? DEFAULT_TIMEOUT : checkInt(o.timeout, 'timeout', { min: 1 });
  const r = parseInitMethod(method);
  const worldSize = o.worldSize !== undefined ? checkInt(o.worldSize, 'worldSize', { min: 1, max: 1 << 20 })
    : queryInt(r.query, 'world_size', 'worldSize') ?? envInt('WORLD_SIZE');
  if (worldSize === undefined) invalidArg('a world size (the worldSize option, or WORLD_SIZE in the environment)', 'worldSize', undefined);
  if (worldSize < 1) invalidArg('an integer >= 1', 'worldSize', worldSize);
  const rank = o.rank !== undefined ? checkInt(o.rank, 'rank', { min: 0 }) : queryInt(r.query, 'rank') ?? envInt('RANK');
  if (rank === undefined) invalidArg('a rank (the rank option, or RANK in the environment)', 'rank', undefined);
  if (rank >= worldSize) invalidArg(`a rank in [0, ${worldSize - 1}] (worldSize is ${worldSize})`, 'rank', rank);
  if (isInitialized()) throw new TorchError('initProcessGroup: the default process group is already initialized (call destroyProcessGroup() first)', 'ERR_DISTRIBUTED');
  if (backend === 'nccl') {
    if (!native.distAvailability().nccl) {
      throw new TorchError("initProcessGroup: backend 'nccl' is not available: the libtorch torchrnn runs on was built without NCCL (use backend 'gloo')", 'ERR_DISTRIBUTED');
    }
    if (!cuda.isAvailable()) {
      throw new TorchError("initProcessGroup: backend 'nccl' needs CUDA GPUs and none is available (torch.cuda.isAvailable() is false): use backend 'gloo'", 'ERR_CUDA_UNAVAILABLE');
    }
  }
  native.distInit({ backend, store: r.store, host: r.host, port: r.port, path: r.path, rank, worldSize, timeout });
}

/** True once initProcessGroup() succeeded (and destroyProcessGroup() was not called). */
export function isInitialized(): boolean { return native.distInfo() !== null; }
/** True: this build of torchrnn has torch.distributed (false only for a libtorch without c10d). */
export function isAvailable(): boolean { return native.distAvailability().gloo; }
/** True when the Gloo backend is available. */
export function isGlooAvailable(): boolean { return native.distAvailability().gloo; }
/** True when the NCCL backend is compiled in (CUDA builds of libtorch with NCCL). */
export function isNcclAvailable(): boolean { return native.distAvailability().nccl; }

function info(fn: string): [number, number, Backend] {
  const i = native.distInfo();
  if (i === null) notInitialized(fn);
  return i;
}

/** @internal The default group's rank, world size and backend; ERR_DISTRIBUTED naming `fn` when there is none. */
export function _group(fn: string): { rank: number; worldSize: number; backend: Backend } {
  const [rank, worldSize, backend] = info(fn);
  return { rank, worldSize, backend };
}

/** This process's rank in the default group. Throws ERR_DISTRIBUTED before initProcessGroup(). */
export function getRank(): number { return info('getRank')[0]; }
/** The number of processes in the default group. Throws ERR_DISTRIBUTED before initProcessGroup(). */
export function getWorldSize(): number { return info('getWorldSize')[1]; }
/** The default group's backend. */
export function getBackend(): Backend { return info('getBackend')[2]; }
/**
 * This process's rank on its machine: LOCAL_RANK from the environment (set by `torchrnn run`
 * and torchrun), else the global rank. Pick a GPU with it: `cuda:${getLocalRank()}`.
 */
export function getLocalRank(): number {
  const local = envInt('LOCAL_RANK');
  return local ?? getRank();
}

/** Waits until every rank has called barrier(). */
export function barrier(): void {
  info('barrier');
  native.distBarrier();
}

/** barrier() without blocking the event loop (on the executor, after the jobs queued before it). */
export function barrierAsync(): Promise<void> {
  info('barrierAsync');
  return withCallerStack(native.distBarrierAsync(), new Error());
}

/**
 * Leaves the default process group (after the jobs queued before it). Rank 0 also stops the
 * rendezvous store, so call it when no other rank still needs the store (after a barrier()).
 * A DistributedDataParallel model keeps its group's connections until it is collected.
 */
export function destroyProcessGroup(): void {
  info('destroyProcessGroup');
  native.distDestroy();
}
