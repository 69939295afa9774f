// The suite's case list: the workloads, the cost curves, the limit grid and the overheads, at the
// sizes of the chosen mode, narrowed by --only and --filter.
import { Case, LoopCase, MatmulCase, ModelCase, ServeCase, spreadLengths, TinyCase } from './common';
import { mode, opt, sections } from './suite-options';

export type Section = 'workloads' | 'curves' | 'limit' | 'overheads';
export interface Entry { c: Case; section: Section; title: string; params: Record<string, number | string>; force?: boolean; note?: string }
export const entries = new Map<string, Entry>();
const idFilter = opt('filter') ? new RegExp(opt('filter')!) : null;
function add(e: Entry): string {
  if (idFilter && !idFilter.test(e.c.id)) return e.c.id;
  const had = entries.get(e.c.id);
  if (!had) entries.set(e.c.id, e);
  else if (e.force) had.force = true;
  return e.c.id;
}

function modelCase(kind: 'classifier' | 'charlm', cell: 'lstm' | 'gru' | 'rnn', m: 'train' | 'infer', s: Partial<ModelCase> & { batch: number; seq: number; hidden: number }): ModelCase {
  const r = mode.ref;
  const c: ModelCase = { id: '', kind, cell, mode: m, input: r.input, layers: r.layers, classes: r.classes, ...s };
  c.id = `${kind === 'charlm' ? 'charlm' : cell}${c.lengths ? '-packed' : ''}${c.proj ? `-proj${c.proj}` : ''}${c.dropout ? `-dropout${c.dropout}` : ''}-${m}-b${c.batch}-s${c.seq}-h${c.hidden}-l${c.layers}${kind === 'charlm' ? `-e${c.embed}-v${c.classes}` : `-i${c.input}`}`;
  return c;
}
const sizeLabel = (c: ModelCase) => (c.kind === 'charlm'
  ? `batch ${c.batch}, seq ${c.seq}, emb ${c.embed}, hidden ${c.hidden}, vocab ${c.classes}`
  : `batch ${c.batch}, seq ${c.lengths ? `${Math.min(...c.lengths)}..${c.seq}` : c.seq}, in ${c.input}, hidden ${c.hidden}, ${c.layers} layers`);
function addModel(section: Section, c: ModelCase, force = false): string {
  const name = c.kind === 'charlm' ? 'char-LSTM LM'
    : `${c.cell.toUpperCase()} classifier${c.lengths ? ', packed' : ''}${c.proj ? `, projSize ${c.proj}` : ''}${c.dropout ? `, dropout ${c.dropout} between layers` : ''}`;
  return add({
    c, section, force, title: `${name} ${c.mode === 'train' ? 'train step' : 'inference'} (${sizeLabel(c)})`,
    params: { batch: c.batch, seq: c.seq, hidden: c.hidden, layers: c.layers, ...(c.kind === 'charlm' ? { embed: c.embed!, vocab: c.classes } : { input: c.input }),
      ...(c.proj ? { projSize: c.proj } : {}), ...(c.dropout ? { dropout: c.dropout } : {}) },
  });
}

