/**
 * tfjs-node's `file://` IO handler (its `NodeFileSystem`, tfjs-node/src/io/file_system.ts), so a
 * program written for `@tensorflow/tfjs-node` saves and loads models unchanged:
 *
 *   await model.save('file://./my-model');                        // my-model/model.json + weights.bin
 *   const m = await tf.loadLayersModel('file://./my-model/model.json');
 *   const g = await tf.loadGraphModel('file://./web_model/model.json');   // the tfjs converter's output
 *
 * The files are tfjs-node's: model.json holds modelTopology, weightsManifest
 * `[{paths: ['weights.bin'], weights}]`, format, generatedBy, convertedBy, then trainingConfig,
 * signature and userDefinedMetadata when present (in that key order); weights.bin holds the weight
 * bytes. Loading reads any model.json whose weightsManifest lists files relative to it (the
 * converter's `group1-shard1of2.bin` shards, several groups, quantized uint8/uint16/float16
 * weights). tfjs-node's other form, `fileSystem([topology.pb, weightsManifest.json])`, loads a
 * binary GraphDef topology with its weights (neither loadLayersModel nor loadGraphModel of tfjs 4
 * accept a binary topology, with tfjs-node or here). The messages for missing paths are tfjs-node's.
 *
 * Where this differs from tfjs-node (each free, and on purpose):
 * - Writes are crash-safe (lib/serialization/atomic.ts): weights.bin and model.json are each
 *   written to a temporary file, fsynced and renamed over the old one, weights.bin first, so a
 *   crash leaves the previous model.json (or the new one) whole, never a torn one. Only a crash in
 *   the instant between the two renames leaves the new weights.bin under the old model.json.
 *   Saves to the same directory from one process run one after the other.
 * - The directory is created with its missing parents (tfjs-node creates only the last level).
 * - Errors name the file: a model.json that is not JSON (`Failed to parse model JSON of file …`),
 *   a weights manifest that is not one, weight files shorter than the manifest says (tfjs-node
 *   gives tfjs's decoding errors, or wrong values, there). Bytes past what a manifest group needs
 *   are ignored (tfjs-node would shift every later group's weights by them).
 * - modelInitializer and initializerSignature (graph models with hash tables) are saved too, so
 *   `graphModel.save('file://…')` keeps them; weightData given as several buffers is saved whole.
 * - The file operations are asynchronous (fs.promises), the handler never blocks the event loop
 *   for a file's length.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomicAsync, writeWithAtomicAsync } from '../serialization/atomic';

const URL_SCHEME = 'file://';
const MODEL_JSON_FILENAME = 'model.json';
const WEIGHTS_BINARY_FILENAME = 'weights.bin';

/** Bytes per element of a weight's stored dtype (tfjs-core's DTYPE_VALUE_SIZE_MAP). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, complex64: 8 };
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };
const NUM_BYTES_STRING_LENGTH = 4;

type Group = tf.io.WeightsManifestConfig[number];
type Entry = tf.io.WeightsManifestEntry;

/** tfjs-node's rejection for a path that does not exist; other errors pass unchanged. */
function doesNotExist(name: string): (e: NodeJS.ErrnoException) => never {
  return (e) => {
    if (e.code === 'ENOENT') throw new Error(`${name} ${e.path} does not exist: loading failed`);
    throw e;
  };
}

function parseJson(text: string, file: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`Failed to parse ${what} of file ${file}: ${(e as Error).message}`);
  }
}

function badManifest(file: string, problem: string): never {
  throw new Error(`Invalid weights manifest in file ${file}: ${problem}`);
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'undefined';
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/** Checks a parsed weights manifest's structure (what the byte count below relies on). */
function checkManifest(manifest: unknown, file: string): Group[] {
  if (!Array.isArray(manifest)) badManifest(file, `expected an array of {paths, weights} groups but found ${describeValue(manifest)}`);
  manifest.forEach((g: unknown, gi) => {
    const group = g as Partial<Group> | null;
    if (group === null || typeof group !== 'object') badManifest(file, `group ${gi} is ${describeValue(g)}, not a {paths, weights} object`);
    if (!Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string' && p.length > 0)) {
      badManifest(file, `group ${gi} has paths ${describeValue(group.paths)}, not an array of file names`);
    }
    // tfjs-node writes a group without `weights` for artifacts without weight specs: no weights.
    if (group.weights === undefined) group.weights = [];
    if (!Array.isArray(group.weights)) badManifest(file, `group ${gi} has weights ${describeValue(group.weights)}, not an array`);
    group.weights.forEach((w: unknown, wi) => {
      const e = w as Partial<Entry> | null;
      const label = `weight ${wi} of group ${gi}`;
      if (e === null || typeof e !== 'object' || typeof e.name !== 'string') badManifest(file, `${label} has no name`);
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        badManifest(file, `${label} (${e.name}) has shape ${describeValue(e.shape)}, not an array of sizes`);
      }
    });
  });
  return manifest as Group[];
}

