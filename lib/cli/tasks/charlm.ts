/**
 * The character-level language model that the `names` and `text` tasks share: an embedding,
 * a recurrent stack and a linear head over the vocabulary; exact validation bits per
 * character; and sampling that carries the recurrent state from one character to the next.
 */
import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { Tensor, tidy } from '../../tensor';
import { disposeState, keepState, RecurrentState, recurrent, runRecurrent, runRecurrentState, sampleIndex, sequenceNll } from './common';
import type { Metric, Prepared, TrainConfig } from './task';

export class CharModel extends nn.Module {
  embed: nn.Embedding;
  rnn: Module;
  drop: nn.Dropout;
  head: nn.Linear;
  /** `embedding`: the size of each character's vector (names: 32). */
  constructor(cfg: TrainConfig, vocab: number, embedding = 32) {
    super();
    this.embed = new nn.Embedding(vocab, embedding);
    this.rnn = recurrent(cfg, embedding);
    this.drop = new nn.Dropout(cfg.dropout);
    this.head = new nn.Linear(cfg.hidden * (cfg.bidirectional ? 2 : 1), vocab);
  }
  forward(x: Tensor, lengths?: Tensor): Tensor {
    return this.head.forward(this.drop.forward(runRecurrent(this.rnn, this.embed.forward(x), lengths)));
  }
  /** Logits of every position and the recurrent state after the last one (for generation). */
  step(x: Tensor, state: RecurrentState | null): [Tensor, RecurrentState] {
    const [out, next] = runRecurrentState(this.rnn, this.embed.forward(x), state);
    return [this.head.forward(this.drop.forward(out)), next];
  }
}

/** Exact bits per character over every validation position (the per-batch mean of the loss is not). */
export function bitsPerCharacter(model: Module, prepared: Prepared): Metric {
  let nll = 0;
  let chars = 0;
  model.eval();
  for (const [input, target] of prepared.valid as Iterable<[Tensor | Tensor[], Tensor]>) {
    const args = Array.isArray(input) ? input : [input];
    const [s, n] = noGrad(() => tidy(() => sequenceNll((model as CharModel).forward(...(args as [Tensor, Tensor?])), target)));
    nll += s;
    chars += n;
    for (const t of [...args, target]) t.dispose();
  }
  return { name: 'validation bits per character', value: nll / chars / Math.LN2, better: 'lower' };
}

export interface GenerateOptions {
  /** Ids the model reads first (a start symbol and the prompt). Non-empty. */
  prefix: number[];
  /** Characters to generate at most. */
  maxLength: number;
  temperature: number;
  /** A uniform [0, 1) source (seeded). */
  rand: () => number;
  /** Stop when this id is drawn (not included). */
  stopId?: number;
}

/** Generated ids after the prefix; each step feeds one character and carries the state. */
export function generate(model: CharModel, o: GenerateOptions): number[] {
  model.eval();
  const out: number[] = [];
  let state: RecurrentState | null = null;
  let input = o.prefix;
  try {
    for (let k = 0; k < o.maxLength; k++) {
      const [probs, next] = noGrad(() => tidy(() => {
        const [logits, s] = model.step(tensor([input], { dtype: 'int64' }), state);
        const last = logits.select(0, 0).select(0, -1);
        return [Array.from(last.div(o.temperature).softmax(-1).dataSync() as Float32Array), keepState(s)] as const;
      }));
      disposeState(state);
      state = next;
      const id = sampleIndex(probs, o.rand());
      if (id === o.stopId) break;
      out.push(id);
      input = [id];
    }
  } finally {
    disposeState(state);
  }
  return out;
}
