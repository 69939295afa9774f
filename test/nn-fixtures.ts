// Builds torchrnn modules from the nn.json fixture cases (scripts/gen-fixtures.py).
import * as torch from '../lib';
import { Encoded, fromFixture } from './helpers';

const { nn } = torch;

export interface ModuleCase {
  name: string;
  kind: string;
  dtype: 'float32' | 'float64';
  options: Record<string, unknown>;
  stateDict: Record<string, Encoded>;
  inputs: Record<string, Encoded>;
  outputs: Encoded[];
  projections: Encoded[];
  inputGrads: Record<string, Encoded | null>;
  paramGrads: Record<string, Encoded | null>;
  /** training mode (dropout between layers): torch.manualSeed(forwardSeed) right before the forward */
  training?: boolean;
  forwardSeed?: number;
}

export function construct(kind: string, o: Record<string, unknown>): torch.nn.Module {
  switch (kind) {
    case 'rnn': return new nn.RNN(o as never);
    case 'lstm': return new nn.LSTM(o as never);
    case 'gru': return new nn.GRU(o as never);
    case 'rnnCell': return new nn.RNNCell(o as never);
    case 'lstmCell': return new nn.LSTMCell(o as never);
    case 'gruCell': return new nn.GRUCell(o as never);
    case 'linear': return new nn.Linear(o.inFeatures as number, o.outFeatures as number, o.bias === undefined ? undefined : { bias: o.bias as boolean });
    case 'embedding': return new nn.Embedding(o.numEmbeddings as number, o.embeddingDim as number, o.paddingIdx === undefined ? undefined : { paddingIdx: o.paddingIdx as number });
    case 'layerNorm': {
      const { normalizedShape, ...rest } = o;
      return new nn.LayerNorm(normalizedShape as number[], rest);
    }
    case 'dropout': return new nn.Dropout(o.p as number);
    case 'sequential': return new nn.Sequential(new nn.Linear(4, 6), new nn.LayerNorm(6), new nn.Dropout(0.2), new nn.Linear(6, 2));
    default: throw new Error(`unknown kind ${kind}`);
  }
}

/** The module of a case, converted to its dtype, in eval mode, with the fixture's parameters. */
export function moduleFor(c: ModuleCase): torch.nn.Module {
  const m = construct(c.kind, c.options).to(c.dtype).train(c.training === true);
  const sd: Record<string, torch.Tensor> = {};
  for (const [k, v] of Object.entries(c.stateDict)) sd[k] = fromFixture(v);
  m.loadStateDict(sd);
  for (const t of Object.values(sd)) t.dispose();
  return m;
}

/** Runs a case's forward the way Python did; returns the flat outputs and the differentiable inputs. */
export function runCase(c: ModuleCase, m: torch.nn.Module, lengthsAsArray: boolean, async = false): { outs: torch.Tensor[] | Promise<torch.Tensor[]>; inputs: Record<string, torch.Tensor> } {
  const inputs: Record<string, torch.Tensor> = {};
  for (const [k, v] of Object.entries(c.inputs)) inputs[k] = fromFixture(v, v.dtype === 'float32' || v.dtype === 'float64');
  const x = inputs.input;
  const flat = (r: unknown): torch.Tensor[] => (Array.isArray(r) ? (r as unknown[]).flatMap(flat) : [r as torch.Tensor]);
  let result: unknown;
  if (c.forwardSeed !== undefined) torch.manualSeed(c.forwardSeed);
  if (['rnn', 'lstm', 'gru'].includes(c.kind)) {
    const state = inputs.h0 ? (c.kind === 'lstm' ? [inputs.h0, inputs.c0] : inputs.h0) : undefined;
    const opts = inputs.lengths ? { lengths: lengthsAsArray ? Array.from(inputs.lengths.dataSync() as BigInt64Array, Number) : inputs.lengths } : undefined;
    const rec = m as torch.nn.LSTM;
    result = async ? rec.forwardAsync(x, state as never, opts) : rec.forward(x, state as never, opts);
  } else if (c.kind.endsWith('Cell')) {
    const state = inputs.h0 ? (c.kind === 'lstmCell' ? [inputs.h0, inputs.c0] : inputs.h0) : undefined;
    const cell = m as torch.nn.LSTMCell;
    result = async ? cell.forwardAsync(x, state as never) : cell.forward(x, state as never);
  } else {
    result = async ? m.forwardAsync(x) : m.forward(x);
  }
  return { outs: result instanceof Promise ? result.then(flat) : flat(result), inputs };
}
