/** torch.nn: modules with PyTorch's names, options and state-dict keys. */
export { Module, Parameter } from './module';
export { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell } from './rnn';
export type { RNNOptions, LSTMOptions, VanillaRNNOptions, CellOptions, ForwardOptions } from './rnn';
export { Linear, Embedding, Dropout, LayerNorm, Sequential } from './layers';
export { Identity, ReLU, LeakyReLU, GELU, Tanh, Sigmoid, SiLU, GLU, Softmax, LogSoftmax, Flatten, Unflatten } from './activation';
export { ModuleList, ModuleDict } from './containers';
export { Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d } from './conv';
export type { ConvOptions, ConvTransposeOptions } from './conv';
export { MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d } from './pooling';
export type { MaxPoolOptions, AvgPoolOptions, AvgPool2dOptions } from './pooling';
export { Dropout2d } from './dropout';
export { BatchNorm1d, BatchNorm2d } from './batchnorm';
export type { BatchNormOptions } from './batchnorm';
export * as utils from './utils';
export * as functional from './functional';
export { CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss, BCELoss, BCEWithLogitsLoss, CTCLoss } from './loss';
export * as parallel from './parallel';
export * as init from './init';
