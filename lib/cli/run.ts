/**
 * `torchrnn run`: the launcher of a distributed job on this machine, as PyTorch's torchrun.
 *
 *   torchrnn run --nproc N [--nnodes M --node-rank R --master-addr A --master-port P] script.js args…
 *
 * starts N worker processes (`node script.js args…`) with torchrun's environment (MASTER_ADDR,
 * MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK), forwards their
 * output line by line with a `[rankR]: ` prefix, and when one of them fails (a non-zero exit
 * code or a signal) stops the others: SIGTERM, then SIGKILL after --kill-timeout seconds.
 * It exits with the first failure's code (128 + signal number for a signal), 0 when all ranks
 * succeeded. Workers run in their own process group, so Ctrl-C reaches them once, through the
 * launcher; workers that load torchrnn also die with the launcher if it is killed (SIGKILL
 * included), so a job never leaves orphan processes.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import { UsageError } from './args';

export interface RunOptions {
  /** Worker processes on this node. */
  nproc: number;
  /** Nodes (machines) in the job. */
  nnodes: number;
  /** This node's index in [0, nnodes). */
  nodeRank: number;
  /** Where rank 0 serves the rendezvous store. */
  masterAddr: string;
  /** Its port; 0 picks a free one (single node only). */
  masterPort: number;
  /** Run the script as a command instead of with node. */
  noNode: boolean;
  /** Seconds between SIGTERM and SIGKILL when stopping the workers. */
  killTimeout: number;
}

export const RUN_USAGE = `Usage: torchrnn run [options] script.js [args…]
       torchrnn run [options] --no-node command [args…]

Starts the processes of a distributed job on this machine (as PyTorch's torchrun). Each
worker runs \`node script.js args…\` with MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE,
LOCAL_RANK, LOCAL_WORLD_SIZE and GROUP_RANK set, which distributed.initProcessGroup() reads.
Output lines carry a [rankR]: prefix. When a worker fails, the others are stopped and the
launcher exits with the failed worker's exit code.

Options:
  --nproc N              workers on this node (default 1; alias --nproc-per-node)
  --nnodes M             machines in the job (default 1)
  --node-rank R          this machine's index in [0, M) (default 0)
  --master-addr A        address of the machine that runs rank 0 (default 127.0.0.1)
  --master-port P        its port (default 29500; 0 picks a free port, single machine only)
  --kill-timeout S       seconds between SIGTERM and SIGKILL when stopping workers (default 5)
  --no-node              run "command args…" as given, instead of "node script.js args…"

With several workers and OMP_NUM_THREADS unset, workers get OMP_NUM_THREADS=1 (as torchrun
does), so that N processes do not each start one BLAS thread per core.
`;

const INT_OPTIONS: Record<string, { key: keyof RunOptions; min: number; max: number }> = {
  'nproc': { key: 'nproc', min: 1, max: 4096 },
  'nproc-per-node': { key: 'nproc', min: 1, max: 4096 },
  'nnodes': { key: 'nnodes', min: 1, max: 65536 },
  'node-rank': { key: 'nodeRank', min: 0, max: 65535 },
  'master-port': { key: 'masterPort', min: 0, max: 65535 },
  'kill-timeout': { key: 'killTimeout', min: 0, max: 3600 },
};

/**
 * Parses the launcher's options, which come before the script; everything from the script on
 * belongs to the script. torchrun's spellings (--nproc_per_node, --master_addr …) are accepted.
 */
