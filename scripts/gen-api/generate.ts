/**
 * Step 2 of generating torchrnn's tensor API (step 1: scripts/gen-api/dump.ts, once per libtorch
 * line). Reads scripts/gen-api/data/api-<line>.json of every line there is and writes:
 *
 *   lib/api/generated/torch.ts     torch.* functions            (torch.topk → torch.topk)
 *   lib/api/generated/tensor.ts    Tensor methods, in-place `_` forms included
 *   lib/api/generated/linalg.ts    torch.linalg.*               (aten::linalg_<name>)
 *   lib/api/generated/special.ts   torch.special.*              (aten::special_<name>)
 *   lib/api/generated/fft.ts       torch.fft.*                  (aten::fft_<name>)
 *   lib/api/generated/functional.ts  torch.nn.functional.*      (Python signatures mapped by name)
 *   docs/api-coverage.md           what is generated, what is hand-written, what is not there and why
 *
 * Names are PyTorch's in camelCase; types come from the schemas (TypeScript overloads: required
 * arguments positional plus an options object, and the all-positional form Python allows). A
 * name already written by hand in lib/ (lib/ops.ts, lib/creation.ts, lib/nn/functional.ts...)
 * keeps its hand-written version. Run: `npx tsx scripts/gen-api/generate.ts` (needs the built
 * addon, to see which names lib/ already has).
 */
import * as fs from 'fs';
import * as path from 'path';
import type { NativeSchema } from '../../lib/binding';
import { ArgType, camelCase, parseType, publicOverloads, Schema } from '../../lib/aten/schema';
import { handWritten, HAND_PY, EXCLUDED, ASYNC } from './hand';

interface SurfaceEntry { name: string; builtin: boolean; params?: { name: string; kind: string; default: unknown }[] | null }
interface Line { line: string; surface: Record<string, SurfaceEntry[]>; schemas: Map<string, Schema[]> }

const root = path.join(__dirname, '..', '..');
const dataDir = path.join(__dirname, 'data');

function loadLine(file: string): Line {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { line: string; surface: Record<string, SurfaceEntry[]>; schemas: NativeSchema[] };
  const schemas = new Map<string, Schema[]>();
  for (const [name, overload, args, rets, vararg] of raw.schemas) {
    const s: Schema = {
      name, overload, vararg, index: null,
      args: args.map(([n, spelling, hasDefault, def, kwargOnly, writes, N]) => ({ name: n, key: camelCase(n), type: parseType(spelling, n), spelling, hasDefault, default: def, kwargOnly, writes, n: N })),
      returns: rets.map(([n, spelling, writes]) => ({ name: n, type: parseType(spelling), spelling, writes })),
    };
    (schemas.get(name) ?? schemas.set(name, []).get(name)!).push(s);
  }
  for (const list of schemas.values()) list.sort((a, b) => (a.overload === '' ? -1 : b.overload === '' ? 1 : a.overload.localeCompare(b.overload)));
  return { line: raw.line, surface: raw.surface, schemas };
}

const lines: Line[] = fs.readdirSync(dataDir).filter((f) => /^api-[\d.]+\.json$/.test(f)).sort().map((f) => loadLine(path.join(dataDir, f)));
const LINES = lines.map((l) => l.line);

// ---- TypeScript types from schema types ---------------------------------------------------
function tsType(t: ArgType, tensorTakesNumber: boolean): string {
  switch (t.kind) {
    case 'optional': return `${tsType(t.elem, tensorTakesNumber)} | null`;
    case 'list': {
      const e = tsType(t.elem, false);
      return e.includes(' ') ? `(${e})[]` : `${e}[]`;
    }
    case 'Tensor': return tensorTakesNumber ? 'Tensor | number' : 'Tensor';
    case 'int': case 'float': return 'number';
    case 'bool': return 'boolean';
    case 'Scalar': return 'number | boolean';
    case 'str': return 'string';
    case 'Device': return 'Device';
    case 'Generator': return 'null';
    case 'ScalarType': return 'DType';
    case 'Layout': return "'strided'";
    case 'MemoryFormat': return "'contiguousFormat' | 'preserveFormat' | 'channelsLast' | 'channelsLast3d'";
    case 'unsupported': return 'never';
  }
}

