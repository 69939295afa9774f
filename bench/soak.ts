/**
 * The soak (issue 24, part 6; not in CI): a long training run that must keep its memory flat.
 *
 *   npx tsx bench/soak.ts                  100,000 steps (a while: ~1.5 ms a step on 2 cores)
 *   npx tsx bench/soak.ts --steps 20000    a shorter run
 *
 * Options: --steps N (default 100000), --report N (a JSON line every N steps, default 10000),
 * --checkpoint N (a training checkpoint every N steps, default 1000), --threshold MB (the most
 * RSS may grow over the second half of the run, default 16), --dir DIR (the checkpoint's
 * folder, default a new temporary one, removed at the end).
 *
 * What it runs: trainStep (traced, Adam, gradient clipping) on a 2-layer LSTM classifier (8
 * features, 32 units, 4 classes) over batches of 16 padded sequences with their lengths: the
 * longest sequence of a batch is 4–27 steps (2% of the batches: 28–67, more input signatures
 * than trainStep's cache of 32 traced graphs holds, so graphs are evicted and traced again),
 * each sequence's own length is random, and the label depends on the first step (learnable:
 * the loss goes down). Every `--checkpoint` steps it saves a training checkpoint
 * (torch.checkpoint.saveAsync: model, Adam's state, the RNG state), collects garbage and
 * samples RSS; every `--report` steps it prints a JSON line:
 *   {"step":…, "rssMB":…, "heapUsedMB":…, "externalMB":…, "tensors":…, "tensorMB":…, "stepsPerSec":…, "loss":…}
 * (tensors / tensorMB: torch.memory() after a full garbage collection). The last line is the summary:
 *   {"summary": true, "steps":…, "rssSlopeMBPer10k":…, "rssGrowthSecondHalfMB":…, "thresholdMB":…,
 *    "tensorsFirst":…, "tensorsLast":…, "pass":…, …, "rssSamplesMB": [every sample]}
 * rssSlopeMBPer10k is the least-squares slope of the RSS samples of the second half (a sample
 * every --checkpoint steps), rssGrowthSecondHalfMB that slope over the second half's steps. Exit
 * code 1 when that growth exceeds --threshold or the live tensors after a collection are more
 * at the end than at the first sample (a leak of tensors); 0 otherwise.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import * as torch from '../lib';
import { mulberry32 } from '../lib/random';

const { nn, optim } = torch;

function option(name: string, fallback: number, min: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(v) || v < min) {
    console.error(`bench/soak.ts: --${name} takes an integer ≥ ${min}, not ${process.argv[i + 1]}`);
    process.exit(2);
  }
  return v;
}

const STEPS = option('steps', 100000, 1);
const REPORT = option('report', 10000, 1);
const CHECKPOINT = option('checkpoint', 1000, 1);
const THRESHOLD_MB = option('threshold', 16, 0);
const dirArg = process.argv.indexOf('--dir');
const DIR = dirArg >= 0 ? process.argv[dirArg + 1] : fs.mkdtempSync(path.join(os.tmpdir(), 'torchrnn-soak-'));

// A full collection before each sample, without --expose-gc on the command line (tsx).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

class Classifier extends nn.Module {
  lstm = new nn.LSTM({ inputSize: 8, hiddenSize: 32, numLayers: 2, batchFirst: true });
  head = new nn.Linear(32, 4);
  forward(x: torch.Tensor, lengths: torch.Tensor): torch.Tensor {
    const [, [h]] = this.lstm.forward(x, { lengths });
    return this.head.forward(h.select(0, -1));
  }
}

const MB = 1024 * 1024;
const round = (v: number, d = 2) => Number(v.toFixed(d));

/** The least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) { num += (xs[i] - mx) * (ys[i] - my); den += (xs[i] - mx) ** 2; }
  return den === 0 ? 0 : num / den;
}

async function main(): Promise<void> {
  torch.manualSeed(0);
  const rand = mulberry32(1);
  const model = new Classifier();
  const optimizer = new optim.Adam(model.parameters(), { lr: 3e-3 });
  const step = torch.trainStep({ model, loss: new nn.CrossEntropyLoss(), optimizer, clipGradNorm: 1 });
  const file = path.join(DIR, 'soak.safetensors');
  const B = 16;

  const samples: { step: number; rss: number }[] = [];
  let tensorsFirst: number | null = null;
  let tensorsLast = 0;
  let lossSum = 0;
  let lossN = 0;
  let firstLoss: number | null = null;
  let lastLoss = 0;
  const signatures = new Set<number>();
  const started = performance.now();
  let intervalStart = started;
  let intervalSteps = 0;

  for (let i = 1; i <= STEPS; i++) {
    const T = rand() < 0.98 ? 4 + Math.floor(rand() * 24) : 28 + Math.floor(rand() * 40);
    signatures.add(T);
    const lens = Array.from({ length: B }, (_, b) => (b === 0 ? T : 1 + Math.floor(rand() * T)));
    const [x, y, lengths] = torch.tidy(() => {
      const x = torch.randn([B, T, 8]);
      const first = x.select(1, 0);
      const y = first.select(1, 0).gt(0).long().add(first.select(1, 1).gt(0).long().mul(2));
      return [x, y, torch.tensor(lens, { dtype: 'int64' })];
    });
    const loss = await step([x, lengths], y);
    x.dispose();
    y.dispose();
    lengths.dispose();
    lossSum += loss;
    lossN++;
    intervalSteps++;

    if (i % CHECKPOINT === 0 || i === STEPS) {
      await torch.checkpoint.saveAsync(file, { model, optimizer, step: i });
      await settle();
      samples.push({ step: i, rss: process.memoryUsage().rss / MB });
    }
    if (i % REPORT === 0 || i === STEPS) {
      if (i % CHECKPOINT !== 0 && i !== STEPS) await settle();
      const mem = process.memoryUsage();
      const t = torch.memory();
      const now = performance.now();
      const meanLoss = lossSum / lossN;
      firstLoss ??= meanLoss;
      lastLoss = meanLoss;
      tensorsFirst ??= t.tensors;
      tensorsLast = t.tensors;
      console.log(JSON.stringify({
        step: i, rssMB: round(mem.rss / MB, 1), heapUsedMB: round(mem.heapUsed / MB, 1), externalMB: round(mem.external / MB, 1),
        tensors: t.tensors, tensorMB: round(t.bytes / MB, 3), stepsPerSec: round((intervalSteps * 1000) / (now - intervalStart), 0), loss: round(meanLoss, 4),
      }));
      lossSum = 0;
      lossN = 0;
      intervalStart = now;
      intervalSteps = 0;
    }
  }

  const second = samples.filter((s) => s.step > STEPS / 2);
  const perStep = second.length >= 2 ? slope(second.map((s) => s.step), second.map((s) => s.rss)) : 0;
  const growth = perStep * (STEPS / 2);
  const pass = growth <= THRESHOLD_MB && tensorsLast <= (tensorsFirst ?? tensorsLast);
  console.log(JSON.stringify({
    summary: true, steps: STEPS, seconds: round((performance.now() - started) / 1000, 1), checkpoints: samples.length,
    inputSignatures: signatures.size, rssFirstMB: round(samples[0].rss, 1), rssLastMB: round(samples[samples.length - 1].rss, 1),
    rssMaxMB: round(Math.max(...samples.map((s) => s.rss)), 1), secondHalfSamples: second.length,
    rssSlopeMBPer10k: round(perStep * 10000, 3), rssGrowthSecondHalfMB: round(growth, 2), thresholdMB: THRESHOLD_MB,
    tensorsFirst, tensorsLast, lossFirst: round(firstLoss ?? 0, 4), lossLast: round(lastLoss, 4), pass,
    rssSamplesMB: samples.map((s) => round(s.rss, 1)),
  }));
  if (dirArg < 0) fs.rmSync(DIR, { recursive: true, force: true });
  process.exitCode = pass ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