export function parseRunArgs(argv: string[]): { options: RunOptions; command: string[]; help: boolean } {
  const options: RunOptions = { nproc: 1, nnodes: 1, nodeRank: 0, masterAddr: '127.0.0.1', masterPort: 29500, noNode: false, killTimeout: 5 };
  let i = 0;
  let addrGiven = false;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') { i++; break; }
    if (!arg.startsWith('--')) break;
    const [raw, inline] = arg.slice(2).split(/=(.*)/s, 2);
    const name = raw.replace(/_/g, '-');
    if (name === 'help') return { options, command: [], help: true };
    if (name === 'no-node') {
      if (inline !== undefined) throw new UsageError('--no-node takes no value');
      options.noNode = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (name === 'master-addr') {
      if (value === undefined || value === '' || value.startsWith('--')) throw new UsageError('--master-addr needs a host name or address');
      options.masterAddr = value;
      addrGiven = true;
      continue;
    }
    const spec = INT_OPTIONS[name];
    if (!spec) throw new UsageError(`unknown option --${raw} for run (see torchrnn run --help)`);
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${raw} needs a value`);
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n)) throw new UsageError(`--${raw} must be an integer, not "${value}"`);
    if (n < spec.min || n > spec.max) throw new UsageError(`--${raw} must be in [${spec.min}, ${spec.max}], not ${value}`);
    (options[spec.key] as number) = n;
  }
  const command = argv.slice(i);
  if (command.length === 0) throw new UsageError(options.noNode ? 'run --no-node needs a command to run' : 'run needs a script to run: torchrnn run --nproc N script.js [args…]');
  if (options.nodeRank >= options.nnodes) throw new UsageError(`--node-rank must be in [0, ${options.nnodes - 1}] with --nnodes ${options.nnodes}, not ${options.nodeRank}`);
  if (options.nnodes > 1 && !addrGiven) throw new UsageError(`--nnodes ${options.nnodes} needs --master-addr: the address of node 0, reachable from every node`);
  if (options.nnodes > 1 && options.masterPort === 0) throw new UsageError('--master-port 0 (a free port) works on a single machine only: give every node the same port');
  if (!options.noNode && !fs.existsSync(command[0])) throw new UsageError(`cannot find the script ${command[0]}`);
  return { options, command, help: false };
}

/** A port that nothing listens on right now (the OS's choice). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Copies a stream to `out` line by line with a prefix (a last line without newline included). */
function forwardLines(stream: NodeJS.ReadableStream, out: NodeJS.WritableStream, prefix: string): Promise<void> {
  return new Promise((resolve) => {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      if (lines.length) out.write(lines.map((l) => `${prefix}${l}\n`).join(''));
    });
    stream.on('end', () => {
      if (pending) out.write(`${prefix}${pending}\n`);
      resolve();
    });
    stream.on('error', () => resolve());
  });
}

interface Worker { rank: number; child: ChildProcess; exited: boolean; output: Promise<void> }

/**
 * Runs the job; resolves with the launcher's exit code once every worker has exited and its
 * output has been forwarded.
 */
export async function launch(options: RunOptions, command: string[]): Promise<number> {
  const port = options.masterPort === 0 ? await freePort() : options.masterPort;
  const worldSize = options.nproc * options.nnodes;
  const say = (line: string) => process.stderr.write(`torchrnn run: ${line}\n`);
  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    MASTER_ADDR: options.masterAddr,
    MASTER_PORT: String(port),
    WORLD_SIZE: String(worldSize),
    LOCAL_WORLD_SIZE: String(options.nproc),
    GROUP_RANK: String(options.nodeRank),
    TORCHRNN_LAUNCHER_PID: String(process.pid),
  };
  if (options.nproc > 1 && process.env.OMP_NUM_THREADS === undefined) baseEnv.OMP_NUM_THREADS = '1';
  const [file, ...args] = options.noNode ? command : [process.execPath, ...command];

  const workers: Worker[] = [];
  let failure: { rank: number; code: number } | null = null;
  let stopping = false;
  let killTimer: NodeJS.Timeout | null = null;
  let resolveAll!: () => void;
  const allExited = new Promise<void>((r) => { resolveAll = r; });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const w of workers) if (!w.exited) w.child.kill(signal);
    killTimer = setTimeout(() => {
      for (const w of workers) {
        if (!w.exited) {
          say(`rank ${w.rank} (pid ${w.child.pid}) did not stop within ${options.killTimeout} s: SIGKILL`);
          w.child.kill('SIGKILL');
        }
      }
    }, options.killTimeout * 1000);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (!failure) failure = { rank: -1, code: 128 + (os.constants.signals[signal] ?? 15) };
    say(`${signal}: stopping the workers`);
    stop(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);

  try {
    for (let local = 0; local < options.nproc; local++) {
      const rank = options.nodeRank * options.nproc + local;
      const env = { ...baseEnv, RANK: String(rank), LOCAL_RANK: String(local) };
      // detached: a process group of its own, so a terminal's Ctrl-C reaches the worker once (from us).
      const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      const prefix = `[rank${rank}]: `;
      const w: Worker = {
        rank, child, exited: false,
        output: Promise.all([forwardLines(child.stdout!, process.stdout, prefix), forwardLines(child.stderr!, process.stderr, prefix)]).then(() => undefined),
      };
      workers.push(w);
      child.on('error', (err) => {
        // spawn failed (no such command): counts as a failure of this rank
        say(`rank ${rank}: cannot start ${file}: ${err.message}`);
        child.emit('exit', 127, null);
      });
      child.on('exit', (code, signal) => {
        if (w.exited) return;
        w.exited = true;
        const failed = code !== 0;
        if (failed && !stopping) {
          const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
          const codeOut = signal ? 128 + (os.constants.signals[signal] ?? 1) : (code ?? 1);
          failure = { rank, code: codeOut };
          say(`rank ${rank} (pid ${child.pid}) ${how}: stopping the other ${workers.filter((x) => !x.exited).length} worker(s)`);
          stop('SIGTERM');
        }
        if (workers.length === options.nproc && workers.every((x) => x.exited)) resolveAll();
      });
    }
    await allExited;
    await Promise.all(workers.map((w) => w.output));
  } finally {
    if (killTimer) clearTimeout(killTimer);
    for (const s of signals) process.removeListener(s, onSignal);
  }
  return failure ? Math.max(1, (failure as { code: number }).code) : 0;
}

/** The `torchrnn run` command: parses argv, runs the job, sets process.exitCode. */
export async function run(argv: string[]): Promise<void> {
  const { options, command, help } = parseRunArgs(argv);
  if (help) { process.stdout.write(RUN_USAGE); return; }
  process.exitCode = await launch(options, command);
}