function paramType(a: Schema['args'][number], index: number): string {
  let t = tsType(a.type, index > 0);
  if (a.n && a.type.kind === 'list' && a.type.elem.kind === 'int') t = `number | ${t}`;
  if (a.n && a.type.kind === 'optional' && a.type.elem.kind === 'list') t = `number | ${t}`;
  return t;
}

function returnType(s: Schema): string {
  const r = s.returns;
  if (r.length === 0) return 'void';
  const one = (t: ArgType) => tsType(t, false);
  if (r.length === 1) return one(r[0].type);
  const tuple = `[${r.map((x) => one(x.type)).join(', ')}]`;
  const names = r.filter((x) => x.name);
  return names.length === r.length ? `${tuple} & { ${r.map((x) => `${safeKey(x.name)}: ${one(x.type)}`).join('; ')} }` : tuple;
}

function safeKey(k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k);
}

/** The TypeScript call signatures of one overload (`method`: self is the tensor). An optional
 * argument without a default (Tensor? weight) is a required parameter that takes null. */
function signatures(s: Schema, method: boolean): string[] {
  const args = s.args.slice(method ? 1 : 0);
  const positional = args.filter((a) => !a.kwargOnly);
  const firstOptional = positional.findIndex((a) => a.hasDefault);
  const requiredPrefix = firstOptional < 0 ? positional : positional.slice(0, firstOptional);
  // a required argument after one with a default has no TypeScript form (rare in aten)
  if (positional.slice(requiredPrefix.length).some((a) => !a.hasDefault && a.type.kind !== 'optional')) return [];
  const p = (a: Schema['args'][number], opt: boolean) => `${safeIdent(a.key)}${opt ? '?' : ''}: ${paramType(a, s.args.indexOf(a))}`;
  // factories (their schema has pin_memory) also take Python's requires_grad (lib/api/public-op.ts)
  const factory = s.args.some((a) => a.name === 'pin_memory') && !s.args.some((a) => a.name === 'requires_grad');
  const opts = (list: Schema['args']) => {
    const keys = list.map((a) => `${safeKey(a.key)}?: ${paramType(a, s.args.indexOf(a))}`);
    if (factory) keys.push('requiresGrad?: boolean');
    return keys.length ? `opts?: { ${keys.join('; ')} }` : '';
  };
  const ret = returnType(s);
  const optional = args.filter((a) => !requiredPrefix.includes(a));
  const formA = [...requiredPrefix.map((a) => p(a, false)), opts(optional)].filter(Boolean).join(', ');
  const out = [`(${formA}): ${ret};`];
  // Python's varargs int list for methods: x.permute(1, 0), x.repeat(2, 1), x.view(2, -1)
  const first = positional[0];
  if (method && first && !first.hasDefault && first.type.kind === 'list' && first.type.elem.kind === 'int' && requiredPrefix.length === 1) {
    out.push(`(...${safeIdent(first.key)}: number[]): ${ret};`);
  }
  const optPositional = positional.slice(requiredPrefix.length);
  if (optPositional.length) {
    const formB = [...requiredPrefix.map((a) => p(a, false)), ...optPositional.map((a) => p(a, true)), opts(args.filter((a) => a.kwargOnly))].filter(Boolean).join(', ');
    out.push(`(${formB}): ${ret};`);
  }
  return out;
}

