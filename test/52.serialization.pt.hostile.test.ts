// Hostile and corrupt .pt files (ERR_CHECKPOINT, nothing runs): globals outside torch's
// weights-only list are refused by name, corrupt pickles, zip archives and entries get exact
// messages, and 3,000 random corruptions (10,000 with TORCHRNN_LONG_TESTS=1) only ever give ERR_CHECKPOINT. Files made by hand with
// the tiny pickle assembler of test/pt-archives.ts. Reading and writing valid files: test/51.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as torch from '../lib';
import { savePt } from '../lib/serialization/pt';
import { writeZip } from '../lib/serialization/zip';
import { byLine, disposeAll, fixturePath, gc, lcg, LONG, settle, suiteTmpDir, throwsTorch } from './helpers';
import { archive, B, K, loadZipEntry, tensorCall, X } from './pt-archives';
import { libtorchLine } from '../lib/compat';

const { nn } = torch;
const FIX = fixturePath('interop');

describe('PyTorch .pt files', function () {
  this.timeout(120000); // also under --no-config (mocha's default is 2 s)
  const dir = suiteTmpDir('trnn-pt-');

  describe('hostile and corrupt files (ERR_CHECKPOINT, nothing runs)', () => {
    const markers = ['/tmp/torchrnn-pwned-os-system', '/tmp/torchrnn-pwned-eval'];
    beforeEach(() => { for (const m of markers) fs.rmSync(m, { force: true }); });

    it('refuses os.system and builtins.eval by name, sync and async, and runs nothing', async () => {
      const lin = new nn.Linear(2, 1);
      await settle(); // earlier tests' garbage must not be finalized in the middle of the count
      const before = torch.memory().tensors;
      for (const [name, global] of [['hostile-os-system.pt', 'os.system'], ['hostile-eval.pt', 'builtins.eval']]) {
        const file = path.join(FIX, name);
        const msg = `Refusing to load global ${global} from ${file}: only containers, primitives and tensors are allowed`;
        throwsTorch(() => torch.load(file), 'ERR_CHECKPOINT', msg);
        await assert.rejects(torch.loadAsync(file), (err: unknown) => err instanceof torch.TorchError && err.code === 'ERR_CHECKPOINT' && err.message === msg);
        throwsTorch(() => lin.load(file), 'ERR_CHECKPOINT', msg);
      }
      await settle();
      assert.strictEqual(torch.memory().tensors, before, 'the tensor made before the refusal was freed');
      lin.dispose();
      await new Promise((r) => setTimeout(r, 50));
      for (const m of markers) assert.ok(!fs.existsSync(m), `${m} must not exist: nothing was executed`);
    });

    it(`refuses every global outside torch ${libtorchLine}'s weights-only list, and calls only what it allows`, () => {
      const only113 = byLine({ '1.13': ['torch._utils\n_rebuild_device_tensor_from_numpy', '__builtin__\nset', 'builtins\ncomplex'], '2.6': [] });
      for (const g of ['builtins\ngetattr', 'posix\nsystem', 'subprocess\nPopen', 'torch\nload', 'numpy.core.multiarray\n_reconstruct', 'builtins\neval', ...only113]) {
        const file = archive(dir(), 'g.pt', B([0x80, 2], `c${g}\n`, ')R.'));
        throwsTorch(() => torch.load(file), 'ERR_CHECKPOINT', `Refusing to load global ${g.replace('\n', '.')} from ${file}: only containers, primitives and tensors are allowed`);
      }
      const cases: [Buffer, string, [string, Buffer][]?][] = [
        [B([0x80, 2], X('abc'), ')R.'), 'the pickle calls a str (only torch\'s tensor-rebuilding functions may be called)'],
        [B([0x80, 2], 'ccollections\nOrderedDict\n)', [0x81], '.'), 'the pickle instantiates collections.OrderedDict (only torch.nn.Parameter may be)'],
        [B([0x80, 2], '}}', X('a'), K(1), 'sb.'), 'the pickle sets the state of a dict (only tensors, parameters and OrderedDicts may have one)'],
        [B([0x80, 2], ')', K(1), 'a.'), 'the pickle appends to a tuple, which is not a list'],
        [B([0x80, 2], ']', K(1), K(2), 's.'), 'the pickle sets an item on a list, which is not a dict'],
        [B([0x80, 2], '(', X('module'), X('x'), 'tQ.'), 'only persistent ids of storages are allowed, not ["module", "x"]'],
        [B([0x80, 2], 'ctorch\nSize\n.'), 'the pickle holds torch.Size as a value (only containers, primitives and tensors are returned)'],
        [B([0x80, 2], 'ctorch._utils\n_rebuild_sparse_tensor\n)R.'), 'torch._utils._rebuild_sparse_tensor: sparse tensors are not supported'],
        [B([0x80, 2], 'ctorch\nFloatTensor\n)R.'), 'legacy tensor construction through torch.FloatTensor is not supported'],
        ...byLine<[Buffer, string][]>({ '1.13': [], '2.6': [
          [B([0x80, 2], 'ctorch._utils\n_rebuild_device_tensor_from_numpy\n)R.'), 'torch._utils._rebuild_device_tensor_from_numpy: tensors saved through numpy are not supported'],
          [B([0x80, 2], 'cbuiltins\ncomplex\n)R.'), 'builtins.complex: complex numbers are not supported'],
          [B([0x80, 2], 'ctorch._tensor\n_rebuild_from_type_v2\n(ctorch\nSize\nctorch\nSize\n)}tR.'), 'torch._tensor._rebuild_from_type_v2: tensor subclasses and tensors with Python attributes are not supported'],
        ] }),
        [B([0x80, 2], 'i__builtin__\neval\n.'), 'the pickle is corrupt (unsupported opcode 0x69 at byte 2 of data.pkl)'],
        [B([0x80, 2], '}(', X('a'), K(1)), 'the pickle is corrupt (it ends early at byte 12 of data.pkl)'],
        [B([0x80, 2], '}(', X('a'), 'u.'), 'the pickle is corrupt (an odd number of dict items at byte 10 of data.pkl)'],
        [B([0x80, 2], 'h', [7], '.'), 'the pickle is corrupt (memo entry 7 is missing at byte 2 of data.pkl)'],
        [B([0x80, 2], '}(', ')', K(1), 'u.'), 'a dict key that is a tuple is not supported (only str and int keys)'],
        [B([0x80, 2], tensorCall('0', 'FloatStorage', 2, [3], [1]), '.'), 'a tensor of shape [3] (strides [1], offset 0) needs 3 elements but storage "0" has 2', [['0', Buffer.alloc(8)]]],
        [B([0x80, 2], tensorCall('0', 'FloatStorage', 4, [2, 2], [2, 1], 1), '.'), 'a tensor of shape [2, 2] (strides [2, 1], offset 1) needs 5 elements but storage "0" has 4', [['0', Buffer.alloc(16)]]],
        [B([0x80, 2], tensorCall('0', 'FloatStorage', 4, [4], [1]), '.'), 'storage "0" holds 8 bytes, but 4 float32 elements need 16', [['0', Buffer.alloc(8)]]],
        [B([0x80, 2], tensorCall('0', 'FloatStorage', 2, [2], [1]), '.'), 'storage "0" is missing (no entry h/data/0)'],
        [B([0x80, 2], tensorCall('0', 'LongStorage', 1, [1], [1], 0, true), '.'), 'an int64 tensor is marked requires_grad (only floating-point tensors can be)', [['0', Buffer.alloc(8)]]],
        [B([0x80, 2], tensorCall('0', 'ComplexFloatStorage', 1, [1], [1]), '.'), 'storage "0" has type torch.ComplexFloatStorage, whose dtype torchrnn does not support', [['0', Buffer.alloc(8)]]],
        [B([0x80, 2], '}(', X('a'), tensorCall('0', 'FloatStorage', 1, [1], [1]), X('b'), tensorCall('0', 'DoubleStorage', 1, [1], [1]), 'u.'), 'storage "0" is named as 1 float32 and as 1 float64 elements', [['0', Buffer.alloc(4)]]],
      ];
      const before = torch.memory().tensors;
      for (const [pkl, problem, storages] of cases) {
        const file = archive(dir(), 'c.pt', pkl, storages);
        throwsTorch(() => torch.load(file), 'ERR_CHECKPOINT', `Cannot load ${file}: ${problem}`);
      }
      assert.strictEqual(torch.memory().tensors, before);
      const ok = archive(dir(), 'ok.pt', B([0x80, 2], 'ccollections\nOrderedDict\n]', X('a'), K(1), [0x86], 'a', [0x85], 'R.'));
      assert.deepStrictEqual(torch.load<unknown>(ok), { a: 1 }, 'OrderedDict([("a", 1)]) is allowed');
      if (libtorchLine === '2.6') {
        // What 2.6's list adds, as Python's protocol 2 writes it: a set, bytes, bytearray, a device, a Counter
        const more = archive(dir(), 'more.pt', B([0x80, 2], '}(', X('s'), 'c__builtin__\nset\n](', K(1), K(2), 'e', [0x85], 'R',
          X('b'), 'c_codecs\nencode\n', X('\u00ffA'), X('latin1'), [0x86], 'R',
          X('a'), 'c__builtin__\nbytearray\n', 'c_codecs\nencode\n', X('hi'), X('latin1'), [0x86], 'R', [0x85], 'R',
          X('d'), 'ctorch\ndevice\n', X('cuda'), K(1), [0x86], 'R',
          X('c'), 'ccollections\nCounter\n}', X('x'), K(3), 's', [0x85], 'R', 'u.'));
        assert.deepStrictEqual(torch.load<unknown>(more), { s: [1, 2], b: new Uint8Array([0xff, 0x41]), a: new Uint8Array([0x68, 0x69]), d: 'cuda:1', c: { x: 3 } });
      }
      const ts = path.join(dir(), 'script.pt');
      fs.writeFileSync(ts, writeZip([{ name: 's/constants.pkl', data: B([0x80, 2], ').') }, { name: 's/version', data: Buffer.from('3\n') }]));
      throwsTorch(() => torch.load(ts), 'ERR_CHECKPOINT', `Cannot load ${ts}: it is a TorchScript module (torch.jit.save), not a torch.save file: load it with torch.jit.load`);
    });

    it('zip archives: empty, a directory, missing, bad magic, legacy pickle, truncated (exact messages)', () => {
      const empty = path.join(dir(), 'empty.pt');
      fs.writeFileSync(empty, '');
      throwsTorch(() => torch.load(empty), 'ERR_CHECKPOINT', `Cannot load ${empty}: the file is empty`);
      const folder = path.join(dir(), 'folder.pt');
      fs.mkdirSync(folder);
      throwsTorch(() => torch.load(folder), 'ERR_CHECKPOINT', `Cannot load ${folder}: not a file`);
      const missing = path.join(dir(), 'missing.pt');
      throwsTorch(() => torch.load(missing), 'ERR_CHECKPOINT', `Cannot load ${missing}: no such file`);
      const text = path.join(dir(), 'text.pt');
      fs.writeFileSync(text, 'hello world');
      throwsTorch(() => torch.load(text), 'ERR_CHECKPOINT', `Cannot load ${text}: not a zip archive (PyTorch files start with the bytes 50 4b 03 04, this one with 68 65 6c 6c)`);
      const legacy = path.join(dir(), 'legacy.pt');
      fs.writeFileSync(legacy, B([0x80, 2, 0x8a, 0x0a], Buffer.alloc(10)));
      throwsTorch(() => torch.load(legacy), 'ERR_CHECKPOINT', `Cannot load ${legacy}: it is a bare pickle, not a zip archive (torch.save's legacy format from before PyTorch 1.6, or pickle.dump); re-save it with a current torch.save`);
      const whole = fs.readFileSync(path.join(FIX, 'mlp.pt'));
      const truncated = path.join(dir(), 'truncated.pt');
      fs.writeFileSync(truncated, whole.subarray(0, whole.length >> 1));
      throwsTorch(() => torch.load(truncated), 'ERR_CHECKPOINT', `Cannot load ${truncated}: the zip archive is truncated or corrupt (no end-of-central-directory record in its ${whole.length >> 1} bytes)`);
      for (let cut = 1; cut < whole.length; cut += 7) {
        fs.writeFileSync(truncated, whole.subarray(0, cut));
        assert.throws(() => torch.load(truncated), (err: unknown) => err instanceof torch.TorchError && err.code === 'ERR_CHECKPOINT', `cut at ${cut}`);
      }
    });

    it('zip entries: path traversal, duplicates, outside the file, encryption, compression, CRC, sizes (exact messages)', () => {
      for (const name of ['../evil/data.pkl', '/etc/data.pkl', 'a/../../b/data.pkl', 'C:/x/data.pkl', 'a\\..\\data.pkl']) {
        const file = path.join(dir(), 'traversal.pt');
        fs.writeFileSync(file, writeZip([{ name, data: B([0x80, 2], 'N.') }]));
        throwsTorch(() => torch.load(file), 'ERR_CHECKPOINT', `Cannot load ${file}: entry name ${JSON.stringify(name)} is not a safe relative path (absolute, or with "..")`);
      }
      const good = path.join(dir(), 'base.pt');
      savePt({ w: torch.ones([2]) }, good);
      const orig = fs.readFileSync(good);
      const cd = orig.readUInt32LE(orig.length - 22 + 16); // first central directory entry (data.pkl)
      const tamper = (name: string, edit: (b: Buffer) => void): string => {
        const b = Buffer.from(orig);
        edit(b);
        const file = path.join(dir(), name);
        fs.writeFileSync(file, b);
        return file;
      };
      const pkl = 'entry "base/data.pkl"';
      const expectations: [string, (b: Buffer) => void, string][] = [
        ['offset.pt', (b) => b.writeUInt32LE(99999, cd + 42), `${pkl} points outside the file or at no local header (offset 99999, the file has ${orig.length} bytes)`],
        ['size.pt', (b) => { b.writeUInt32LE(0x7fffffff, cd + 20); b.writeUInt32LE(0x7fffffff, cd + 24); }, `${pkl} (bytes 64–2147483711) points outside the file (${orig.length} bytes)`],
        ['overlap.pt', (b) => { b.writeUInt32LE(orig.length - 64, cd + 20); b.writeUInt32LE(orig.length - 64, cd + 24); }, `${pkl} (bytes 64–${orig.length}) overlaps the central directory (from byte ${cd})`],
        ['encrypted.pt', (b) => b.writeUInt16LE(0x0801, cd + 8), `${pkl} is encrypted`],
        ['bzip2.pt', (b) => b.writeUInt16LE(12, cd + 10), `${pkl} uses compression method 12 (only stored and deflate are supported)`],
        ['bomb.pt', (b) => { b.writeUInt16LE(8, cd + 10); b.writeUInt32LE(0xfffffff0, cd + 24); }, `${pkl} claims 4294967280 bytes from ${orig.readUInt32LE(cd + 20)} compressed bytes, more than deflate can produce`],
        ['crc.pt', (b) => { b[64 + 5] ^= 0xff; }, `${pkl} is corrupt (CRC-32 mismatch)`],
        ['count.pt', (b) => { b.writeUInt16LE(60000, b.length - 22 + 8); b.writeUInt16LE(60000, b.length - 22 + 10); }, `the central directory (${orig.readUInt32LE(orig.length - 22 + 12)} bytes) is too small for the 60000 entries it claims`],
        ['cdir.pt', (b) => b.writeUInt32LE(orig.length, b.length - 22 + 16), `the central directory (bytes ${orig.length}–${orig.length + orig.readUInt32LE(orig.length - 22 + 12)}) lies outside the file (${orig.length} bytes)`],
      ];
      for (const [name, edit, problem] of expectations) {
        const file = tamper(name, edit);
        throwsTorch(() => torch.load(file), 'ERR_CHECKPOINT', `Cannot load ${file}: ${problem}`);
      }
      const dup = writeZip([{ name: 'd/data.pkl', data: B([0x80, 2], 'N.') }, { name: 'd/data.pkX', data: B([0x80, 2], 'N.') }]);
      for (let i = dup.indexOf('d/data.pkX'); i >= 0; i = dup.indexOf('d/data.pkX', i + 1)) dup.write('d/data.pkl', i);
      const duplicate = path.join(dir(), 'duplicate.pt');
      fs.writeFileSync(duplicate, dup);
      throwsTorch(() => torch.load(duplicate), 'ERR_CHECKPOINT', `Cannot load ${duplicate}: duplicate entry "d/data.pkl"`);
    });

    const MUTATIONS = LONG ? 10000 : 3000;
    it(`${MUTATIONS} random corruptions of archives and pickles only ever give ERR_CHECKPOINT; nothing leaks`, () => {
      gc();
      const before = torch.memory().tensors;
      const base = fs.readFileSync(path.join(FIX, 'nested.pt'));
      const pkl = loadZipEntry(base, 'nested/data.pkl');
      const next = lcg(12345);
      const rand = (n: number) => next() % n;
      const file = path.join(dir(), 'fuzz.pt');
      let loaded = 0;
      for (let i = 0; i < MUTATIONS; i++) {
        let bytes: Buffer;
        if (i % 3 === 0) {
          bytes = Buffer.from(base);
          for (let k = 1 + rand(4); k > 0; k--) bytes[rand(bytes.length)] = rand(256);
        } else {
          const p = Buffer.from(pkl);
          for (let k = 1 + rand(3); k > 0; k--) p[rand(p.length)] = rand(256);
          bytes = writeZip([{ name: 'nested/data.pkl', data: p }, ...[...Array(10).keys()].map((k) => ({ name: `nested/data/${k}`, data: loadZipEntry(base, `nested/data/${k}`) }))]);
        }
        fs.writeFileSync(file, bytes);
        try {
          disposeAll(torch.load<unknown>(file));
          loaded++;
        } catch (err) {
          assert.ok(err instanceof torch.TorchError && err.code === 'ERR_CHECKPOINT', `mutation ${i}: ${String((err as Error).stack)}`);
        }
      }
      assert.ok(loaded > 0 && loaded < MUTATIONS, `${loaded} of ${MUTATIONS} mutated files still loaded`);
      assert.strictEqual(torch.memory().tensors, before);
    });
  });
});
