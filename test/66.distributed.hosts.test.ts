// torch.distributed across separate network hosts, with link faults: scripts/netns-hosts.sh
// makes three network namespaces (trnn-h1..3, eth0 at 10.213.0.1..3, joined by a bridge in a
// namespace of its own), and each host runs `torchrnn run --nnodes 3 --node-rank R` (the
// launcher of lib/cli/run.ts, test/fixtures/distributed/hosts_launcher.ts) with one rank
// (fixtures/distributed/hosts_worker.ts), MASTER_ADDR the first host's address and
// GLOO_SOCKET_IFNAME=eth0. Then: every collective and DDP training equal to one process; a
// host's cable pulled mid-training; a rank SIGKILLed mid-training; resuming from the last
// checkpoint. Needs root and iproute2 (CI runs as root); skipped otherwise, saying why.
import * as assert from 'assert';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { assertClose, LR, model, paramValues } from './fixtures/distributed/common';
import { batch } from './fixtures/distributed/hosts_worker';
import { base, scatterInput } from './fixtures/distributed/worker';
import { removeDir, ROOT, tmpDir } from './helpers';

const { nn, optim } = torch;
const SCRIPT = path.join(ROOT, 'scripts', 'netns-hosts.sh');
const LAUNCHER = path.join(__dirname, 'fixtures', 'distributed', 'hosts_launcher.ts');
const WORKER = path.join(__dirname, 'fixtures', 'distributed', 'hosts_worker.ts');
const HOSTS = [1, 2, 3];
const TIMEOUT = 3000;  // the group's timeout (ms): every fault must surface within it (+ slack)
const STEPS = 32;
const EVERY = 4;       // each rank saves a checkpoint every EVERY steps
const ns = (h: number) => `trnn-h${h}`;
const addr = (h: number) => `10.213.0.${h}`;