/** The TypeScript signatures of a function called with Python's parameters (nn.functional). */
function pySignatures(it: Item, e: SurfaceEntry): string[] {
  const sig = it.pySig!;
  const list = [...it.overloads.values()][0];
  const ret = returnType(list[0]);
  const params: { key: string; type: string; required: boolean; kw: boolean }[] = [];
  for (const [pi, p] of (e.params ?? []).entries()) {
    if (sig.dropped.includes(p.name)) continue;
    const key = camelCase(p.name);
    const required = !!p.default && typeof p.default === 'object' && '$none' in (p.default as object);
    let type: string;
    if (p.name === 'inplace' || p.name === 'return_indices') type = 'boolean';
    else if (p.name === 'reduction') type = "'none' | 'mean' | 'sum'";
    else {
      const target = sig.renames[p.name] ?? p.name;
      const arg = list.flatMap((s) => s.args).find((a) => a.name === target);
      if (!arg) return ['(...args: any[]): any;'];
      type = paramType(arg, pi);
      if (p.kind === 'varargs') type = type.replace(/\[\]$/, '');
    }
    if (p.kind === 'varargs') { params.push({ key: `...${key}`, type: `${type}[]`, required: true, kw: false }); continue; }
    params.push({ key, type, required, kw: p.kind === 'keyword' });
  }
  const firstOpt = params.findIndex((q) => !q.required || q.kw);
  const req = firstOpt < 0 ? params : params.slice(0, firstOpt);
  const rest = params.slice(req.length);
  const decl = (q: { key: string; type: string }, opt: boolean) => `${safeIdent(q.key)}${opt ? '?' : ''}: ${q.type}`;
  const optsOf = (l: typeof params) => (l.length ? `opts?: { ${l.map((q) => `${safeKey(q.key)}?: ${q.type}`).join('; ')} }` : '');
  const rest1 = params.findIndex((q) => q.key.startsWith('...'));
  if (rest1 >= 0) {
    // Python's *tensors: spread, or one array followed by the options
    const before = params.slice(0, rest1).map((q) => decl(q, false));
    const v = params[rest1];
    const after = params.slice(rest1 + 1);
    return [
      `(${[...before, `${v.key}: ${v.type}`].join(', ')}): ${ret};`,
      `(${[...before, `${v.key.slice(3)}: ${v.type}`, optsOf(after)].filter(Boolean).join(', ')}): ${ret};`,
    ];
  }
  const out = [`(${[...req.map((q) => decl(q, false)), optsOf(rest)].filter(Boolean).join(', ')}): ${ret};`];
  const optPos = rest.filter((q) => !q.kw && !q.key.startsWith('...'));
  if (optPos.length) out.push(`(${[...req.map((q) => decl(q, false)), ...optPos.map((q) => decl(q, true)), optsOf(rest.filter((q) => q.kw))].filter(Boolean).join(', ')}): ${ret};`);
  return out;
}

const RESERVED = new Set(['self', 'other', 'default', 'function', 'var', 'in', 'new', 'delete', 'class', 'return', 'this', 'switch', 'case', 'if', 'else', 'for', 'while', 'do', 'break', 'continue', 'with', 'yield', 'let', 'const', 'enum', 'export', 'import', 'super', 'typeof', 'instanceof', 'void', 'try', 'catch', 'finally', 'throw', 'debugger', 'package', 'interface', 'private', 'protected', 'public', 'static', 'implements', 'extends', 'null', 'true', 'false']);
function safeIdent(k: string): string {
  return RESERVED.has(k) ? `${k}_` : k;
}

// ---- what each public name maps to -----------------------------------------------------------
const PREFIX: Record<string, string> = { torch_fns: '', tensor: '', linalg: 'linalg_', special: 'special_', fft: 'fft_', functional: '' };

interface Item {
  ns: string;
  py: string;
  js: string;
  aten: string;
  entry: SurfaceEntry;
  /** per line: the public overloads there */
  overloads: Map<string, Schema[]>;
  pySig?: { params: string[]; renames: Record<string, string>; dropped: string[]; reduction: boolean; inplaceOp?: string; packFrom?: number; defaults?: Record<string, unknown> };
}

interface Skip { ns: string; py: string; reason: string }

const items: Item[] = [];
const skipped: Skip[] = [];
const hand = handWritten();

const PY_ALIASES: Record<string, string[]> = { input: ['self', 'input'], training: ['train', 'training'], other: ['other'] };
const PY_DROPPED = new Set(['size_average', 'reduce', '_stacklevel', 'out']);

