// The peer processes: one per peer (bench/peer-torchrnn.ts, peer-tfjs.ts, peer_pytorch.py), spoken
// to one JSON line at a time over fd 3.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { Peer } from './common';
import { verbose } from './suite-options';

// torchrnn's peers load the compiled package (dist/, what npm installs), not lib/ through tsx:
// tsx's module shims alone cost ~10 % on a tiny op. Compile first when lib/ is newer.
export function ensureCompiled(): void {
  const root = path.join(__dirname, '..');
  const built = path.join(root, 'dist', 'index.js');
  const newest = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = path.join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0);
  }, 0);
  if (fs.existsSync(built) && fs.statSync(built).mtimeMs >= newest(path.join(root, 'lib'))) return;
  process.stderr.write('compiling lib/ to dist/ (npm run compile)\n');
  const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run compile failed: the benchmark measures the compiled package');
}

// The JavaScript peers run as plain JavaScript, as a user's compiled program does: bench/common.ts
// and the peer, transpiled (no type check: `npm run typecheck` does that) into .bench-js/ at the
// repository's root (the same depth as bench/, so their '../dist' and '../package.json' resolve
// alike). Under tsx every later require went through its hooks, and its loader's own memory
// (about 4 MB after the first request) counted in the memory rows' peak over idle.
const benchJs = path.join(__dirname, '..', '.bench-js');
let transpiled = false;
function peerScript(name: 'peer-torchrnn' | 'peer-tfjs'): string {
  if (!transpiled) {
    // (typescript is a devDependency, as tsx is: the benchmark runs from a clone)
    const ts = require('typescript') as typeof import('typescript');
    fs.mkdirSync(benchJs, { recursive: true });
    for (const f of ['common', 'peer-torchrnn', 'peer-tfjs']) {
      const out = ts.transpileModule(fs.readFileSync(path.join(__dirname, `${f}.ts`), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        fileName: `${f}.ts`,
      });
      fs.writeFileSync(path.join(benchJs, `${f}.js`), out.outputText);
    }
    transpiled = true;
  }
  return path.join(benchJs, `${name}.js`);
}
export const python = process.env.BENCH_PYTHON ?? '/usr/bin/python3';
function command(peer: Peer): [string, string[]] {
  if (peer === 'pytorch') return [python, [path.join(__dirname, 'peer_pytorch.py')]];
  const file = peerScript(peer === 'torchrnn' ? 'peer-torchrnn' : 'peer-tfjs');
  return [process.execPath, [file, ...(peer.startsWith('tfjs-') ? [peer.slice(5)] : [])]];
}

export class Worker {
  private proc: ChildProcess;
  private waiting: ((line: string) => void)[] = [];
  private log: string[] = [];
  dead: string | null = null;
  constructor(readonly peer: Peer) {
    const [cmd, args] = command(peer);
    this.proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
    const keep = (d: Buffer) => { this.log.push(d.toString()); if (this.log.length > 200) this.log.shift(); if (verbose) process.stderr.write(`[${peer}] ${d}`); };
    this.proc.stdout!.on('data', keep);
    this.proc.stderr!.on('data', keep);
    readline.createInterface({ input: this.proc.stdio[3] as NodeJS.ReadableStream }).on('line', (l) => this.waiting.shift()?.(l));
    this.proc.on('error', (e) => this.fail(`could not start: ${e.message}`));
    this.proc.on('exit', (code, sig) => this.fail(`exited (${sig ?? code})`));
  }
  private fail(why: string) {
    if (this.dead) return;
    const tail = this.log.join('').trim().split('\n').filter((l) => l.trim()).slice(-3).join(' | ');
    this.dead = `${why}${tail ? `: ${tail}` : ''}`;
    for (const w of this.waiting.splice(0)) w(JSON.stringify({ ok: false, error: this.dead }));
  }
  request<T>(req: Record<string, unknown>, timeoutMs = 20 * 60e3): Promise<T> {
    if (this.dead) return Promise.reject(new Error(this.dead));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => { this.kill(); reject(new Error(`timed out after ${timeoutMs / 1000} s`)); }, timeoutMs);
      this.waiting.push((line) => {
        clearTimeout(timer);
        const a = JSON.parse(line) as { ok: boolean; result?: T; error?: string };
        if (a.ok) resolve(a.result as T); else reject(new Error(a.error));
      });
      this.proc.stdin!.write(JSON.stringify(req) + '\n');
    });
  }
  kill() { if (!this.dead) this.fail('stopped'); this.proc.kill('SIGKILL'); }
  close() { if (!this.dead) { this.proc.stdin!.end(JSON.stringify({ op: 'exit' }) + '\n'); this.dead = 'closed'; } }
}

export function isInstalled(peer: Peer): string | null {
  if (!peer.startsWith('tfjs-')) return null;
  const need = peer === 'tfjs-wasm' ? ['@tensorflow/tfjs-backend-wasm'] : [];
  const umbrella = (() => { try { require.resolve('@tensorflow/tfjs'); return true; } catch { return false; } })();
  if (!umbrella) need.push('@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu');
  const missing = need.filter((m) => { try { require.resolve(m); return false; } catch { return true; } });
  return missing.length ? `not installed (${missing.join(', ')}; npm ci installs the dev dependencies)` : null;
}
