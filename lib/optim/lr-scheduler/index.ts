/**
 * Learning-rate schedules: torch.optim.lr_scheduler (PyTorch 1.13) with camelCase names and
 * options objects.
 *
 * A scheduler reads and writes `optimizer.paramGroups[i].lr` exactly where PyTorch's reads and
 * writes `param_groups[i]['lr']` (and `momentum` or `betas[0]` for OneCycleLR), and the optimizer
 * hands each group's current lr to libtorch at every step, so a schedule takes effect at the next
 * `optimizer.step()` / `stepAsync()`. The formulas are PyTorch's own, including the recursive
 * ("chainable") forms its `get_lr()` uses, so the learning rates equal PyTorch's to the last bits.
 * Like PyTorch, every group gets an `initialLr` (PyTorch's `initial_lr`) the first time a
 * scheduler is attached, and the constructor performs the first step.
 *
 * Schedulers are plain JavaScript and run on the JS thread; a `stepAsync()` captures the lrs
 * the groups have when it is queued.
 *
 * @example
 * const optimizer = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const scheduler = new optim.lrScheduler.StepLR(optimizer, { stepSize: 30, gamma: 0.1 });
 * for (let epoch = 0; epoch < 100; epoch++) {
 *   await trainOneEpoch();     // optimizer.step() for every batch
 *   scheduler.step();          // after the optimizer's steps, as in PyTorch >= 1.1
 * }
 */
import { LRScheduler } from './base';
import { CosineAnnealingLR, OneCycleLR } from './annealing';
import { LambdaLR } from './lambda';
import { ReduceLROnPlateau } from './plateau';
import { register, StateSpec } from './state-dict';
import { ExponentialLR, LinearLR, MultiStepLR, StepLR } from './step';

// What lib/optim/lr-scheduler.ts exported, in its order: the framework's types, then every class.
export type { SchedulerOptimizer, SchedulerStateDict } from './state-dict';
export type { SchedulerBaseOptions } from './base';
export { LRScheduler } from './base';
export { StepLR, MultiStepLR, ExponentialLR } from './step';
export type { StepLROptions, MultiStepLROptions, ExponentialLROptions } from './step';
export { CosineAnnealingLR } from './annealing';
export type { CosineAnnealingLROptions } from './annealing';
export { LinearLR } from './step';
export type { LinearLROptions } from './step';
export { LambdaLR } from './lambda';
export type { LrLambda, LambdaLROptions } from './lambda';
export { OneCycleLR } from './annealing';
export type { OneCycleLROptions, OneCyclePhase } from './annealing';
export { ReduceLROnPlateau } from './plateau';
export type { ReduceLROnPlateauOptions } from './plateau';

/** Any of the schedulers: LRScheduler's subclasses step(), ReduceLROnPlateau steps with a metric. */
export type AnyLRScheduler = LRScheduler | ReduceLROnPlateau;

for (const cls of [StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, LambdaLR, OneCycleLR]) {
  register(cls.name, (cls as unknown as { stateSpec: StateSpec }).stateSpec);
}
register('ReduceLROnPlateau', (ReduceLROnPlateau as unknown as { stateSpec: StateSpec }).stateSpec);
