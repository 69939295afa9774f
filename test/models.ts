// Small models and seeded data that several test files train (helpers: test/helpers.ts; the
// nn.json fixture modules: test/nn-fixtures.ts). Class names show in error messages that tests
// assert ("a disposed Classifier", "loading stateDict for Net"): keep them.
import * as torch from '../lib';

const { nn } = torch;

/** Two models made by `make` after manualSeed(seed), the second loaded with the first's parameters. */
export function twins<M extends torch.nn.Module>(make: () => M, seed: number): [M, M] {
  torch.manualSeed(seed);
  const a = make();
  const b = make();
  b.loadStateDict(a.stateDict());
  return [a, b];
}

/**
 * A 2-layer batch-first LSTM (4 features, 8 units) and a linear head of 3 classes on the last
 * layer's final hidden state; `lengths` for padded variable-length batches (what data.DataLoader
 * gives). Used by test/55 (jit.trace), 60 (DataLoader) and 61 (trainStep, fit).
 */
export class Classifier extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 4, hiddenSize: 8, numLayers: 2, batchFirst: true });
  head = new nn.Linear(8, 3);
  forward(x: torch.Tensor, lengths?: torch.Tensor): torch.Tensor {
    const [, [h]] = this.lstm.forward(x, lengths ? { lengths } : undefined);
    return this.head.forward(h.select(0, -1));
  }
}

/** Two Classifiers with equal parameters (seed 11). */
export function twin(): [Classifier, Classifier] {
  return twins(() => new Classifier(), 11);
}

/** Negative log-likelihood of class indices under log-softmax (cross entropy, written out). */
export const nll = (out: torch.Tensor, t: torch.Tensor): torch.Tensor => out.logSoftmax(-1).gather(1, t.unsqueeze(1)).neg().mean();

/** `n` samples [sequence of 4 features, class]: lengths from minLen to maxLen, randn values after manualSeed(seed). */
export function sequences(n: number, seed: number, minLen = 3, maxLen = 9): [torch.Tensor, number][] {
  torch.manualSeed(seed);
  return Array.from({ length: n }, (_, i) => [torch.randn([minLen + (i * 5) % (maxLen - minLen + 1), 4]), i % 3] as [torch.Tensor, number]);
}

/**
 * A 2-layer batch-first LSTM (3 features, 6 units, dropout 0.3) with dropout and a linear head of
 * 2 outputs on the last step: saved and loaded by test/50 (safetensors), and trained into
 * checkpoints by test/62.
 */
export class Net extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 3, hiddenSize: 6, numLayers: 2, dropout: 0.3, batchFirst: true });
  drop = new nn.Dropout(0.2);
  head = new nn.Linear(6, 2);
  forward(x: torch.Tensor): torch.Tensor {
    const [out] = this.lstm.forward(x);
    return this.head.forward(this.drop.forward(out.select(1, -1)));
  }
}