/** The stored byte size of one weight, from its spec (strings: read from the data, as tfjs does). */
function weightBytes(spec: Entry, readU32: (at: number) => number | undefined, start: number, tooShort: (need?: number) => never): number {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.quantization != null) {
    const per = QUANTIZED_BYTES[spec.quantization.dtype];
    if (per === undefined) {
      // tfjs-core's decodeWeight message.
      throw new Error(`Weight ${spec.name} has unknown quantization dtype ${spec.quantization.dtype}. Supported quantization dtypes are: 'uint8', 'uint16', and 'float16'.`);
    }
    return size * per;
  }
  if (spec.dtype === 'string') {
    let n = 0;
    for (let i = 0; i < size; i++) {
      const len = readU32(start + n);
      if (len === undefined) tooShort(); // a string's length lies past the end: the total is unknown
      n += NUM_BYTES_STRING_LENGTH + len;
    }
    return n;
  }
  const per = DTYPE_BYTES[spec.dtype];
  if (per === undefined) throw new Error(`Unsupported dtype in weight '${spec.name}': ${spec.dtype}`);
  return size * per;
}

/** Reads a little-endian uint32 at a position of several buffers laid end to end. */
function u32Reader(buffers: Buffer[]): (at: number) => number | undefined {
  return (at) => {
    const bytes: number[] = [];
    let base = 0;
    for (const b of buffers) {
      while (bytes.length < 4 && at + bytes.length < base + b.length && at + bytes.length >= base) bytes.push(b[at + bytes.length - base]);
      base += b.length;
      if (bytes.length === 4) break;
    }
    return bytes.length === 4 ? (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0 : undefined;
  };
}

function plural(files: string[]): string {
  return files.length === 1 ? `Weight file ${files[0]} holds` : `Weight files ${files.join(', ')} hold`;
}

/**
 * Reads every group's files (relative to `manifestFile`'s directory) and returns the weight specs
 * and one buffer of exactly the bytes they describe, group after group.
 */
async function loadWeights(manifest: unknown, manifestFile: string): Promise<[Entry[], ArrayBuffer]> {
  const groups = checkManifest(manifest, manifestFile);
  const dir = path.dirname(manifestFile);
  const specs: Entry[] = [];
  const parts: { buffers: Buffer[]; bytes: number }[] = [];
  let total = 0;
  for (const group of groups) {
    const files = group.paths.map((p) => path.join(dir, p));
    const buffers: Buffer[] = [];
    for (const file of files) {
      buffers.push(await fs.promises.readFile(file).catch(doesNotExist('Weight file')));
    }
    const have = buffers.reduce((a, b) => a + b.length, 0);
    const read = u32Reader(buffers);
    let need = 0;
    const tooShort = (bytes?: number): never => {
      const needs = bytes === undefined ? '' : `the ${bytes} bytes `;
      throw new Error(`${plural(files)} ${have} bytes, fewer than ${needs}its weights manifest in ${manifestFile} needs: loading failed`);
    };
    for (const spec of group.weights) need += weightBytes(spec, read, need, tooShort);
    if (need > have) tooShort(need);
    parts.push({ buffers, bytes: need });
    total += need;
    specs.push(...group.weights);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const { buffers, bytes } of parts) {
    let left = bytes;
    for (const b of buffers) {
      if (left === 0) break;
      const n = Math.min(left, b.length);
      out.set(b.subarray(0, n), at);
      at += n;
      left -= n;
    }
  }
  return [specs, out.buffer];
}

function toBuffer(data: tf.io.WeightData | undefined): Buffer {
  if (data == null) return Buffer.alloc(0);
  if (Array.isArray(data)) return Buffer.concat(data.map((ab) => Buffer.from(ab)));
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  throw new Error(`NodeFileSystem.save() expected weightData to be an ArrayBuffer or an array of ArrayBuffers but received ${describeValue(data)}`);
}

/** Saves to one directory run one after the other (the atomic writes' temporary names are per process). */
const saving = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = saving.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.then(() => undefined, () => undefined);
  saving.set(key, settled);
  void settled.then(() => { if (saving.get(key) === settled) saving.delete(key); });
  return run;
}

