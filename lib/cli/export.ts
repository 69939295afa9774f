/**
 * `torchrnn export <run-dir> [--format torchscript|pt|safetensors] [--out file]`: a trained
 * run's model for programs without torchrnn.
 * - torchscript (default): jit.trace with the first validation batch, saved with jit.save;
 *   Python's `torch.jit.load` and C++'s `torch::jit::load` run it. Before it is written, the
 *   exported module runs on that batch and is traced again on its first half (twice the batch
 *   when it has one row; jit.ts shapeSpecialization, the check behind jit.save's warning): a
 *   graph fixed to the example's batch size is refused, not written.
 * - pt: the state dict as torch.save writes it (Python: `torch.load`, then load_state_dict).
 * - safetensors: the state dict as a safetensors file.
 */
import * as path from 'path';
import * as torch from '../index';
import { shapeSpecialization } from '../jit';
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
  const found = shapeSpecialization(script, model, inputs);
  if (found?.error !== undefined) {
    throw new UsageError(`the ${task.name} model does not export to TorchScript: its traced graph fails on a batch of ${found.rows} (${found.error})`);
  }
  if (found?.difference !== undefined) {
    throw new UsageError(`the ${task.name} model does not export to TorchScript: its traced graph differs from the model on a batch of ${found.rows} (by ${found.difference}); the forward computes with sizes in JavaScript`);
  }
  if (found) {
    throw new UsageError(`the ${task.name} model does not export to TorchScript: its traced graph depends on the batch size (traced with a batch of ${found.rows}, ${found.constants?.[0]} becomes ${found.constants?.[1]}); the forward computes with sizes in JavaScript`);
  }
  await script.saveAsync(out);
  return `wrote ${out} (TorchScript, traced with a batch of ${batch}; Python: torch.jit.load("${path.basename(out)}"))`;
}