function mapPython(e: SurfaceEntry, overloadsByLine: Map<string, Schema[]>): Item['pySig'] | string {
  const params = e.params;
  if (!params) return 'no Python signature to map';
  if (params.some((p) => p.kind === 'varkw')) return 'a Python-level function (*args/**kwargs) with no single aten operator';
  const all = [...overloadsByLine.values()].flat();
  const argNames = new Set(all.flatMap((s) => s.args.map((a) => a.name)));
  const renames: Record<string, string> = {};
  const dropped: string[] = [];
  let reduction = false;
  let inplaceOp: string | undefined;
  let packFrom: number | undefined;
  const names: string[] = [];
  for (const [i, p] of params.entries()) {
    if (p.kind === 'varargs') {
      if (i !== params.length - 1 && params.slice(i + 1).some((q) => q.kind !== 'keyword')) return 'varargs in the middle';
      packFrom = i;
    }
    names.push(p.name);
    if (PY_DROPPED.has(p.name)) { dropped.push(p.name); continue; }
    if (p.name === 'inplace') { inplaceOp = `${e.name}_`; continue; }
    if (p.name === 'reduction') { reduction = true; if (!argNames.has('reduction')) return "its 'reduction' has no aten argument"; continue; }
    const target = (PY_ALIASES[p.name] ?? [p.name]).find((n) => argNames.has(n));
    if (!target) {
      if (p.kind === 'varargs') {
        const listArg = all[0]?.args.find((a) => a.type.kind === 'list' && a.type.elem.kind === 'Tensor');
        if (listArg) { renames[p.name] = listArg.name; continue; }
      }
      return `Python's argument '${p.name}' has no aten counterpart`;
    }
    if (target !== p.name) renames[p.name] = target;
  }
  // Python's defaults where the schema has none (F.dropout's p=0.5, training=True)
  const defaults: Record<string, unknown> = {};
  for (const p of params) {
    const d = p.default;
    if (d === null || (typeof d === 'object') || dropped.includes(p.name) || p.name === 'inplace') continue;
    const target = renames[p.name] ?? p.name;
    if (p.name === 'reduction' || all.some((s) => s.args.some((a) => a.name === target && !a.hasDefault))) defaults[p.name] = d;
  }
  // aten arguments Python fills in itself: batch_norm's cudnn_enabled (torch.backends.cudnn.enabled)
  if (argNames.has('cudnn_enabled') && !names.includes('cudnn_enabled')) defaults.cudnn_enabled = true;
  return { params: names, renames, dropped, reduction, inplaceOp, packFrom, defaults };
}

for (const ns of Object.keys(PREFIX)) {
  const names = new Map<string, SurfaceEntry>();
  for (const l of lines) for (const e of l.surface[ns] ?? []) if (!names.has(e.name)) names.set(e.name, e);
  for (const [py, e] of [...names].sort((a, b) => a[0].localeCompare(b[0]))) {
    const js = camelCase(py);
    if (EXCLUDED[ns]?.[py]) { skipped.push({ ns, py, reason: EXCLUDED[ns][py] }); continue; }
    if (hand[ns]?.has(js)) continue; // hand-written in lib/
    const mapped = HAND_PY[ns]?.[py];
    const aten = mapped?.aten ?? `${PREFIX[ns]}${py}`;
    const overloads = new Map<string, Schema[]>();
    for (const l of lines) {
      let list = publicOverloads(l.schemas.get(`aten::${aten}`) ?? []);
      if (ns === 'tensor') list = list.filter((s) => s.args[0]?.name === 'self' && s.args[0].type.kind === 'Tensor');
      if (list.length) overloads.set(l.line, list);
    }
    if (overloads.size === 0) {
      skipped.push({ ns, py, reason: e.builtin ? `no aten::${aten} with a JavaScript-callable overload` : 'a Python-level function with no aten operator of its name' });
      continue;
    }
    const item: Item = { ns, py, js, aten, overloads, entry: e };
    if (!e.builtin && ns === 'functional' && !mapped?.py) {
      const sig = mapPython(e, overloads);
      if (typeof sig === 'string') { skipped.push({ ns, py, reason: sig }); continue; }
      item.pySig = sig;
    } else if (mapped?.py) {
      const sig = { renames: {}, dropped: [], reduction: false, ...mapped.py };
      item.pySig = sig;
      // its parameters as the signature says (Python's own may be *args)
      const own = new Map((e.params ?? []).map((p) => [p.name, p]));
      const schemaArgs = [...overloads.values()].flat().flatMap((s) => s.args);
      const optional = (n: string) => n === 'return_indices' || n === 'inplace' || sig.defaults?.[n] !== undefined ||
        schemaArgs.some((a) => a.name === ((sig.renames as Record<string, string>)[n] ?? n) && (a.hasDefault || a.type.kind === 'optional'));
      item.entry = { ...e, params: sig.params.map((n, i) => ({ name: n, kind: i === sig.packFrom ? 'varargs' : 'positional', default: own.get(n)?.default ?? (optional(n) ? null : { $none: true }) })) };
    }
    if ([...overloads.values()].every((list) => list.every((s) => signatures(s, ns === 'tensor').length === 0))) {
      skipped.push({ ns, py, reason: 'no overload has a TypeScript form (optional arguments before required ones)' });
      continue;
    }
    items.push(item);
  }
}