class NodeFileSystem implements tf.io.IOHandler {
  static readonly URL_SCHEME = URL_SCHEME;
  readonly MODEL_JSON_FILENAME = MODEL_JSON_FILENAME;
  readonly WEIGHTS_BINARY_FILENAME = WEIGHTS_BINARY_FILENAME;
  readonly MODEL_BINARY_FILENAME = 'tensorflowjs.pb';
  protected readonly path: string | string[];

  constructor(p: string | string[]) {
    if (Array.isArray(p)) {
      // tfjs-node's check (tf.util.assert), with its message.
      tf.util.assert(p.length === 2, () => `file paths must have a length of 2, (actual length is ${p.length}).`);
      if (!p.every((x) => typeof x === 'string')) throw new Error(`Expected a path string for every element of path but received ${describeValue(p)}`);
      this.path = p.map((x) => path.resolve(x));
    } else {
      if (typeof p !== 'string') throw new Error(`Expected a path string or an array of 2 path strings for path but received ${describeValue(p)}`);
      this.path = path.resolve(p);
    }
  }

  async save(modelArtifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    if (Array.isArray(this.path)) throw new Error('Cannot perform saving to multiple paths.');
    if (modelArtifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error('NodeFileSystem.save() does not support saving model topology in binary format yet.');
    }
    const dir = this.path;
    // Everything is serialized before a file is touched: a failure here leaves the old files.
    const weights = toBuffer(modelArtifacts.weightData);
    const modelJSON: Record<string, unknown> = {
      modelTopology: modelArtifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_BINARY_FILENAME], weights: modelArtifacts.weightSpecs ?? [] }],
      format: modelArtifacts.format,
      generatedBy: modelArtifacts.generatedBy,
      convertedBy: modelArtifacts.convertedBy,
    };
    if (modelArtifacts.trainingConfig != null) modelJSON.trainingConfig = modelArtifacts.trainingConfig;
    if (modelArtifacts.signature != null) modelJSON.signature = modelArtifacts.signature;
    if (modelArtifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = modelArtifacts.userDefinedMetadata;
    if (modelArtifacts.modelInitializer != null) modelJSON.modelInitializer = modelArtifacts.modelInitializer;
    if (modelArtifacts.initializerSignature != null) modelJSON.initializerSignature = modelArtifacts.initializerSignature;
    const json = Buffer.from(JSON.stringify(modelJSON), 'utf8');

    await serialized(dir, async () => {
      await createOrVerifyDirectory(dir);
      // model.json's rename is the commit: it happens after weights.bin is in place.
      await writeWithAtomicAsync(path.join(dir, MODEL_JSON_FILENAME), async (tmp) => {
        await fs.promises.writeFile(tmp, json);
        await writeFileAtomicAsync(path.join(dir, WEIGHTS_BINARY_FILENAME), weights);
      });
    });
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(modelArtifacts) };
  }

  async load(): Promise<tf.io.ModelArtifacts> {
    return Array.isArray(this.path) ? this.loadBinaryModel(this.path) : this.loadJSONModel(this.path);
  }

  protected async loadBinaryModel([topologyPath, manifestPath]: string[]): Promise<tf.io.ModelArtifacts> {
    const topology = await fs.promises.stat(topologyPath).catch(doesNotExist('Topology Path'));
    const manifest = await fs.promises.stat(manifestPath).catch(doesNotExist('Weight Manifest Path'));
    if (!topology.isFile()) throw new Error('File specified for topology is not a file!');
    if (!manifest.isFile()) throw new Error('File specified for the weight manifest is not a file!');
    const bytes = await fs.promises.readFile(topologyPath);
    const modelTopology = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    let weightsManifest = parseJson(await fs.promises.readFile(manifestPath, 'utf8'), manifestPath, 'weights manifest JSON');
    // A model.json in the manifest's place: its weightsManifest (tfjs-node takes only the bare array).
    if (weightsManifest !== null && typeof weightsManifest === 'object' && !Array.isArray(weightsManifest) && 'weightsManifest' in weightsManifest) {
      weightsManifest = (weightsManifest as { weightsManifest: unknown }).weightsManifest;
    }
    const [weightSpecs, weightData] = await loadWeights(weightsManifest, manifestPath);
    return { modelTopology, weightSpecs, weightData };
  }

  protected async loadJSONModel(file: string): Promise<tf.io.ModelArtifacts> {
    const info = await fs.promises.stat(file).catch(doesNotExist('Path'));
    if (!info.isFile()) throw new Error('The path to load from must be a file. Loading from a directory is not supported.');
    const modelJSON = parseJson(await fs.promises.readFile(file, 'utf8'), file, 'model JSON');
    if (modelJSON === null || typeof modelJSON !== 'object' || Array.isArray(modelJSON)) {
      throw new Error(`The JSON from file ${file} is ${describeValue(modelJSON)}, not a model JSON object.`);
    }
    const json = modelJSON as tf.io.ModelJSON;
    if (json.modelTopology == null && json.weightsManifest == null) {
      // tfjs-core's http handler's message, for a file.
      throw new Error(`The JSON from file ${file} contains neither model topology or manifest for weights.`);
    }
    return tf.io.getModelArtifactsForJSON(json, (manifest) => loadWeights(manifest, file));
  }
}

