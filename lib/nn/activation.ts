/**
 * Modules with no parameters that PyTorch's torch.nn has as classes: the activations (ReLU,
 * LeakyReLU, GELU, Tanh, Sigmoid, SiLU, GLU, Softmax, LogSoftmax) and the shape helpers
 * (Identity, Flatten, Unflatten). Each forward is the function of the same name, so values and
 * gradients are PyTorch's; options are PyTorch's in camelCase.
 */
import '../api/generated/tensor'; // x.unflatten
import * as F from './functional';
import { Tensor, checkTensor } from '../tensor';
import { invalidArg } from '../errors';
import { checkInt, checkNumber, checkOptions, checkString } from '../validate';
import { Module } from './module';

abstract class Activation extends Module {
  abstract apply(x: Tensor): Tensor;
  forward(input: Tensor): Tensor {
    this._checkLive('module');
    return this.apply(checkTensor(input, 'input'));
  }
}

/** The input itself (a placeholder layer), torch.nn.Identity. */
export class Identity extends Activation {
  apply(x: Tensor): Tensor { return x; }
}

/** max(0, x), torch.nn.ReLU. */
export class ReLU extends Activation {
  apply(x: Tensor): Tensor { return x.relu(); }
}

/** max(0, x) + negativeSlope * min(0, x), torch.nn.LeakyReLU (negativeSlope default 0.01). */
export class LeakyReLU extends Activation {
  readonly negativeSlope: number;
  constructor(opts?: { negativeSlope?: number }) {
    super();
    const o = checkOptions<{ negativeSlope: number }>(opts, 'options', ['negativeSlope']);
    this.negativeSlope = o.negativeSlope === undefined ? 0.01 : checkNumber(o.negativeSlope, 'negativeSlope');
  }
  apply(x: Tensor): Tensor { return F.leakyRelu(x, this.negativeSlope); }
  extraRepr(): string { return `negative_slope=${this.negativeSlope}`; }
}

/** GELU, exact or with the tanh approximation, torch.nn.GELU. */
export class GELU extends Activation {
  readonly approximate: 'none' | 'tanh';
  constructor(opts?: { approximate?: 'none' | 'tanh' }) {
    super();
    const o = checkOptions<{ approximate: 'none' | 'tanh' }>(opts, 'options', ['approximate']);
    this.approximate = o.approximate === undefined ? 'none' : checkString(o.approximate, 'approximate', ['none', 'tanh'] as const);
  }
  apply(x: Tensor): Tensor { return x.gelu({ approximate: this.approximate }); }
  extraRepr(): string { return `approximate='${this.approximate}'`; }
}

/** torch.nn.Tanh. */
export class Tanh extends Activation {
  apply(x: Tensor): Tensor { return x.tanh(); }
}

/** torch.nn.Sigmoid. */
export class Sigmoid extends Activation {
  apply(x: Tensor): Tensor { return x.sigmoid(); }
}

/** x * sigmoid(x), torch.nn.SiLU. */
export class SiLU extends Activation {
  apply(x: Tensor): Tensor { return F.silu(x); }
}

/** a * sigmoid(b), the halves of `dim` (default -1), torch.nn.GLU. */
export class GLU extends Activation {
  readonly dim: number;
  constructor(opts?: { dim?: number }) {
    super();
    const o = checkOptions<{ dim: number }>(opts, 'options', ['dim']);
    this.dim = o.dim === undefined ? -1 : checkInt(o.dim, 'dim');
  }
  apply(x: Tensor): Tensor { return F.glu(x, this.dim); }
  extraRepr(): string { return `dim=${this.dim}`; }
}

/** Softmax over `dim`, torch.nn.Softmax (PyTorch's implicit dim is not supported: give one). */
export class Softmax extends Activation {
  readonly dim: number;
  constructor(opts: { dim: number }) {
    super();
    const o = checkOptions<{ dim: number }>(opts, 'options', ['dim']);
    this.dim = checkInt(o.dim, 'dim');
  }
  apply(x: Tensor): Tensor { return x.softmax(this.dim); }
  extraRepr(): string { return `dim=${this.dim}`; }
}

/** Log-softmax over `dim`, torch.nn.LogSoftmax. */
export class LogSoftmax extends Softmax {
  apply(x: Tensor): Tensor { return x.logSoftmax(this.dim); }
}

/** Flattens dims startDim..endDim (defaults 1, -1: everything but the batch), torch.nn.Flatten. */
export class Flatten extends Activation {
  readonly startDim: number;
  readonly endDim: number;
  constructor(opts?: { startDim?: number; endDim?: number }) {
    super();
    const o = checkOptions<{ startDim: number; endDim: number }>(opts, 'options', ['startDim', 'endDim']);
    this.startDim = o.startDim === undefined ? 1 : checkInt(o.startDim, 'startDim');
    this.endDim = o.endDim === undefined ? -1 : checkInt(o.endDim, 'endDim');
  }
  apply(x: Tensor): Tensor { return x.flatten(this.startDim, this.endDim); }
  extraRepr(): string { return `start_dim=${this.startDim}, end_dim=${this.endDim}`; }
}

/** Splits dim `dim` into `unflattenedSize`, torch.nn.Unflatten. */
export class Unflatten extends Activation {
  readonly dim: number;
  readonly unflattenedSize: number[];
  constructor(dim: number, unflattenedSize: number[]) {
    super();
    this.dim = checkInt(dim, 'dim');
    if (!Array.isArray(unflattenedSize) || unflattenedSize.length === 0 || !unflattenedSize.every((s) => Number.isInteger(s))) {
      invalidArg('a non-empty array of integers', 'unflattenedSize', unflattenedSize);
    }
    this.unflattenedSize = [...unflattenedSize];
  }
  apply(x: Tensor): Tensor { return x.unflatten(this.dim, this.unflattenedSize); }
  extraRepr(): string { return `dim=${this.dim}, unflattened_size=(${this.unflattenedSize.join(', ')})`; }
}
