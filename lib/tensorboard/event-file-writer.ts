/**
 * One TensorBoard event file: a TFRecord file of Event messages that starts with a
 * `file_version: "brain.Event:2"` event. Events are queued in memory and written with async fs
 * calls, in order, when the queue reaches `maxQueue` events (or 1 MiB), every `flushMillis`
 * milliseconds, on flush() and on close(); adding an event never waits for the disk.
 *
 * Writes are positional (each batch at the offset where the last one ended), so that at process
 * exit whatever is still queued, or was handed to an async write that has not completed, is
 * written synchronously at its place: events added before exit are not lost even when the
 * program never calls flush() (tfjs-node's writer flushes on exit too).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { invalidArg } from '../errors';
import { encodeEvent, EventInit } from './proto';
import { tfRecord } from './record';

export interface EventFileWriterOptions {
  /** Write when this many events are queued (default 10). */
  maxQueue?: number;
  /** Write what is queued at least this often, in milliseconds (default 120000). */
  flushMillis?: number;
  /** Name the file TensorFlow's way (`events.out.tfevents.<secs>.<host><suffix>`) instead of PyTorch's (`...<host>.<pid>.<n><suffix>`). */
  tensorflowName?: boolean;
  filenameSuffix?: string;
}

/** Write when the queued records reach this many bytes, whatever their number. */
const MAX_QUEUED_BYTES = 1 << 20;

/** PyTorch's (tensorboard's) process-wide counter in event file names. */
let nextUid = 0;

/** The open writers, for the synchronous flush at exit. */
const open = new Set<EventFileWriter>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const w of open) w.flushAtExit();
  });
}

/** Seconds since the epoch, from the wall clock (Python's time.time()), to the millisecond. */
export function wallTime(): number {
  return Date.now() / 1000;
}

/**
 * Creates `dir` (and its parents) now, synchronously, so that a directory that cannot be made is
 * an error of the call that named it.
 */
export function makeLogDir(dir: string, name: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    invalidArg(`a directory that can be created and written (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, name, dir);
  }
}

export class EventFileWriter {
  /** The event file's path. */
  readonly path: string;
  private readonly maxQueue: number;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  /** The batch an async write has been given and that has not completed. */
  private inFlight: Buffer | null = null;
  /** Bytes written to the file (completed writes). */
  private position = 0;
  private handle: fs.promises.FileHandle | null = null;
  /** Every write and the close are chained on this promise, which never rejects. */
  private chain: Promise<void> = Promise.resolve();
  private error: Error | null = null;
  private timer: NodeJS.Timeout;
  private closing: Promise<void> | null = null;

  /** `logDir` must exist (makeLogDir). */
  constructor(readonly logDir: string, opts: EventFileWriterOptions = {}) {
    this.maxQueue = opts.maxQueue ?? 10;
    const secs = String(Math.floor(Date.now() / 1000)).padStart(10, '0');
    const suffix = opts.filenameSuffix ?? '';
    const name = opts.tensorflowName
      ? `events.out.tfevents.${secs}.${os.hostname()}${suffix}`
      : `events.out.tfevents.${secs}.${os.hostname()}.${process.pid}.${nextUid++}${suffix}`;
    this.path = path.join(logDir, name);
    // the file exists, with its first record, as soon as this first write lands (as in
    // TensorFlow and PyTorch, which write and flush it in the constructor)
    this.enqueue(encodeEvent({ wallTime: wallTime(), fileVersion: 'brain.Event:2' }));
    void this.flush().catch(() => undefined);
    this.timer = setInterval(() => { void this.flush().catch(() => undefined); }, opts.flushMillis ?? 120000);
    this.timer.unref();
    installExitHook();
    open.add(this);
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** Queues one event; writes the queue (in the background) when it is full. */
  add(event: EventInit): void {
    if (this.closing) throw new Error(`the event file ${this.path} is closed`);
    this.enqueue(encodeEvent(event));
    if (this.queue.length >= this.maxQueue || this.queuedBytes >= MAX_QUEUED_BYTES) {
      void this.flush().catch(() => undefined);
    }
  }

  private enqueue(data: Uint8Array): void {
    const rec = tfRecord(data);
    this.queue.push(rec);
    this.queuedBytes += rec.length;
  }

  /**
   * Writes every event added so far; resolves when they are in the file. Rejects with the
   * file system's error if a write failed (then and on every later flush).
   */
  flush(): Promise<void> {
    if (this.queue.length > 0) {
      const batch = this.queue.length === 1 ? this.queue[0] : Buffer.concat(this.queue, this.queuedBytes);
      this.queue = [];
      this.queuedBytes = 0;
      this.chain = this.chain.then(() => this.write(batch));
    }
    return this.chain.then(() => { if (this.error) throw this.error; });
  }

  /** Flushes and closes the file. Safe to call again (the same promise). */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    clearInterval(this.timer);
    const flushed = this.flush().catch(() => undefined);
    this.closing = flushed.then(async () => {
      const handle = this.handle;
      this.handle = null;
      open.delete(this);
      if (handle) await handle.close().catch((err: Error) => { this.error ??= err; });
      if (this.error) throw this.error;
    });
    return this.closing;
  }

  private async write(batch: Buffer): Promise<void> {
    if (this.error) return;
    this.inFlight = batch;
    try {
      if (this.handle === null) this.handle = await fs.promises.open(this.path, 'w');
      let done = 0;
      while (done < batch.length) {
        const { bytesWritten } = await this.handle.write(batch, done, batch.length - done, this.position + done);
        done += bytesWritten;
      }
      this.position += batch.length;
    } catch (err) {
      this.error = err as Error;
    } finally {
      this.inFlight = null;
    }
  }

  /** At process exit: writes the batch in flight and the queue synchronously, at their offsets. */
  flushAtExit(): void {
    if (this.error) return;
    const pending = [...(this.inFlight ? [this.inFlight] : []), ...this.queue];
    if (pending.length === 0) return;
    try {
      const fd = this.handle ? this.handle.fd : fs.openSync(this.path, this.position === 0 ? 'w' : 'r+');
      let pos = this.position;
      for (const b of pending) {
        fs.writeSync(fd, b, 0, b.length, pos);
        pos += b.length;
      }
    } catch {
      // nothing to report to at exit
    }
  }
}