// ---- writing ---------------------------------------------------------------------------------
const HEADER = (what: string) => `/**
 * ${what}
 * @generated by scripts/gen-api/generate.ts from scripts/gen-api/data/api-{${LINES.join(',')}}.json. Do not edit:
 * change the generator (or write the function by hand in lib/, which the generator then skips).
 */
/* eslint-disable */
`;

function availability(it: Item): string {
  const has = [...it.overloads.keys()];
  const parts: string[] = [];
  if (has.length < LINES.length) parts.push(`lines: ${JSON.stringify(has)}`);
  const keysBy: Record<string, string[]> = {};
  const allKeys = new Map<string, Set<string>>();
  for (const [line, list] of it.overloads) allKeys.set(line, new Set(list.flatMap((s) => s.args.slice(1).map((a) => a.key))));
  if (allKeys.size > 1) {
    const union = new Set([...allKeys.values()].flatMap((s) => [...s]));
    let differs = false;
    for (const [line, set] of allKeys) {
      keysBy[line] = [...union].filter((k) => set.has(k)).sort();
      if (set.size !== union.size) differs = true;
    }
    if (differs) {
      for (const line of Object.keys(keysBy)) keysBy[line] = keysBy[line].filter((k) => ![...allKeys.values()].every((s) => s.has(k)));
      parts.push(`keys: ${JSON.stringify(keysBy)}`);
    }
  }
  return parts.length ? `{ ${parts.join(', ')} }` : '{}';
}

function typeOf(it: Item, method: boolean): string {
  const sigs = new Set<string>();
  if (it.pySig) {
    // Python-signature functions: their own parameter order, options by name
    for (const sig of pySignatures(it, it.entry)) sigs.add(sig);
  } else {
    for (const list of it.overloads.values()) for (const s of list) for (const sig of signatures(s, method)) sigs.add(sig);
  }
  return `{\n${[...sigs].map((s) => `  ${s}`).join('\n')}\n}`;
}

function doc(it: Item, pyName: string): string {
  const schemas = new Set<string>();
  for (const [line, list] of it.overloads) for (const s of list) schemas.add(`${s.name}${s.overload ? `.${s.overload}` : ''}${it.overloads.size < LINES.length ? ` (libtorch ${line})` : ''}`);
  return `/** PyTorch's \`${pyName}\`. Operators: ${[...schemas].join(', ')}. */`;
}

function writeFunctions(ns: string, file: string, pyPrefix: string, what: string): number {
  const list = items.filter((i) => i.ns === ns);
  const out: string[] = [HEADER(what)];
  out.push(`import type { Tensor } from '../../tensor';\nimport type { DType } from '../../dtype';\nimport type { Device } from '../../validate';\nimport { fn, fnAsync } from '../public-op';\n`);
  for (const it of list) {
    const py = it.pySig ? `, ${JSON.stringify(it.pySig)}` : '';
    out.push(`${doc(it, `${pyPrefix}${it.py}`)}\nexport const ${safeIdent(it.js)}: ${typeOf(it, false)} = fn(${JSON.stringify(it.aten)}, ${JSON.stringify(`${pyPrefix}${it.py}`)}, ${availability(it)}${py}) as any;\n`);
    const async = ASYNC[ns];
    if (async === 'all' || async?.has(it.py)) {
      const promised = typeOf(it, false).replace(/\): (.*);$/gm, '): Promise<$1>;');
      out.push(`/** ${pyPrefix}${it.py} as a job on the executor thread: a Promise of the same results. */\nexport const ${it.js}Async: ${promised} = fnAsync(${JSON.stringify(it.aten)}, ${JSON.stringify(`${pyPrefix}${it.py}`)}, ${availability(it)}${py}) as any;\n`);
    }
  }
  const reserved = list.filter((it) => safeIdent(it.js) !== it.js);
  if (reserved.length) out.push(`export { ${reserved.map((it) => `${safeIdent(it.js)} as ${it.js}`).join(', ')} };\n`);
  fs.writeFileSync(path.join(root, 'lib', 'api', 'generated', file), out.join('\n'));
  return list.length;
}