/** Creates the directory (and its parents), or checks that the path is one (tfjs-node's message). */
async function createOrVerifyDirectory(dir: string): Promise<void> {
  const info = await fs.promises.stat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (info === null) {
    await fs.promises.mkdir(dir, { recursive: true });
  } else if (!info.isDirectory()) {
    throw new Error(`Path ${dir} exists as a file. The path must be nonexistent or point to a directory.`);
  }
}

/**
 * tfjs-node's `tf.io.fileSystem(path)`: the IOHandler for a directory to save to, a model.json
 * to load, or `[topology.pb, weightsManifest.json]` to load a binary GraphDef with its weights.
 */
export function fileSystem(path: string | string[]): tf.io.IOHandler {
  return new NodeFileSystem(path);
}

/**
 * tfjs-node's router: a `fileSystem` handler for a `file://` URL (or an array of them, each
 * `file://`), null for anything else. The path is what follows `file://`, as tfjs-node reads it
 * (`file:///abs/dir`, `file://relative/dir`; no percent-decoding).
 */
export function nodeFileSystemRouter(url: string | string[]): tf.io.IOHandler | null {
  if (Array.isArray(url)) {
    return url.every((u) => typeof u === 'string' && u.startsWith(URL_SCHEME))
      ? new NodeFileSystem(url.map((u) => u.slice(URL_SCHEME.length)))
      : null;
  }
  return typeof url === 'string' && url.startsWith(URL_SCHEME) ? new NodeFileSystem(url.slice(URL_SCHEME.length)) : null;
}

/**
 * Registers `nodeFileSystemRouter` with tf.io as a save and a load router, as importing
 * tfjs-node does. Idempotent: it registers a router only where no handler answers `file://`
 * URLs yet (a second call, or tfjs-node's own router in the same tfjs-core, would otherwise make
 * every file:// URL fail with "Found more than one (2) … handlers").
 */
export function registerFileSystemHandlers(): void {
  const probe = `${URL_SCHEME}${path.join(path.sep, 'torchrnn-probe', MODEL_JSON_FILENAME)}`;
  // tfjs-core types a router as never returning null, yet every router returns null for URLs not its own.
  const router = nodeFileSystemRouter as (url: string | string[]) => tf.io.IOHandler;
  if (tf.io.getSaveHandlers(probe).length === 0) tf.io.registerSaveRouter(router);
  if (tf.io.getLoadHandlers(probe).length === 0) tf.io.registerLoadRouter(router);
}
