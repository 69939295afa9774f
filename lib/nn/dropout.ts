/**
 * Channel dropout, torch.nn.Dropout2d: in training mode each channel (a whole [H, W] plane) is
 * zeroed with probability p and the others are scaled by 1 / (1 - p); in eval mode it is the
 * identity. The forward is what torch.nn.functional.dropout2d runs (libtorch's feature_dropout), so after
 * `torch.manualSeed(s)` the channels dropped are PyTorch's. (Elementwise dropout: nn.Dropout in
 * layers.ts.)
 */
import { featureDropout, featureDropout_ } from '../api/generated/torch';
import { invalidArg } from '../errors';
import { isOptions, warnOnce } from '../aten/python-args';
import { checkTensor, Tensor } from '../tensor';
import { checkBool, checkOptions } from '../validate';
import { Module } from './module';

/** Python's repr of a float: 0.5, 1.0. */
const pyFloat = (v: number): string => (Number.isInteger(v) ? v.toFixed(1) : String(v));

/**
 * torch.nn.Dropout2d(p = 0.5, inplace = false), input [N, C, H, W] (a 3-D input is taken as
 * [N, C, L], as PyTorch does).
 * @example const drop = new nn.Dropout2d(0.2); // or new nn.Dropout2d({ p: 0.2, inplace: false })
 */
export class Dropout2d extends Module {
  readonly p: number;
  readonly inplace: boolean;
  constructor(p?: number, inplace?: boolean);
  constructor(opts: { p?: number; inplace?: boolean });
  constructor(p: number | { p?: number; inplace?: boolean } = 0.5, inplace = false) {
    super();
    let prob: unknown = p;
    let inPlace: unknown = inplace;
    if (isOptions(p)) {
      const o = checkOptions<{ p: number; inplace: boolean }>(p, 'options', ['p', 'inplace']);
      prob = o.p ?? 0.5;
      inPlace = o.inplace ?? false;
    }
    if (typeof prob !== 'number' || !(prob >= 0 && prob <= 1)) invalidArg('a probability in [0, 1]', 'p', prob);
    this.p = prob;
    this.inplace = checkBool(inPlace, 'inplace');
  }
  forward(input: Tensor): Tensor {
    this._checkLive('module');
    const x = checkTensor(input, 'input');
    // F.dropout2d's warnings (the same text on PyTorch 1.13 and 2.6)
    if (x.dim() !== 3 && x.dim() !== 4) {
      warnOnce(`dropout2d: Received a ${x.dim()}-D input to dropout2d, which is deprecated and will result in an error in a future release. `
        + 'To retain the behavior and silence this warning, please use dropout instead. Note that dropout2d exists to provide channel-wise '
        + 'dropout on inputs with 2 spatial dimensions, a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).');
    }
    if (x.dim() === 3) {
      warnOnce('dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is desired - input is '
        + 'interpreted as shape (N, C, L), where C is the channel dim. This behavior will change in a future release to interpret the '
        + 'input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please '
        + 'switch to using dropout1d instead.');
    }
    // what F.dropout2d calls: feature_dropout (feature_dropout_ in place)
    return this.inplace ? featureDropout_(x, this.p, this.training) : featureDropout(x, this.p, this.training);
  }
  extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=${this.inplace ? 'True' : 'False'}`; }
}