function writeMethods(): number {
  const list = items.filter((i) => i.ns === 'tensor');
  const out: string[] = [HEADER('Tensor methods: PyTorch\'s `Tensor.<name>` for every aten operator that Python exposes as a method.')];
  out.push(`import { Tensor } from '../../tensor';\nimport type { DType } from '../../dtype';\nimport type { Device } from '../../validate';\nimport { installMethods, method } from '../public-op';\n`);
  out.push(`declare module '../../tensor' {\n  // eslint-disable-next-line @typescript-eslint/no-unused-vars\n  interface Tensor<D extends DType = DType> {`);
  for (const it of list) {
    out.push(`    ${doc(it, `Tensor.${it.py}`)}`);
    const sigs = new Set<string>();
    for (const l of it.overloads.values()) for (const s of l) for (const sig of signatures(s, true)) sigs.add(sig);
    for (const sig of sigs) out.push(`    ${safeKey(it.js)}${sig}`);
  }
  out.push('  }\n}\n');
  out.push(`installMethods({\n${list.map((it) => `  ${safeKey(it.js)}: method(${JSON.stringify(it.aten)}, ${JSON.stringify(`Tensor.${it.py}`)}, ${availability(it)}),`).join('\n')}\n});\n`);
  out.push(`void Tensor;\n`);
  fs.writeFileSync(path.join(root, 'lib', 'api', 'generated', 'tensor.ts'), out.join('\n'));
  return list.length;
}

fs.mkdirSync(path.join(root, 'lib', 'api', 'generated'), { recursive: true });
const counts = {
  torch: writeFunctions('torch_fns', 'torch.ts', 'torch.', 'torch.* functions: PyTorch\'s free functions over aten operators.'),
  tensor: writeMethods(),
  linalg: writeFunctions('linalg', 'linalg.ts', 'torch.linalg.', 'torch.linalg: linear algebra (aten::linalg_*).'),
  special: writeFunctions('special', 'special.ts', 'torch.special.', 'torch.special: special functions (aten::special_*).'),
  fft: writeFunctions('fft', 'fft.ts', 'torch.fft.', 'torch.fft: discrete Fourier transforms (aten::fft_*).'),
  functional: writeFunctions('functional', 'functional.ts', 'torch.nn.functional.', 'torch.nn.functional: the functions of PyTorch\'s nn.functional that map onto one aten operator.'),
};

// ---- the coverage report ---------------------------------------------------------------------
const NS_LABEL: Record<string, string> = { torch_fns: 'torch', tensor: 'Tensor', linalg: 'torch.linalg', special: 'torch.special', fft: 'torch.fft', functional: 'torch.nn.functional' };
const md: string[] = ['# Tensor API coverage', '', `Generated by \`scripts/gen-api/generate.ts\` from PyTorch ${lines.map((l) => l.line).join(' and ')}. Per namespace: PyTorch's public names, how many torchrnn has (generated from libtorch's schemas, or written by hand in lib/), and every name it does not have, with the reason.`, ''];
md.push('| namespace | PyTorch names | generated | hand-written | not in torchrnn |', '|---|---:|---:|---:|---:|');
for (const ns of Object.keys(PREFIX)) {
  const total = new Set(lines.flatMap((l) => (l.surface[ns] ?? []).map((e) => e.name)));
  const gen = items.filter((i) => i.ns === ns).length;
  const sk = skipped.filter((s) => s.ns === ns).length;
  md.push(`| ${NS_LABEL[ns]} | ${total.size} | ${gen} | ${total.size - gen - sk} | ${sk} |`);
}
for (const ns of Object.keys(PREFIX)) {
  const sk = skipped.filter((s) => s.ns === ns);
  if (!sk.length) continue;
  md.push('', `## Not in torchrnn: ${NS_LABEL[ns]}`, '');
  const byReason = new Map<string, string[]>();
  for (const s of sk) (byReason.get(s.reason) ?? byReason.set(s.reason, []).get(s.reason)!).push(s.py);
  for (const [reason, names] of [...byReason].sort((a, b) => b[1].length - a[1].length)) md.push(`- ${reason}: ${names.map((n) => `\`${n}\``).join(', ')}`);
}
const onlyOne = items.filter((i) => i.overloads.size < LINES.length);
if (onlyOne.length && LINES.length > 1) {
  md.push('', '## On one libtorch line only', '', 'These throw ERR_UNSUPPORTED on the other line, naming the line that has them.', '');
  for (const it of onlyOne) md.push(`- ${NS_LABEL[it.ns]}.${it.py}: libtorch ${[...it.overloads.keys()].join(', ')}`);
}
fs.writeFileSync(path.join(root, 'docs', 'api-coverage.md'), md.join('\n') + '\n');
console.log(JSON.stringify({ lines: LINES, generated: counts, skipped: skipped.length }));
