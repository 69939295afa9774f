/** `torch.utils`: PyTorch's torch.utils.tensorboard. */
export * as tensorboard from './tensorboard';
