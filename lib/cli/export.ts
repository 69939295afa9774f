/**
 * `torchrnn export <run-dir> [--format torchscript|pt|safetensors] [--out file]`: a trained
 * run's model for programs without torchrnn.
 * - torchscript (default): jit.trace with the first validation batch, saved with jit.save;
 *   Python's `torch.jit.load` and C++'s `torch::jit::load` run it. Before it is written, the
 *   exported module runs on that batch and on its first half, and must give the model's own
 *   outputs on both: a graph fixed to the example's batch size is refused, not written.
 * - pt: the state dict as torch.save writes it (Python: `torch.load`, then load_state_dict).
 * - safetensors: the state dict as a safetensors file.
 */
import * as path from 'path';
import * as torch from '../index';
import type { Tensor } from '../tensor';
import type { Module } from '../nn/module';
import { OptionSpec, parseArgs, UsageError } from './args';
import type { Prepared, Task, TrainConfig } from './tasks/task';

export const EXPORT_OPTIONS: Record<string, OptionSpec> = {
  format: { type: 'string', choices: ['torchscript', 'pt', 'safetensors'] },
  out: { type: 'string' },
};

const EXTENSION = { torchscript: '.ts.pt', pt: '.pt', safetensors: '.safetensors' } as const;

/** What export needs from the CLI's run handling (lib/cli/main.ts). */
export interface RunAccess {
  loadRun(dir: string | undefined): { run: { task: string; config: TrainConfig }; task: Task; model: Module };
  prepareData(task: Task, cfg: TrainConfig): Prepared;
}

/** The forward's tensors of the first validation batch. */
async function exampleInputs(prepared: Prepared): Promise<Tensor[]> {
  const it = (Symbol.asyncIterator in prepared.valid
    ? (prepared.valid as AsyncIterable<[unknown, Tensor]>)[Symbol.asyncIterator]()
    : (prepared.valid as Iterable<[unknown, Tensor]>)[Symbol.iterator]()) as AsyncIterator<[unknown, Tensor]> | Iterator<[unknown, Tensor]>;
  const first = await it.next();
  if (first.done) throw new UsageError('the run\'s task has no validation batch to trace the model with');
  const [input] = first.value;
  return (Array.isArray(input) ? input : [input]) as Tensor[];
}

function flat(v: unknown): Tensor[] {
  return v instanceof torch.Tensor ? [v] : Array.isArray(v) ? v.flatMap(flat) : [];
}

/** The largest difference between two forward results, or Infinity when their structure differs. */
function difference(a: unknown, b: unknown): number {
  const x = flat(a);
  const y = flat(b);
  if (x.length !== y.length) return Infinity;
  let worst = 0;
  x.forEach((t, i) => {
    if (t.shape.join() !== y[i].shape.join()) { worst = Infinity; return; }
    if (t.numel() > 0) worst = Math.max(worst, t.sub(y[i]).abs().max().item() as number);
  });
  return worst;
}

/** The first `n` rows (dimension 0) of every input of that batch size. */
function firstRows(inputs: Tensor[], n: number): Tensor[] {
  const b = inputs[0].shape[0];
  return inputs.map((t) => (t.dim() > 0 && t.shape[0] === b ? t.narrow(0, 0, n) : t));
}

export async function exportRun(argv: string[], runs: RunAccess): Promise<string> {
  const { positional, options } = parseArgs(argv, EXPORT_OPTIONS);
  if (positional.length > 1) throw new UsageError(`unexpected argument "${positional[1]}"`);
  const { run, task, model } = runs.loadRun(positional[0]);
  const format = (options.format as keyof typeof EXTENSION | undefined) ?? 'torchscript';
  const out = (options.out as string | undefined) ?? path.join(positional[0], `model${EXTENSION[format]}`);
  if (format === 'pt' || format === 'safetensors') {
    torch.save(model.stateDict(), out, { format });
    return `wrote ${out} (the ${task.name} model's state dict, ${format})`;
  }
  const inputs = await exampleInputs(runs.prepareData(task, run.config));
  const traced = torch.jit.trace(model, inputs);
  const script = traced.toScript();
  script.eval();
  // the exported graph against the model itself, on the example and on a smaller batch
  const batch = inputs[0].dim() > 0 ? inputs[0].shape[0] : 1;
  const checks = batch > 1 ? [inputs, firstRows(inputs, Math.ceil(batch / 2))] : [inputs];
  for (const xs of checks) {
    let d: number;
    try {
      d = torch.noGrad(() => difference(script.forward(...xs), model.forward(...xs)));
    } catch (err) {
      throw new UsageError(`the ${task.name} model does not export to TorchScript: its traced graph fails on a batch of ${xs[0].shape[0]} (${(err as Error).message.split('\n')[0]})`);
    }
    if (!(d <= 1e-4)) {
      throw new UsageError(`the ${task.name} model does not export to TorchScript: its traced graph differs from the model on a batch of ${xs[0].shape[0]} (by ${d}); the forward computes with sizes in JavaScript`);
    }
  }
  await script.saveAsync(out);
  return `wrote ${out} (TorchScript, traced with a batch of ${batch}; Python: torch.jit.load("${path.basename(out)}"))`;
}
