/**
 * The cache of traced graphs that TracedModule (lib/jit.ts) and trainStep (lib/train/step.ts)
 * keep: one graph per input signature. Kept out of jit.ts, whose exports are public as
 * torch.jit (jit.ts re-exports signature()).
 */
import type { Tensor } from './tensor';

/** The key of one traced graph. */
export function signature(tensors: Tensor[], training: boolean): string {
  return `${training ? 'train' : 'eval'}|${tensors.map((t) => `${t.dtype}[${t.shape.join(',')}]`).join('|')}`;
}

/** Traced graphs by signature(); at most `max`, the oldest traced dropped first. @internal */
export class GraphCache<G> {
  private readonly graphs = new Map<string, G>();
  constructor(private readonly max = 32) {}

  /**
   * The graph for these tensors and training flag, traced by `make` if the signature is new.
   * `state` is the module's parameters and buffers, which the graph takes as inputs ahead of
   * `tensors`: a module that gained, lost or reshaped one (a buffer registered after the first
   * call) gets a graph of its own.
   */
  get(tensors: Tensor[], training: boolean, make: () => G, state: Tensor[] = []): G {
    const key = `${signature(tensors, training)}|state|${signature(state, training)}`;
    let g = this.graphs.get(key);
    if (g === undefined) {
      g = make();
      if (this.graphs.size >= this.max) this.graphs.delete(this.graphs.keys().next().value as string);
      this.graphs.set(key, g);
    }
    return g;
  }
}
