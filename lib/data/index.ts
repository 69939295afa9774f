/** torch.data: batching for training loops. */
export { DataLoader } from './dataloader';
export type { DataLoaderOptions, Sample, Batch } from './dataloader';
export { DistributedSampler } from './distributed-sampler';
export type { DistributedSamplerOptions, Sampler } from './distributed-sampler';
