// data.DataLoader (lib/data/dataloader.ts): padding with lengths, stacking, seeded shuffles,
// dropLast, bucketByLength, bad input. DistributedSampler: test/65; training on a DataLoader:
// test/61.
import * as assert from 'assert';
import * as torch from '../lib';
import { throwsTorch, values } from './helpers';
import { sequences } from './models';

const { data } = torch;

describe('data.DataLoader', () => {
  it('pads variable-length sequences, gives lengths, batches targets', () => {
    const loader = new data.DataLoader([[[[1], [2], [3]], 0], [[[4]], 1], [[[5], [6]], 2]], { batchSize: 3, padValue: -1 });
    const [[[input, lengths], target]] = [...loader] as [[torch.Tensor, torch.Tensor], torch.Tensor][];
    assert.deepStrictEqual(input.toArray(), [[[1], [2], [3]], [[4], [-1], [-1]], [[5], [6], [-1]]]);
    assert.deepStrictEqual(lengths.toArray(), [3, 1, 2]);
    assert.deepStrictEqual(target.toArray(), [0, 1, 2]);
    assert.strictEqual(loader.length, 1);
  });

  it('stacks equal-length samples; shuffles reproducibly by seed and epoch; dropLast', () => {
    const samples = Array.from({ length: 10 }, (_, i) => [[i, i], i] as [number[], number]);
    const order = (l: torch.data.DataLoader) => [...l].map(([x]) => values((x as torch.Tensor).select(1, 0)));
    const a = new data.DataLoader(samples, { batchSize: 4, shuffle: true, seed: 7 });
    const b = new data.DataLoader(samples, { batchSize: 4, shuffle: true, seed: 7 });
    const e1 = order(a);
    assert.deepStrictEqual(order(b), e1);
    assert.notDeepStrictEqual(order(a), e1); // the next epoch reshuffles
    assert.deepStrictEqual(e1.flat().sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const d = new data.DataLoader(samples, { batchSize: 4, dropLast: true });
    assert.strictEqual(d.length, 2);
    assert.deepStrictEqual([...d].map(([x]) => (x as torch.Tensor).shape[0]), [4, 4]);
  });

  it('bucketByLength groups similar lengths', () => {
    // padding computed per batch: a stacked batch (all lengths equal) has none
    const padding = (l: torch.data.DataLoader) => [...l].map(([x]) => {
      if (!Array.isArray(x)) return 0;
      const [p, lens] = x;
      return p.shape[0] * p.shape[1] - values(lens).reduce((s, v) => s + v, 0);
    }).reduce((a, b) => a + b, 0);
    const bucketed = padding(new data.DataLoader(sequences(40, 8, 1, 20), { batchSize: 8, bucketByLength: true, shuffle: true, seed: 2 }));
    const plain = padding(new data.DataLoader(sequences(40, 8, 1, 20), { batchSize: 8, shuffle: true, seed: 2 }));
    assert.ok(bucketed < plain / 2, `padding ${bucketed} (bucketed) vs ${plain}`);
  });

  it('bad input', () => {
    throwsTorch(() => new data.DataLoader([]), 'ERR_INVALID_ARG', 'Expected a non-empty array of [input, target] samples for dataset but received []');
    throwsTorch(() => new data.DataLoader([[[1], 0]], { batchSize: 0 }), 'ERR_INVALID_ARG', 'Expected an integer >= 1 for batchSize but received 0');
    throwsTorch(() => new data.DataLoader([[[[1, 2]], 0], [[[1]], 0]]), 'ERR_INVALID_ARG', "Expected an input of shape [*, 2] (like dataset[0]'s) for dataset[1][0] but received a float32 Tensor of shape [1, 1]");
  });
});
