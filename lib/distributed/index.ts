/**
 * torch.distributed: data-parallel training across processes and machines on PyTorch's own
 * engine (c10d, Gloo on the CPU). See process-group.ts for setting up, collectives.ts for
 * the collectives, nn.parallel.DistributedDataParallel for training and
 * data.DistributedSampler for sharding a dataset; `torchrnn run --nproc N script.js` starts
 * the processes.
 */
export {
  initProcessGroup, destroyProcessGroup, isInitialized, isAvailable, isGlooAvailable, isNcclAvailable,
  getRank, getWorldSize, getBackend, getLocalRank, barrier, barrierAsync, DEFAULT_TIMEOUT,
} from './process-group';
export type { Backend, InitProcessGroupOptions } from './process-group';
export {
  ReduceOp, allReduce, allReduceAsync, broadcast, broadcastAsync, allGather, allGatherAsync, reduceScatter, reduceScatterAsync,
} from './collectives';
export type { ReduceOpName } from './collectives';