function netns(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function mustNetns(...args: string[]): string {
  const r = netns(...args);
  assert.strictEqual(r.status, 0, `netns-hosts.sh ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Why this machine cannot run the file, or null. */
function skipReason(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root for network namespaces (CI runs as root)';
  const ip = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (ip.error) return 'needs iproute2\'s ip command (apt-get install iproute2)';
  if (ip.status !== 0) return `ip netns does not work here: ${ip.stderr.trim()}`;
  return null;
}

/** The pids running in host h's namespace. */
function pidsIn(h: number): number[] {
  const r = spawnSync('ip', ['netns', 'pids', ns(h)], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim()).map(Number);
}

/** Bytes the switch received from host h (its port's rx counter). */
function switchRx(h: number): number {
  const r = spawnSync('ip', ['-n', 'trnn-sw', '-s', '-j', 'link', 'show', `h${h}`], { encoding: 'utf8' });
  return (JSON.parse(r.stdout) as { stats64: { rx: { bytes: number } } }[])[0].stats64.rx.bytes;
}

interface Rank {
  rank: number; host: number;
  /** The launcher's exit. */
  code: number | null; signal: string | null; exitAt: number;
  stdout: string; stderr: string;
  pid?: number; steps: number;
  result?: { start: number; losses: Record<string, number>; params: Record<string, number[]>; collectives?: Record<string, number[]> };
  error?: { code: string; message: string; at: number };
}

let nextPort = 29611;

/** One job: a launcher per host, each starting its rank; released together once all have loaded. */
class Job {
  readonly children: ChildProcess[];
  readonly out: string[] = HOSTS.map(() => '');
  readonly done: Promise<Rank[]>;
  private readonly go: string;

  constructor(scenario: string, dir: string, env: Record<string, string>) {
    const port = nextPort++;
    this.go = path.join(dir, `go-${port}`);
    const stderr = HOSTS.map(() => '');
    this.children = HOSTS.map((h, i) => {
      const child = spawn('ip', ['netns', 'exec', ns(h), process.execPath, '-r', 'tsx/cjs', LAUNCHER,
        '--nnodes', String(HOSTS.length), '--node-rank', String(i), '--nproc', '1',
        '--master-addr', addr(1), '--master-port', String(port), '--kill-timeout', '1',
        '--no-node', process.execPath, '-r', 'tsx/cjs', WORKER, scenario], {
        cwd: ROOT,
        env: { ...process.env, GLOO_SOCKET_IFNAME: 'eth0', OMP_NUM_THREADS: '1', DIST_TIMEOUT: String(TIMEOUT), GO_FILE: this.go, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (d) => { this.out[i] += d; });
      child.stderr!.on('data', (d) => { stderr[i] += d; });
      return child;
    });
    this.done = Promise.all(this.children.map((child, i) => new Promise<Rank>((resolve) => {
      child.on('close', (code, signal) => {
        const r: Rank = { rank: i, host: HOSTS[i], code, signal, exitAt: Date.now(), stdout: this.out[i], stderr: stderr[i], steps: this.steps(i) };
        const line = (kind: string) => new RegExp(`^\\[rank${i}\\]: ${kind} (.*)$`, 'm').exec(this.out[i])?.[1];
        const pid = line('LOADED');
        const res = line('RESULT');
        const err = line('ERROR');
        if (pid) r.pid = Number(pid);
        if (res) r.result = JSON.parse(res) as Rank['result'];
        if (err) r.error = JSON.parse(err) as Rank['error'];
        resolve(r);
      });
    })));
  }

  /** The last step rank i reported. */
  steps(i: number): number {
    const all = [...this.out[i].matchAll(/^\[rank\d+\]: STEP (\d+) /gm)];
    return all.length ? Number(all[all.length - 1][1]) : 0;
  }

  pid(i: number): number {
    return Number(/^\[rank\d+\]: LOADED (\d+)$/m.exec(this.out[i])![1]);
  }

  /** Resolves once `cond` holds (polled every 10 ms); rejects after `ms`. */
  async until(cond: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}:\n${this.out.join('\n')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Releases the ranks once every one has loaded torchrnn (they then join within ms of each other). */
  async start(): Promise<this> {
    await this.until(() => this.out.every((o) => /^\[rank\d+\]: LOADED \d+$/m.test(o)), 60000, 'every rank to load');
    fs.writeFileSync(this.go, '');
    return this;
  }

  /** Every rank's outcome; a job still running after `ms` is killed (and the test fails). */
  async finish(ms: number): Promise<Rank[]> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        for (const h of HOSTS) for (const pid of pidsIn(h)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
        reject(new Error(`the job did not end within ${ms} ms (a hang); its processes were killed:\n${this.out.join('\n')}`));
      }, ms);
    });
    try {
      return await Promise.race([this.done, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function ok(r: Rank): NonNullable<Rank['result']> {
  assert.ok(r.result, `rank ${r.rank} on ${ns(r.host)} (launcher exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  assert.strictEqual(r.code, 0, `launcher on ${ns(r.host)}: ${r.stderr}`);
  return r.result;
}

function failed(r: Rank, pattern: RegExp): NonNullable<Rank['error']> {
  assert.ok(r.error, `rank ${r.rank} on ${ns(r.host)} should have failed (launcher exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  assert.strictEqual(r.error.code, 'ERR_DISTRIBUTED', r.error.message);
  assert.match(r.error.message, pattern);
  // the launcher passes the rank's exit code on, and says which rank failed
  assert.strictEqual(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^torchrnn run: rank ${r.rank} \\(pid ${r.pid}\\) exited with code 1: stopping the other 0 worker\\(s\\)$`, 'm'));
  return r.error;
}

/** Gloo's words (gloo/transport/tcp/pair.cc) for a peer, at an address matching `peer`, that closed its connection. */
const PEER_GONE = (peer: string) => `((Read error|writev) \\[${peer}\\]:\\d+: (Connection reset by peer|Broken pipe)|Connection closed by peer \\[${peer}\\]:\\d+)`;

/** Which of DDP's collectives a rank's error came from. */
const where = (r: Rank) => /^DistributedDataParallel \((.*?)\)/.exec(r.error?.message ?? '')?.[1] ?? '?';

/** A line of figures under the test's title. */
const note = (line: string) => console.log(`      ${line}`);

function noProcessesLeft(): void {
  for (const h of HOSTS) assert.deepStrictEqual(pidsIn(h), [], `processes left in ${ns(h)}`);
}

/** What every collective of hosts_worker.ts must give rank `rank` of `ws`, from the ranks' inputs. */
function expectedCollectives(ws: number, rank: number): Record<string, number[]> {
  const all = [...Array(ws).keys()];
  const reduce = (xs: number[][], op: string, integer: boolean) => xs[0].map((_, i) => {
    const col = xs.map((x) => x[i]);
    const sum = col.reduce((a, b) => a + b, 0);
    if (op === 'sum') return sum;
    if (op === 'avg') return integer ? Math.trunc(sum / ws) : sum / ws;
    if (op === 'product') return col.reduce((a, b) => a * b, 1);
    return op === 'min' ? Math.min(...col) : Math.max(...col);
  });
  const out: Record<string, number[]> = {};
  for (const dtype of ['float32', 'float64', 'int64']) {
    for (const form of ['sync', 'async']) {
      for (const op of ['sum', 'avg', 'product', 'min', 'max']) out[`allReduce/${dtype}/${op}/${form}`] = reduce(all.map(base), op, dtype === 'int64');
      out[`broadcast/${dtype}/${form}`] = base(ws - 1);
      out[`allGather/${dtype}/${form}`] = all.flatMap(base);
      for (const op of ['sum', 'avg', 'max', 'min']) out[`reduceScatter/${dtype}/${op}/${form}`] = reduce(all.map((r) => scatterInput(r, rank)), op, dtype === 'int64');
    }
  }
  return out;
}

describe('distributed across network hosts (3 network namespaces, scripts/netns-hosts.sh)', function () {
  let dir = '';
  let uninterrupted: Rank[] = [];  // the clean run's ranks (the numbers a resumed run must give)
  let cutDir = '';                 // the checkpoints of the run whose cable was pulled

  before(function () {
    const reason = skipReason();
    if (reason) {
      note(`skipped: ${reason}`);
      this.skip();
    }
    netns('down');  // what a killed earlier run left
    const up = netns('up', '-n', String(HOSTS.length));
    if (up.status === 3) {  // root, but no namespaces here (a container without CAP_SYS_ADMIN)
      note(`skipped: ${up.stderr.trim()}`);
      this.skip();
    }
    assert.strictEqual(up.status, 0, up.stderr);
    dir = tmpDir('torchrnn-hosts-');
  });

  after(function () {
    if (!dir) return;
    removeDir(dir);
    const down = netns('down');
    assert.strictEqual(down.status, 0, down.stderr);
    assert.ok(!/trnn-(h\d+|sw)\b/.test(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout), 'namespaces left behind');
  });

  it('the hosts: one address each on eth0; up is idempotent and removes stale hosts; a cable pulled and plugged back', () => {
    for (const h of HOSTS) {
      assert.match(mustNetns('exec', `h${h}`, 'ip', '-br', 'addr', 'show', 'eth0'), new RegExp(`^eth0@\\S+\\s+UP\\s+${addr(h).replace(/\./g, '\\.')}/24 `));
      assert.deepStrictEqual(mustNetns('exec', `h${h}`, 'ip', '-br', 'link').split('\n').filter(Boolean).map((l) => l.split(/[@\s]/)[0]), ['lo', 'eth0']);
    }
    const macs = () => HOSTS.map((h) => /link\/ether (\S+)/.exec(mustNetns('exec', `h${h}`, 'ip', 'link', 'show', 'eth0'))![1]);
    const before = macs();
    mustNetns('up', '-n', '4');
    mustNetns('up');  // 3 hosts: h4 is stale
    assert.deepStrictEqual(macs(), before, 'up again keeps the hosts as they are');
    assert.doesNotMatch(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout, /trnn-h4/);
    mustNetns('link-down', 'h2');
    assert.match(mustNetns('exec', 'h2', 'ip', 'link', 'show', 'eth0'), /NO-CARRIER/);
    mustNetns('link-up', '2');
    assert.match(mustNetns('exec', 'h2', 'ip', 'link', 'show', 'eth0'), /LOWER_UP/);
    const bad = netns('link-down', 'h7');
    assert.strictEqual(bad.status, 1);
    assert.match(bad.stderr, /host h7 does not exist/);
  });

  it('every collective, and DDP training of an LSTM across the hosts equal to one process on the whole batches', async () => {
    const rx0 = HOSTS.map(switchRx);
    const job = await new Job('collectives+train', dir, { STEPS: String(STEPS), EVERY: String(EVERY), CKPT_DIR: path.join(dir, 'clean') }).start();
    uninterrupted = await job.finish(60000);
    const results = uninterrupted.map(ok);
    results.forEach((r, rank) => assertClose(r.collectives!, expectedCollectives(HOSTS.length, rank), 0, `rank ${rank}'s collectives`));
    // the one-process reference: rank 0's initial parameters, the whole global batch at every step
    const ref = model(7);
    const step = torch.trainStep({ model: ref, loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(ref.parameters(), { lr: LR }) });
    for (let i = 0; i < STEPS; i++) await step(...batch(i));
    for (const r of results.slice(1)) assertClose(r.params, results[0].params, 0, 'rank 0 vs another rank');
    // 32 Adam steps of float32 rounding (a mean of 3 shards' means vs one mean of 12): ~1e-6
    const worst = assertClose(results[0].params, paramValues(ref), 1e-5, 'DDP across hosts vs one process');
    // the traffic crossed the switch: every host sent it something (the LSTM's gradients alone are ~10 kB a step)
    const sent = HOSTS.map((h, i) => switchRx(h) - rx0[i]);
    sent.forEach((bytes, i) => assert.ok(bytes > STEPS * 10000, `${ns(HOSTS[i])} sent ${bytes} bytes`));
    noProcessesLeft();
    note(`${STEPS} steps: DDP vs one process max |diff| ${worst.toExponential(1)}; the hosts sent ${sent.map((b) => `${Math.round(b / 1000)} kB`).join(', ')} through the switch`);
  });

  it('a host\'s cable pulled mid-training: every rank fails with ERR_DISTRIBUTED within the timeout, every launcher exits 1, no process is left', async () => {
    cutDir = path.join(dir, 'cut');
    const job = await new Job('train', dir, { STEPS: '100000', EVERY: String(EVERY), CKPT_DIR: cutDir, STEP_DELAY_MS: '5' }).start();
    await job.until(() => HOSTS.every((_, i) => job.steps(i) >= 2 * EVERY), 30000, 'every rank to pass step 8');
    let cutAt = 0;
    let atStep = 0;
    try {
      mustNetns('link-down', 'h3');
      cutAt = Date.now();  // the cable is out by now (the script's last command)
      atStep = Math.max(...HOSTS.map((_, i) => job.steps(i)));
      const ranks = await job.finish(TIMEOUT + 15000);
      const gone = Math.max(...ranks.map((r) => r.exitAt)) - cutAt;
      // h3 hears nothing at all: its collective times out. The others time out as well, or see a
      // peer that timed out close its connection, a moment before their own timeout.
      failed(ranks[2], new RegExp(`^DistributedDataParallel \\(.*\\) failed: Timed out waiting ${TIMEOUT}ms for (send|recv) operation to complete$`));
      for (const r of ranks.slice(0, 2)) failed(r, new RegExp(`^DistributedDataParallel \\(.*\\) failed: (Timed out waiting ${TIMEOUT}ms for (send|recv) operation to complete|${PEER_GONE('10\\.213\\.0\\.[12]')})$`));
      const after = ranks.map((r) => r.error!.at - cutAt);
      for (const ms of after) assert.ok(ms <= TIMEOUT + 2500, `a rank failed ${ms} ms after the cut (timeout ${TIMEOUT} ms)`);
      assert.ok(gone <= TIMEOUT + 5000, `the launchers exited ${gone} ms after the cut`);
      noProcessesLeft();
      note(`cable pulled at step ${atStep}: ranks failed ${after.join(', ')} ms later (${ranks.map(where).join(', ')}); launchers gone after ${gone} ms`);
    } finally {
      mustNetns('link-up', 'h3');
    }
  });

  // From the checkpoint the resumed run is exact (its first loss is bit for bit the clean run's).
  // From its first gradient all-reduce on, it differs in the last bits: DDP's first step after
  // construction reduces the gradients in the initial bucket layout (parameter order), the
  // clean run had rebuilt its buckets in the order the gradients became ready, and Gloo's ring
  // then adds each element's 3 contributions in another order (with 2 ranks, a + b = b + a and
  // the resumed run is bitwise equal; PyTorch's DDP behaves the same).
  it('resuming from the last checkpoint every rank has reproduces the uninterrupted run (its first step bit for bit, then to float32 rounding)', async () => {
    assert.ok(cutDir && uninterrupted.length, 'needs the two tests before');
    const job = await new Job('train', dir, { STEPS: String(STEPS), EVERY: String(EVERY), CKPT_DIR: cutDir, RESUME: '1' }).start();
    const results = (await job.finish(60000)).map(ok);
    const clean = uninterrupted.map((r) => r.result!);
    const start = results[0].start;
    let worst = 0;
    assert.ok(start >= 2 * EVERY && start < STEPS && start % EVERY === 0, `resumed at step ${start}`);
    results.forEach((r, rank) => {
      assert.strictEqual(r.start, start);
      assert.deepStrictEqual(Object.keys(r.losses).map(Number), Array.from({ length: STEPS - start }, (_, k) => start + k + 1));
      assert.strictEqual(r.losses[start + 1], clean[rank].losses[start + 1], `rank ${rank}'s first loss after resuming (step ${start + 1})`);
      for (const [s, loss] of Object.entries(r.losses)) assert.ok(Math.abs(loss - clean[rank].losses[s]) <= 1e-6, `rank ${rank}'s loss at step ${s}: ${loss} vs ${clean[rank].losses[s]}`);
      assertClose(r.params, results[0].params, 0, `rank ${rank} vs rank 0`);
      worst = Math.max(worst, assertClose(r.params, clean[rank].params, 1e-6, `rank ${rank}'s parameters after step ${STEPS} vs the uninterrupted run's`));
    });
    note(`resumed at step ${start}; parameters after step ${STEPS} vs the uninterrupted run's: max |diff| ${worst.toExponential(1)}`);
    noProcessesLeft();
  });

  it('a rank SIGKILLed mid-training: the others fail with ERR_DISTRIBUTED at once, its launcher exits 137, no process is left', async () => {
    const job = await new Job('train', dir, { STEPS: '100000', EVERY: String(EVERY), CKPT_DIR: path.join(dir, 'kill'), STEP_DELAY_MS: '5' }).start();
    await job.until(() => HOSTS.every((_, i) => job.steps(i) >= 2 * EVERY), 30000, 'every rank to pass step 8');
    const victim = job.pid(1);
    const killAt = Date.now();
    const atStep = Math.max(...HOSTS.map((_, i) => job.steps(i)));
    process.kill(victim, 'SIGKILL');
    const ranks = await job.finish(TIMEOUT + 15000);
    const gone = Math.max(...ranks.map((r) => r.exitAt)) - killAt;
    assert.strictEqual(ranks[1].code, 137, ranks[1].stderr);
    assert.match(ranks[1].stderr, new RegExp(`^torchrnn run: rank 1 \\(pid ${victim}\\) was killed by SIGKILL: stopping the other 0 worker\\(s\\)$`, 'm'));
    const after = [ranks[0], ranks[2]].map((r) => {
      // from the dead rank's host, or from a host whose rank saw it first and exited
      failed(r, new RegExp(`^DistributedDataParallel \\(.*\\) failed: ${PEER_GONE('10\\.213\\.0\\.[123]')}$`));
      return r.error!.at - killAt;
    });
    // the kernel closes a dead process's sockets: sooner than the timeout
    for (const ms of after) assert.ok(ms < TIMEOUT, `a rank failed ${ms} ms after the kill (timeout ${TIMEOUT} ms)`);
    noProcessesLeft();
    note(`rank 1 killed at step ${atStep}: the others failed ${after.join(', ')} ms later (${[ranks[0], ranks[2]].map(where).join(', ')}); launchers gone after ${gone} ms`);
  });
});
