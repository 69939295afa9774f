// TorchScript modules saved by Python run under jit.load with Python's outputs.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as torch from '../lib';
import { assertMatches, Encoded, fixturePath, fromFixture, loadFixture, throwsTorch, tmpDir } from './helpers';

const FILE = fixturePath('scripted-lstm.pt');
const fx = loadFixture<{ input: Encoded; y: Encoded; h: Encoded; c: Encoded; y_scaled: Encoded; params: string[] }>('script.json');

describe('jit.load (TorchScript)', () => {
  it('runs a scripted LSTM model from Python with Python\'s outputs (tuple → array, dict → object)', () => {
    const m = torch.jit.load(FILE);
    const x = fromFixture(fx.input);
    const [y, state] = torch.noGrad(() => m.forward(x)) as [torch.Tensor, { h: torch.Tensor; c: torch.Tensor }];
    assertMatches(y, fx.y, 'y');
    assertMatches(state.h, fx.h, 'h');
    assertMatches(state.c, fx.c, 'c');
    assert.deepStrictEqual(m.namedParameters().map(([n]) => n), fx.params);
  });

  it('keeps the scripted control flow and converts arguments by forward\'s signature', async () => {
    const m = torch.jit.load(FILE);
    const x = fromFixture(fx.input);
    const [y] = await torch.noGrad(() => m.forwardAsync(x, 2.0)) as [torch.Tensor];
    assertMatches(y, fx.y_scaled, 'y with scale 2 (relu branch)');
  });

  it('missing, corrupt and wrong files throw ERR_CHECKPOINT; bad arguments throw', () => {
    throwsTorch(() => torch.jit.load('/nonexistent/model.pt'), 'ERR_CHECKPOINT', 'Cannot load a TorchScript module from /nonexistent/model.pt: no such file');
    throwsTorch(() => torch.jit.load(os.tmpdir()), 'ERR_CHECKPOINT', `Cannot load a TorchScript module from ${os.tmpdir()}: not a file`);
    const bad = path.join(tmpDir('trnn-jit-'), 'bad.pt');
    fs.writeFileSync(bad, 'this is not a zip archive');
    throwsTorch(() => torch.jit.load(bad), 'ERR_CHECKPOINT', /^Cannot load a TorchScript module from .*bad\.pt: .*zip archive/);
    const truncated = path.join(path.dirname(bad), 'truncated.pt');
    fs.writeFileSync(truncated, fs.readFileSync(FILE).subarray(0, 4000));
    throwsTorch(() => torch.jit.load(truncated), 'ERR_CHECKPOINT', /^Cannot load a TorchScript module from /);
    const m = torch.jit.load(FILE);
    throwsTorch(() => m.forward(), 'ERR_TORCH', 'forward() is missing argument x');
    throwsTorch(() => m.forward(torch.randn([2, 5, 7])), 'ERR_TORCH', /input.size\(-1\) must be equal to input_size. Expected 3, got 7/);
    throwsTorch(() => torch.jit.load(FILE, { device: 'cuda' }), 'ERR_CUDA_UNAVAILABLE', /CUDA is not available/);
  });
});
