/** torch.optim: optimizers and learning-rate schedules. */
export { Optimizer, SGD, Adam, AdamW, RMSprop, Adagrad } from './optimizer';
export type { ParamGroup, ParamGroupInput, Params, OptimizerStateDict } from './optimizer';
export * as lrScheduler from './lr-scheduler';
