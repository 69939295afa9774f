/** torch.data: batching for training loops. */
export { DataLoader } from './dataloader';
export type { DataLoaderOptions, Sample, Batch } from './dataloader';