const R = mode.ref;
export const curves: { name: 'seq' | 'batch' | 'hidden'; ids: string[]; xs: number[] }[] = [];
let matmulId = '';
if (sections.has('limit')) {
  matmulId = add({ c: { id: `matmul-${mode.matmul}`, kind: 'matmul', n: mode.matmul } as MatmulCase, section: 'limit', title: `float32 matmul ${mode.matmul}x${mode.matmul} @ ${mode.matmul}x${mode.matmul}`, params: { n: mode.matmul } });
}
if (sections.has('workloads')) {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    for (const m of ['train', 'infer'] as const) addModel('workloads', modelCase('classifier', cell, m, { ...R }), cell === 'lstm' && m === 'train');
  }
  const L = mode.charlm;
  for (const m of ['train', 'infer'] as const) {
    addModel('workloads', modelCase('charlm', 'lstm', m, { batch: L.batch, seq: L.seq, hidden: L.hidden, layers: L.layers, embed: L.embed, classes: L.vocab, input: L.embed }));
  }
  const lengths = spreadLengths(R.batch, mode.packedMin, R.seq);
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    for (const m of ['train', 'infer'] as const) addModel('workloads', modelCase('classifier', cell, m, { ...R, lengths }));
  }
  // the LSTM's other options: projSize (training and inference), dropout between layers (training:
  // in eval mode it does nothing)
  for (const m of ['train', 'infer'] as const) addModel('workloads', modelCase('classifier', 'lstm', m, { ...R, proj: R.hidden / 2 }));
  addModel('workloads', modelCase('classifier', 'lstm', 'train', { ...R, dropout: 0.3 }));
}
if (sections.has('curves')) {
  const curve = (name: 'seq' | 'batch' | 'hidden', xs: number[]) => {
    const pts = xs.map((x) => [x, addModel('curves', modelCase('classifier', 'lstm', 'train', { ...R, [name]: x }))] as const).filter(([, id]) => entries.has(id));
    if (pts.length) curves.push({ name, xs: pts.map(([x]) => x), ids: pts.map(([, id]) => id) });
  };
  curve('seq', mode.seqs);
  curve('batch', mode.batches);
  curve('hidden', mode.hiddens);
}
if (sections.has('limit')) {
  for (const [batch, hidden] of mode.limitGrid) addModel('limit', modelCase('classifier', 'lstm', 'train', { ...R, batch, hidden, seq: mode.limitSeq }));
}
/** the large matmul's case id, '' when --only or --filter leaves it out */
export const limitMatmulId = matmulId && entries.has(matmulId) ? matmulId : '';
const loopIds: string[] = [];
if (sections.has('overheads')) {
  const tiny = (op: 'linear' | 'add', async: boolean, title: string) => add({
    c: { id: `tiny-${op}-${async ? 'async' : 'sync'}`, kind: 'tiny', op, async, calls: mode.tinyCalls } as TinyCase, section: 'overheads', title, params: { calls: mode.tinyCalls },
    note: async ? 'PyTorch: the same call awaited from asyncio on a one-thread executor (`await loop.run_in_executor(pool, lin, x)`), what keeps a Python event loop free; TensorFlow.js: apply + await data()' : undefined,
  });
  tiny('add', false, 'tiny op: add of two 1x4 tensors, sync');
  tiny('linear', false, 'tiny op: Linear(4, 4) forward, sync');
  tiny('linear', true, 'tiny op: Linear(4, 4) forward, async (forwardAsync)');
  // Serving: the reference size's recurrent module alone, on one sequence (batch 1), under no-grad.
  // The latency rows become two rows each in the report (p50, p99: suite-analysis.ts).
  const S = mode.serve;
  const serve = (cell: 'lstm' | 'gru', m: ServeCase['mode'], pool = 1) => {
    const c: ServeCase = { id: '', kind: 'serve', cell, mode: m, seq: R.seq, input: R.input, hidden: R.hidden, layers: R.layers, inflight: m === 'concurrent' ? S.inflight : 1, requests: m === 'concurrent' ? S.requests : 1, pool };
    c.id = `serve-${cell}-b1-s${c.seq}-h${c.hidden}-l${c.layers}-i${c.input}-${m}${m === 'concurrent' ? `${c.inflight}${pool === 1 ? '' : `-pool${pool || 'default'}`}` : ''}`;
    const name = cell.toUpperCase();
    const size = `batch 1, seq ${c.seq}, in ${c.input}, hidden ${c.hidden}, ${c.layers} layers`;
    const title = m === 'concurrent'
      ? `${name} serving: ${c.inflight} forwardAsync in flight${pool === 1 ? '' : ', PyTorch on the default pool'} (${size})`
      : `${name} serving: one forward${m === 'async' ? 'Async' : ''} (${size})`;
    const pyForm = pool === 1 ? 'a one-thread executor' : 'asyncio\'s default executor (min(32, cores + 4) threads)';
    const note = m === 'sync' ? 'PyTorch: `with torch.inference_mode(): lstm(x)`; torchrnn: `torch.noGrad(() => lstm.forward(x))`; TensorFlow.js: tf.layers model of the recurrent layers, predict + dataSync (its GRU is Keras\'s variant: reset gate before the recurrent matmul)'
      : m === 'async' ? `PyTorch: the same call awaited from asyncio on ${pyForm} (\`await loop.run_in_executor(pool, call, x)\`, inference_mode set in the call: it is per thread); torchrnn: \`await torch.noGrad(() => lstm.forwardAsync(x))\`; TensorFlow.js: predict + await data()`
        : `${c.requests} requests per iteration from ${c.inflight} coroutines/async functions that each await one call after another, so ${c.inflight} are outstanding; PyTorch on ${pyForm}; torchrnn's jobs run on its executor thread, none batched together; TensorFlow.js: n/a (its backends compute on the JS thread: the calls would run one after another, the sync row)`;
    add({ c, section: 'overheads', title, note, params: { batch: 1, seq: c.seq, input: c.input, hidden: c.hidden, layers: c.layers, ...(m === 'concurrent' ? { inflight: c.inflight, requests: c.requests, pythonPool: pool || 'default' } : {}) } });
  };
  for (const cell of ['lstm', 'gru'] as const) for (const m of ['sync', 'async'] as const) serve(cell, m);
  serve('lstm', 'concurrent', 1);
  serve('lstm', 'concurrent', 0);
  const lc: LoopCase = { id: 'eventloop-fit', kind: 'eventloop', cell: 'lstm', ...R, steps: mode.loopSteps, intervalMs: 5 };
  loopIds.push(add({ c: lc, section: 'overheads', title: `event-loop delay while fit() trains the LSTM classifier (HTTP request every ${lc.intervalMs} ms)`, params: { steps: lc.steps } }));
}
