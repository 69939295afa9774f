export { trainStep } from './step';
export type { TrainStep, TrainStepOptions, LossFn, StepInput } from './step';
export { fit, evaluate, predict, earlyStopping } from './fit';
export type { FitOptions, History, Callback, Logs, FitContext, EvaluateOptions, SchedulerLike, Batches } from './fit';
export { modelCheckpoint, latestCheckpoint } from './checkpoint-callback';
export type { ModelCheckpointOptions } from './checkpoint-callback';
export { tensorBoard } from './tensorboard-callback';
export type { TensorBoardOptions } from './tensorboard-callback';
