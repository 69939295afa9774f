/**
 * The functions PyTorch writes in Python rather than as one aten operator, written by hand in
 * lib/nn/functional-python.ts (interpolate and upsample, gridSample, maxUnpool1d/2d/3d, softsign,
 * tanhshrink, softmin, normalize, localResponseNorm, gaussianNllLoss, multilabelSoftMarginLoss,
 * dropout1d, dropout3d) and lib/api/torch-python.ts (unique, broadcastShapes, lu, nonzero,
 * tensordot, norm and their Tensor methods). The expected numbers are PyTorch 1.13's, printed by
 * /usr/bin/python3 (PyTorch 2.6 prints the same within float32 rounding, which the tolerance
 * allows; where the lines differ, byLine says so). Each function also has its exact error message.
 */
import * as assert from 'assert';
import * as torch from '../lib';
import { byLine, invalid, throwsTorch, values, warningsOf } from './helpers';

const F = torch.nn.functional;
const f32 = (data: number[], shape: number[]) => torch.tensor(data, { dtype: 'float32', shape });
const i64 = (data: number[], shape: number[]) => torch.tensor(data, { dtype: 'int64', shape });

/** Shape, and values within |a - b| <= tol·(1 + |b|) (PyTorch 1.13 and 2.6 differ in float32's last bits). */
function close(t: torch.Tensor, shape: number[], expected: number[], label: string, tol = 2e-6): void {
  assert.deepStrictEqual([...t.shape], shape, `${label}: shape`);
  const got = values(t);
  assert.strictEqual(got.length, expected.length, `${label}: length`);
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tol * (1 + Math.abs(expected[i])), `${label}[${i}]: ${v} vs ${expected[i]}`));
}

/** The UserWarning messages `fn` emits (process warnings arrive on the next tick). */
const x4 = () => f32([1, 2, 3, 4], [1, 1, 2, 2]);
const x3 = () => f32([1, 4, 2], [1, 1, 3]);

describe('torch.nn.functional: interpolate and the upsample family', () => {
  it('interpolate: every mode, size or scaleFactor, alignCorners, antialias, recomputeScaleFactor', () => {
    close(F.interpolate(x4(), { scaleFactor: 2 }), [1, 1, 4, 4], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], 'nearest');
    close(F.interpolate(x4(), { size: [3, 3], mode: 'bilinear' }), [1, 1, 3, 3], [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4], 'bilinear');
    close(F.interpolate(x4(), { size: 3, mode: 'bilinear', alignCorners: true }), [1, 1, 3, 3], [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4], 'bilinear ac');
    close(F.interpolate(x4(), { scaleFactor: 1.5, mode: 'bicubic' }), [1, 1, 3, 3],
      [0.7395836, 1.3263891, 1.9131949, 1.9131947, 2.5, 3.0868058, 3.0868061, 3.6736112, 4.2604165], 'bicubic');
    close(F.interpolate(x3(), { size: 5, mode: 'linear', alignCorners: true }), [1, 1, 5], [1, 2.5, 4, 3, 2], 'linear');
    close(F.interpolate(x3(), { size: 5, mode: 'nearest-exact' }), [1, 1, 5], [1, 1, 4, 2, 2], 'nearest-exact');
    close(F.interpolate(x3(), 5), [1, 1, 5], [1, 1, 4, 4, 2], 'nearest 1-D');
    close(F.interpolate(f32([1, 3, 2, 6], [1, 1, 4]), { scaleFactor: 0.5, mode: 'area' }), [1, 1, 2], [2, 4], 'area');
    close(F.interpolate(torch.arange(8, { dtype: 'float32' }).reshape(1, 1, 2, 2, 2), { size: [3, 2, 2], mode: 'trilinear' }), [1, 1, 3, 2, 2],
      [0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7], 'trilinear');
    const big = f32([1, 5, 2, 0, 3, 2, 8, 1, 0, 4, 1, 6, 2, 2, 3, 9], [1, 1, 4, 4]);
    close(F.interpolate(big, { size: [2, 2], mode: 'bilinear', antialias: true }), [1, 1, 2, 2], [2.8979592, 2.9591837, 2.1836734, 4.4489794], 'bilinear aa');
    close(F.interpolate(big, { size: [2, 2], mode: 'bilinear' }), [1, 1, 2, 2], [2.75, 2.75, 2, 4.75], 'bilinear no aa');
    close(F.interpolate(big, { size: [3, 3], mode: 'bicubic', antialias: true }), [1, 1, 3, 3],
      [2.2933042, 4.2390332, 0.9155046, 1.7661283, 3.8970001, 3.824816, 1.677901, 2.1751742, 6.9244027], 'bicubic aa', 5e-6);
    // recomputing: the scales the integer size implies, not 1.7
    close(F.interpolate(x4(), { scaleFactor: 1.7, mode: 'bilinear', recomputeScaleFactor: true }), [1, 1, 3, 3], [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4], 'recompute');
    close(F.interpolate(x4(), { scaleFactor: 1.7, mode: 'bilinear' }), [1, 1, 3, 3],
      [1, 1.3823531, 1.9705883, 1.764706, 2.147059, 2.7352943, 2.9411767, 3.3235297, 3.9117649], 'no recompute');
    // positionally, as Python allows: interpolate(x, None, 2, 'bilinear')
    assert.deepStrictEqual(values(F.interpolate(x4(), null, 1.7, 'bilinear')), values(F.interpolate(x4(), { scaleFactor: 1.7, mode: 'bilinear' })));
    assert.deepStrictEqual(values(F.interpolate(x4(), [3, 3], { mode: 'bilinear' })), values(F.interpolate(x4(), { size: [3, 3], mode: 'bilinear' })));
  });

  it('interpolate records autograd (bicubic, PyTorch\'s gradient)', () => {
    const x = x4().requiresGrad_(true);
    const w = f32([1, -2, 0.5, 3, 1, 2, -1, 0, 1], [1, 1, 3, 3]);
    F.interpolate(x, { scaleFactor: 1.5, mode: 'bicubic' }).mul(w).sum().backward();
    close(x.grad!, [1, 1, 2, 2], [1.9424505, 0.5141479, 0.514149, 2.5292544], 'grad', 5e-6);
  });

  it('interpolate: errors', () => {
    invalid(() => F.interpolate(x4(), { size: 3, scaleFactor: 2 }), 'Expected only one of size and scaleFactor (PyTorch takes one) for scaleFactor but received 2');
    invalid(() => F.interpolate(x4()), 'Expected a size or a scaleFactor (one of them is required) for size but received undefined');
    invalid(() => F.interpolate(x3(), { scaleFactor: 2, mode: 'bilinear' }), "Expected a 4-D tensor [N, C, H, W] (mode 'bilinear') for input but received a float32 Tensor of shape [1, 1, 3]");
    invalid(() => F.interpolate(f32([1, 2], [1, 2]), 2), "Expected a 3-D, 4-D or 5-D tensor [N, C, ...spatial] (mode 'nearest') for input but received a float32 Tensor of shape [1, 2]");
    invalid(() => F.interpolate(x4(), { scaleFactor: 2, alignCorners: true }),
      "Expected null (alignCorners applies only to the modes linear, bilinear, bicubic and trilinear, not 'nearest') for alignCorners but received true");
    invalid(() => F.interpolate(x4(), { size: [3] }), 'Expected an integer >= 0 or an array of 2 such integers for size but received [3]');
    invalid(() => F.interpolate(x4(), { size: 3, recomputeScaleFactor: true }), 'Expected null or false with an explicit size (recomputing applies to scaleFactor) for recomputeScaleFactor but received true');
    invalid(() => F.interpolate(x4(), { size: 3, mode: 'nearest', antialias: true }), "Expected false (antialias applies only to the modes bilinear and bicubic, not 'nearest') for antialias but received true");
    invalid(() => F.interpolate(x4(), { size: 3, mode: 'cubic' as 'bicubic' }),
      'Expected one of "nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact" for mode but received "cubic"');
    invalid(() => F.interpolate(x4(), { scale: 2 } as object),
      'Expected one of the options size, scaleFactor, mode, alignCorners, recomputeScaleFactor, antialias for an option of torch.nn.functional.interpolate but received "scale"');
    invalid(() => F.interpolate(x4(), 2, { size: 3 } as object), "Expected argument 'size' of torch.nn.functional.interpolate once but received it both positionally and as options.size");
  });

  it('upsample, upsampleNearest, upsampleBilinear (PyTorch\'s deprecated forms, with its warning)', async () => {
    let y: torch.Tensor | undefined;
    const w = await warningsOf(() => { y = F.upsample(x4(), { scaleFactor: 2, mode: 'bilinear' }); });
    assert.deepStrictEqual(w, ['nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.']);
    close(y!, [1, 1, 4, 4], [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4], 'upsample');
    close(F.upsampleNearest(x3(), 6), [1, 1, 6], [1, 1, 4, 4, 2, 2], 'upsampleNearest');
    close(F.upsampleBilinear(x4(), { scaleFactor: 2 }), [1, 1, 4, 4], [1, 1.3333333, 1.6666667, 2, 1.6666666, 2, 2.3333333, 2.6666667,
      2.3333335, 2.6666665, 3, 3.3333335, 3, 3.3333333, 3.6666667, 4], 'upsampleBilinear (alignCorners true)', 5e-7 * 4);
    invalid(() => F.upsampleBilinear(x3(), 2), "Expected a 4-D tensor [N, C, H, W] (mode 'bilinear') for input but received a float32 Tensor of shape [1, 1, 3]");
    invalid(() => F.upsampleNearest(x3()), 'Expected a size or a scaleFactor (one of them is required) for size but received undefined');
    invalid(() => F.upsample(x4(), 2, null, 'nearest', true), "Expected null (alignCorners applies only to the modes linear, bilinear, bicubic and trilinear, not 'nearest') for alignCorners but received true");
  });
});

describe('torch.nn.functional: gridSample and maxUnpool', () => {
  const grid = () => f32([-1, -1, 0.5, 0.25, 1.2, 0, 0, 1], [1, 2, 2, 2]);

  it('gridSample: modes, padding modes, alignCorners, and its gradients', () => {
    close(F.gridSample(x4(), grid(), { alignCorners: false }), [1, 1, 2, 2], [0.25, 3.5, 0.8999999, 1.75], 'bilinear zeros');
    close(F.gridSample(x4(), grid(), 'nearest', 'border', true), [1, 1, 2, 2], [1, 4, 2, 3], 'nearest border');
    close(F.gridSample(x4(), grid(), { mode: 'bicubic', paddingMode: 'reflection', alignCorners: false }), [1, 1, 2, 2], [0.4375, 3.546875, 3.1575, 3.875], 'bicubic reflection');
    const x = x4().requiresGrad_(true);
    const g = grid().requiresGrad_(true);
    F.gridSample(x, g, { alignCorners: false }).sum().backward();
    close(x.grad!, [1, 1, 2, 2], [0.25, 0.4, 0.25, 1.15], 'd input');
    close(g.grad!, [1, 2, 2, 2], [0.5, 0.5, -3.5, 2, -3, 0.5999999, 0.5, -3.5], 'd grid', 1e-5);
  });

  it('gridSample: PyTorch\'s warning when alignCorners is not given; errors', async () => {
    const w = await warningsOf(() => F.gridSample(x4(), grid()));
    assert.ok(w.every((m) => m.startsWith('Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0.')), w.join('|'));
    invalid(() => F.gridSample(x4(), grid(), { mode: 'linear' as 'bilinear' }), 'Expected one of "bilinear", "nearest", "bicubic" for mode but received "linear"');
    invalid(() => F.gridSample(x4(), grid(), 'nearest', 'edge' as 'border'), 'Expected one of "zeros", "border", "reflection" for paddingMode but received "edge"');
  });

  it('maxUnpool1d/2d/3d: the default output size as PyTorch computes it, or outputSize', () => {
    close(F.maxUnpool1d(f32([5, 7], [1, 1, 2]), i64([1, 3], [1, 1, 2]), 2), [1, 1, 4], [0, 5, 0, 7], 'unpool1d');
    close(F.maxUnpool1d(f32([5, 7], [1, 1, 2]), i64([1, 4], [1, 1, 2]), 2, { outputSize: [5] }), [1, 1, 5], [0, 5, 0, 0, 7], 'unpool1d outputSize');
    const v = f32([1, 2, 3, 4], [1, 1, 2, 2]);
    const idx = i64([5, 2, 13, 15], [1, 1, 2, 2]);
    close(F.maxUnpool2d(v, idx, 2), [1, 1, 4, 4], [0, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 4], 'unpool2d');
    close(F.maxUnpool2d(v, idx, 2, { outputSize: [1, 1, 5, 5] }), [1, 1, 5, 5],
      [0, 0, 2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'unpool2d outputSize (N, C first)');
    close(F.maxUnpool2d(v, i64([0, 2, 6, 8], [1, 1, 2, 2]), 3, 2, 1), [1, 1, 3, 3], [1, 0, 2, 0, 0, 0, 3, 0, 4], 'unpool2d stride, padding');
    close(F.maxUnpool3d(f32([9], [1, 1, 1, 1, 1]), i64([6], [1, 1, 1, 1, 1]), 2), [1, 1, 2, 2, 2], [0, 0, 0, 0, 0, 0, 9, 0], 'unpool3d');
  });

  it('maxUnpool: errors', () => {
    const v = f32([1, 2, 3, 4], [1, 1, 2, 2]);
    const idx = i64([5, 2, 13, 15], [1, 1, 2, 2]);
    invalid(() => F.maxUnpool2d(v, idx, 2, { outputSize: [6, 6] }),
      "Expected sizes strictly between 2 and 6 in dimension 0 (from the input's size, kernelSize, stride and padding) for outputSize but received [6, 6]");
    invalid(() => F.maxUnpool1d(f32([5, 7], [1, 1, 2]), f32([1, 3], [1, 1, 2]), 2), 'Expected an int64 tensor of indices (as max pooling returns them) for indices but received a float32 Tensor of shape [1, 1, 2]');
    invalid(() => F.maxUnpool3d(v, idx, [2, 2]), 'Expected an integer >= 1 or an array of 3 such integers for kernelSize but received [2, 2]');
    invalid(() => F.maxUnpool2d(v, idx, 2, { outputSize: [4, 4, 4] }), 'Expected an array of 2 or 4 integers for outputSize but received [4, 4, 4]');
  });
});

describe('torch.nn.functional: activations and normalization', () => {
  const v = () => f32([-2, -0.5, 0, 1, 3], [5]);
  const m = () => f32([1, 2, 3, 1, 0, -1], [2, 3]);

  it('softsign and tanhshrink', () => {
    close(F.softsign(v()), [5], [-0.6666667, -0.3333333, 0, 0.5, 0.75], 'softsign');
    close(F.tanhshrink(v()), [5], [-1.0359724, -0.0378828, 0, 0.2384058, 2.0049453], 'tanhshrink');
    invalid(() => F.softsign(1 as unknown as torch.Tensor), 'Expected a Tensor for input but received 1');
    const dead = v();
    dead.dispose();
    invalid(() => F.tanhshrink(dead), 'Expected a live Tensor for input but received a disposed Tensor');
  });

  it('softmin: dim, dtype, and PyTorch\'s implicit dim with its warning', async () => {
    close(F.softmin(m(), 1), [2, 3], [0.6652409, 0.2447285, 0.0900306, 0.0900306, 0.2447285, 0.6652409], 'softmin dim 1');
    const d = F.softmin(m(), { dim: 0, dtype: 'float64' });
    assert.strictEqual(d.dtype, 'float64');
    close(d, [2, 3], [0.5, 0.1192029, 0.0179862, 0.5, 0.8807971, 0.9820138], 'softmin dim 0 float64', 1e-6);
    let implicit: torch.Tensor | undefined;
    const w = await warningsOf(() => { implicit = F.softmin(m()); });
    assert.deepStrictEqual(w, ['Implicit dimension choice for softmin has been deprecated. Change the call to include dim=X as an argument.']);
    close(implicit!, [2, 3], [0.6652409, 0.2447285, 0.0900306, 0.0900306, 0.2447285, 0.6652409], 'softmin implicit (dim 1 for 2-D)');
    invalid(() => F.softmin(m(), 2), 'Expected an integer in [-2, 1] for dim but received 2');
  });

  it('normalize: p, dim, eps, and its gradient', () => {
    close(F.normalize(m()), [2, 3], [0.2672612, 0.5345225, 0.8017837, 0.7071068, 0, -0.7071068], 'p 2 dim 1');
    close(F.normalize(m(), { p: 1, dim: 0 }), [2, 3], [0.5, 1, 0.75, 0.5, 0, -0.25], 'p 1 dim 0');
    close(F.normalize(m(), Infinity, -1), [2, 3], [0.3333333, 0.6666667, 1, 1, 0, -1], 'p inf');
    close(F.normalize(f32([0, 0], [1, 2]), { eps: 0.5 }), [1, 2], [0, 0], 'eps');
    const x = m().requiresGrad_(true);
    F.normalize(x).mul(f32([1, 2, 3, -1, 1, 0.5], [2, 3])).sum().backward();
    close(x.grad!, [2, 3], [0, 1e-7, 1e-7, -0.1767767, 0.7071068, -0.1767767], 'grad', 1e-6);
    invalid(() => F.normalize(m(), 'fro' as unknown as number), 'Expected a number for p but received "fro"');
  });

  it('localResponseNorm: 3-D, 4-D and 5-D inputs', () => {
    const l3 = f32([1, 2, 3, 4, 5, 6, 7, 8], [1, 4, 2]);
    close(F.localResponseNorm(l3, 2), [1, 4, 2], [0.9999626, 1.9997001, 2.9988756, 3.9970024, 4.9936347, 5.988327, 6.9806376, 7.9701304], '3-D');
    close(F.localResponseNorm(torch.arange(12, { dtype: 'float32' }).reshape(1, 3, 2, 2), 3, { alpha: 0.1, beta: 0.5, k: 2 }), [1, 3, 2, 2],
      [0, 0.5906245, 1.0954452, 1.5126584, 1.85164, 2.1192024, 2.3237898, 2.480046, 3.70328, 3.8260365, 3.9123039, 3.972733], '4-D');
    close(F.localResponseNorm(torch.arange(16, { dtype: 'float32' }).reshape(1, 2, 2, 2, 2), 2, 0.05, 0.6, 1.5), [1, 2, 2, 2, 2],
      [0, 0.7763152, 1.5085441, 2.1629565, 2.7214968, 3.180934, 3.5483339, 3.8359959, 4.0576348, 4.2082882, 4.2887397, 4.3189335, 4.3148293, 4.2882404, 4.247509, 4.1983566], '5-D');
    const empty = torch.zeros([0, 2, 3]);
    assert.strictEqual(F.localResponseNorm(empty, 2), empty, 'an empty input is returned as is');
    invalid(() => F.localResponseNorm(f32([1, 2], [1, 2]), 2), 'Expected a tensor of 3 or more dimensions [N, C, ...] for input but received a float32 Tensor of shape [1, 2]');
    invalid(() => F.localResponseNorm(l3, 0), 'Expected an integer >= 1 for size but received 0');
  });
});

describe('torch.nn.functional: gaussianNllLoss and multilabelSoftMarginLoss', () => {
  const gi = () => f32([1, 2, 3, 0, -1, 2], [2, 3]);
  const gt = () => f32([1.5, 2, 2, 0, 0, 0], [2, 3]);
  const gv = () => f32([0.5, 1, 2, 1, 0.25, 1e-8], [2, 3]);

  it('gaussianNllLoss: heteroscedastic and homoscedastic var, full, eps, reductions', () => {
    close(F.gaussianNllLoss(gi(), gt(), gv()), [], [333332.5], 'mean');
    close(F.gaussianNllLoss(gi(), gt(), gv(), { full: true, reduction: 'none' }), [2, 3], [0.8223649, 0.9189385, 1.5155121, 0.9189385, 2.2257915, 1999994], 'none, full');
    close(F.gaussianNllLoss(gi(), gt(), f32([0.5, 2], [2]), false, 1e-6, 'sum'), [], [2.5], 'var [N] (one per row)');
    close(F.gaussianNllLoss(gi(), gt(), f32([0.5, 2], [2, 1]), { eps: 0.6 }), [], [0.4275248], 'var [N, 1], eps');
  });

  it('gaussianNllLoss: the gradient flows through var\'s clamp as PyTorch\'s does (clamped without autograd)', () => {
    const x = gi().requiresGrad_(true);
    const v = gv().requiresGrad_(true);
    F.gaussianNllLoss(x, gt(), v).backward();
    close(x.grad!, [2, 3], [-0.1666667, 0, 0.0833333, 0, -0.6666667, 333333.34375], 'd input');
    close(v.grad!, [2, 3], [0.0833333, 0.0833333, 0.0208333, 0.0833333, -1, -333333233664], 'd var');
  });

  it('gaussianNllLoss: a number for var on libtorch 2.x only; errors', () => {
    byLine({
      '1.13': () => throwsTorch(() => F.gaussianNllLoss(gi(), gt(), 2), 'ERR_UNSUPPORTED',
        'A number for var of torch.nn.functional.gaussian_nll_loss is not available in libtorch 1.13.0; libtorch 2.6 has it (a Tensor works on every line)'),
      '2.6': () => close(F.gaussianNllLoss(gi(), gt(), 2), [], [0.6069903], 'var 2'),
    })();
    invalid(() => F.gaussianNllLoss(gi(), gt(), f32([1, 1, 1], [3])),
      "Expected a tensor of shape [2, 3], [2] or [2, 1] (the input's shape, without or with 1 as its last dimension) for var but received a float32 Tensor of shape [3]");
    invalid(() => F.gaussianNllLoss(gi(), gt(), f32([1, 1, -1, 1, 1, 1], [2, 3])), 'Expected a tensor of variances >= 0 for var but received a float32 Tensor of shape [2, 3]');
    invalid(() => F.gaussianNllLoss(gi(), gt(), gv(), { reduction: 'batchmean' as 'mean' }), 'Expected one of "none", "mean", "sum" for reduction but received "batchmean"');
  });

  const mi = () => f32([0.5, -1, 2, 0, 3, -2], [2, 3]);
  const mt = () => f32([1, 0, 1, 0, 1, 1], [2, 3]);

  it('multilabelSoftMarginLoss: weight, reductions, the legacy sizeAverage/reduce, 1-D input', async () => {
    close(F.multilabelSoftMarginLoss(mi(), mt()), [], [0.6304882], 'mean');
    close(F.multilabelSoftMarginLoss(mi(), mt(), { weight: f32([1, 2, 0.5], [3]), reduction: 'none' }), [2], [0.3880215, 0.6179287], 'weight, none');
    let legacy: torch.Tensor | undefined;
    const w = await warningsOf(() => { legacy = F.multilabelSoftMarginLoss(mi(), mt(), null, false); });
    assert.deepStrictEqual(w, ["size_average and reduce args will be deprecated, please use reduction='sum' instead."]);
    close(legacy!, [], [1.2609764], 'sizeAverage false: sum');
    close(F.multilabelSoftMarginLoss(f32([0.5, -1, 2], [3]), f32([1, 0, 1], [3])), [], [0.3047556], '1-D');
    invalid(() => F.multilabelSoftMarginLoss(mi(), mt(), { reduction: 'batchmean' as 'mean' }), 'Expected one of "none", "mean", "sum" for reduction but received "batchmean"');
    invalid(() => F.multilabelSoftMarginLoss(f32([1], []), f32([1], [])), 'Expected a tensor of shape [N, C] or [C] for input but received a float32 Tensor of shape []');
  });
});

describe('torch.nn.functional: dropout1d and dropout3d (channel dropout, unbatched inputs)', () => {
  const d2 = () => torch.arange(1, 13, { dtype: 'float32' }).reshape(4, 3);
  const d4 = () => torch.arange(1, 17, { dtype: 'float32' }).reshape(4, 2, 2, 1);

  it('drops whole channels with PyTorch\'s random stream; an unbatched input is one batch of C channels', () => {
    const kept = [0, 0, 0, 0, 0, 0, 14, 16, 18, 0, 0, 0];
    torch.manualSeed(0);
    close(F.dropout1d(d2(), 0.5), [4, 3], kept, 'dropout1d [C, L]');
    torch.manualSeed(0);
    close(F.dropout1d(d2().reshape(2, 2, 3), { p: 0.5 }), [2, 2, 3], kept, 'dropout1d [N, C, L]');
    const kept3 = [2, 4, 6, 8, 10, 12, 14, 16, 0, 0, 0, 0, 26, 28, 30, 32];
    torch.manualSeed(3);
    close(F.dropout3d(d4(), 0.5), [4, 2, 2, 1], kept3, 'dropout3d [C, D, H, W]');
    torch.manualSeed(3);
    close(F.dropout3d(d4().reshape(2, 2, 2, 2, 1), 0.5), [2, 2, 2, 2, 1], kept3, 'dropout3d [N, C, D, H, W]');
    // p 0, not training: the input's values
    assert.deepStrictEqual(values(F.dropout3d(d4(), { p: 0.5, training: false })), values(d4()));
    assert.deepStrictEqual(values(F.dropout1d(d2(), 0)), values(d2()));
  });

  it('inplace: the input, changed and returned, with its shape', () => {
    torch.manualSeed(0);
    const y = d2();
    const r = F.dropout1d(y, 0.5, true, true);
    assert.strictEqual(r, y);
    close(y, [4, 3], [0, 0, 0, 0, 0, 0, 14, 16, 18, 0, 0, 0], 'in place');
    assert.deepStrictEqual([...y.clone().shape], [4, 3], 'the shape libtorch holds');
  });

  it('inplace in the generated functions (F.dropout, F.dropout2d: the in-place operator\'s `self`): the input changes as the functional result', () => {
    for (const [name, f] of [['dropout', (x: torch.Tensor, inplace: boolean) => F.dropout(x, 0.5, true, inplace)],
      ['dropout2d', (x: torch.Tensor, inplace: boolean) => F.dropout2d(x, { p: 0.5, inplace })]] as const) {
      torch.manualSeed(1);
      const want = values(f(torch.ones([2, 4, 3]), false));
      torch.manualSeed(1);
      const y = torch.ones([2, 4, 3]);
      f(y, true);
      assert.deepStrictEqual(values(y), want, name);
      assert.ok(want.includes(0) && want.includes(2), name);
    }
  });

  it('errors', async () => {
    invalid(() => F.dropout1d(d2(), 1.5), 'Expected a probability in [0, 1] for p but received 1.5');
    invalid(() => F.dropout1d(torch.zeros([1, 2, 3, 4])), 'Expected a 2-D or 3-D tensor ([C, L] or [N, C, L]: dropout1d drops channels of 1-D signals) for input but received a float32 Tensor of shape [1, 2, 3, 4]');
    invalid(() => F.dropout3d(d4(), { training: 'yes' as unknown as boolean }), 'Expected a boolean for training but received "yes"');
    // another rank: PyTorch's warning, and the input taken as unbatched
    const w = await warningsOf(() => F.dropout3d(torch.ones([2, 3]), 0));
    assert.ok(w.length === 1 && w[0].startsWith('dropout3d: Received a 2-D input to dropout3d, which is deprecated'), w.join('|'));
  });
});

describe('torch.unique, broadcastShapes, lu, nonzero, tensordot, norm', () => {
  it('unique: sorted elements, inverse and counts as Python\'s tuple, unique slices along dim; Tensor.unique', () => {
    const t = () => i64([3, 1, 3, 2, 1], [5]);
    close(torch.unique(t()), [3], [1, 2, 3], 'unique');
    const [u, inverse, counts] = torch.unique(t(), { returnInverse: true, returnCounts: true });
    assert.deepStrictEqual([values(u), values(inverse), values(counts)], [[1, 2, 3], [2, 0, 2, 1, 0], [2, 1, 2]]);
    const [uc, c] = torch.unique(f32([3, 1, 3], [3]), { returnCounts: true });
    assert.strictEqual(uc.dtype, 'float32');
    assert.deepStrictEqual([values(uc), values(c)], [[1, 3], [1, 2]]);
    const [rows, inv] = torch.unique(i64([1, 2, 0, 5, 1, 2], [3, 2]), { dim: 0, returnInverse: true });
    close(rows, [2, 2], [0, 5, 1, 2], 'dim 0');
    assert.deepStrictEqual(values(inv), [1, 0, 1]);
    const [cols, n] = i64([1, 2, 2, 1], [2, 2]).unique({ sorted: true, returnCounts: true, dim: 1 });
    assert.deepStrictEqual([values(cols), values(n)], [[1, 2, 2, 1], [1, 1]]);
    // positionally: (input, sorted, return_inverse, return_counts, dim)
    assert.strictEqual((torch.unique(t(), true, true) as torch.Tensor[]).length, 2);
    invalid(() => torch.unique(t(), { dim: 2 }), 'Expected an integer in [-1, 0] for dim but received 2');
    invalid(() => t().unique({ returnCount: true } as object), 'Expected one of the options sorted, returnInverse, returnCounts, dim for an option of Tensor.unique but received "returnCount"');
  });

  it('broadcastShapes: PyTorch\'s result and errors', () => {
    assert.deepStrictEqual(torch.broadcastShapes([5, 1], [1, 3], 3), [5, 3]);
    assert.deepStrictEqual(torch.broadcastShapes(5, [1]), [5]);
    assert.deepStrictEqual(torch.broadcastShapes(), []);
    throwsTorch(() => torch.broadcastShapes([2, 3], [4]), 'ERR_TORCH', 'Shape mismatch: objects cannot be broadcast to a single shape');
    throwsTorch(() => torch.broadcastShapes([2, -1]), 'ERR_TORCH', 'Trying to create tensor with negative dimension (-1): (-1)');
    invalid(() => torch.broadcastShapes([2], 'a' as unknown as number), 'Expected an integer or an array of integers (a shape) for shapes[1] but received "a"');
  });

  it('lu: [LU, pivots], infos with getInfos (a singular matrix does not throw, as in PyTorch); Tensor.lu', () => {
    const A = () => f32([1, 2, 3, 4], [2, 2]);
    assert.strictEqual(torch.lu(A()).length, 2);
    const [LU, pivots] = torch.lu(A());
    close(LU, [2, 2], [3, 4, 0.3333333, 0.6666666], 'LU');
    assert.strictEqual(pivots.dtype, 'int32');
    assert.deepStrictEqual(values(pivots), [2, 2]);
    const [z, zp, info] = torch.lu(torch.zeros([2, 2]), { getInfos: true });
    assert.deepStrictEqual([values(z), values(zp), values(info), [...info.shape]], [[0, 0, 0, 0], [1, 2], [1], []]);
    const r = A().to('float64').lu(true, true);
    assert.strictEqual(r.length, 3);
    close(r[0], [2, 2], [3, 4, 0.3333333, 0.6666667], 'Tensor.lu float64', 1e-7);
    assert.deepStrictEqual(values(r[2]), [0]);
    const [bLU, bp] = torch.lu(f32([2, 1, 4, 3, 0, 1, 1, 0], [2, 2, 2]));
    close(bLU, [2, 2, 2], [4, 3, 0.5, -0.5, 1, 0, 0, 1], 'batched LU');
    assert.deepStrictEqual(values(bp), [2, 2, 2, 2]);
    invalid(() => torch.lu(f32([1, 2, 3], [3])), 'Expected a tensor of matrices [..., M, N] for A but received a float32 Tensor of shape [3]');
    invalid(() => f32([1, 2, 3], [3]).lu(), 'Expected a tensor of matrices [..., M, N] for self but received a float32 Tensor of shape [3]');
  });

  it('nonzero: [n, ndim] indices, or one tensor per dimension with asTuple; Tensor.nonzero', () => {
    const nz = () => i64([0, 1, 0, 2, 0, 3], [2, 3]);
    close(torch.nonzero(nz()), [3, 2], [0, 1, 1, 0, 1, 2], 'nonzero');
    const [r, c] = torch.nonzero(nz(), { asTuple: true });
    assert.deepStrictEqual([values(r), values(c)], [[0, 1, 1], [1, 0, 2]]);
    assert.deepStrictEqual(nz().nonzero({ asTuple: true }).map(values), [[0, 1, 1], [1, 0, 2]]);
    const zero = nz().nonzero();
    assert.strictEqual(zero.dtype, 'int64');
    // a 0-D input: one index tensor with asTuple, [1, 0] without
    assert.deepStrictEqual(torch.nonzero(torch.tensor(5), { asTuple: true }).map(values), [[0]]);
    assert.deepStrictEqual([...torch.nonzero(torch.tensor(5)).shape], [1, 0]);
    invalid(() => torch.nonzero(nz(), { asTuple: 1 as unknown as boolean }), 'Expected a boolean for asTuple but received 1');
    invalid(() => nz().nonzero({ out: nz() } as object), 'Expected one of the options asTuple for an option of Tensor.nonzero but received "out"');
  });

  it('tensordot: dims as a count, a pair of lists, or a tensor', () => {
    const a = () => torch.arange(6, { dtype: 'float32' }).reshape(2, 3);
    const b = () => torch.arange(12, { dtype: 'float32' }).reshape(3, 2, 2);
    const c = () => torch.arange(6, { dtype: 'float32' }).reshape(3, 2);
    close(torch.tensordot(a(), b(), 1), [2, 2, 2], [20, 23, 26, 29, 56, 68, 80, 92], 'dims 1');
    close(torch.tensordot(a(), c(), [[1, 0], [0, 1]]), [], [50], 'pair');
    close(torch.tensordot(a(), c(), { dims: i64([1, 0], [2, 1]) }), [2, 2], [10, 13, 28, 40], 'tensor dims');
    close(torch.tensordot(b(), b().reshape(2, 2, 3)), [3, 3], [42, 48, 54, 114, 136, 158, 186, 224, 262], 'default dims 2');
    close(torch.tensordot(f32([1, 2], [2]), f32([3, 4, 5], [3]), 0), [2, 3], [3, 4, 5, 6, 8, 10], 'dims 0 (outer product)');
    invalid(() => torch.tensordot(a(), c(), -1), 'Expected an integer in [0, 2] (at most the smaller rank of a and b) for dims but received -1');
    invalid(() => torch.tensordot(a(), c(), [[0, 1], [0]]), 'Expected two dimension lists of the same length for dims but received [[0, 1], [0]]');
  });

  it('norm: torch.norm\'s semantics for \'fro\', \'nuc\', numbers and null, dim, keepdim, dtype; Tensor.norm', () => {
    const n = () => f32([3, -4, 1, 2], [2, 2]);
    close(torch.norm(n()), [], [5.4772258], 'fro');
    close(torch.norm(n(), 1, 0), [2], [4, 6], 'p 1 dim 0');
    close(torch.norm(n(), Infinity, 1, true), [2, 1], [4, 2], 'inf, keepdim');
    close(torch.norm(n(), -Infinity), [], [1], '-inf');
    close(torch.norm(n(), 0), [], [4], 'p 0');
    close(torch.norm(n(), 'nuc'), [], [7.0710673], 'nuc');
    close(torch.norm(n(), 'fro', 1), [2], [5, 2.236068], 'fro dim 1');
    close(torch.norm(n(), null, 0), [2], [3.1622777, 4.472136], 'p null: 2');
    close(torch.norm(torch.arange(8, { dtype: 'float32' }).reshape(2, 2, 2), { p: 'nuc', dim: [1, 2] }), [2], [4.2426405, 11.4017544], 'nuc over dims', 5e-6);
    const d = torch.norm(n(), 2, { dtype: 'float64' });
    assert.strictEqual(d.dtype, 'float64');
    close(d, [], [5.4772256], 'dtype', 1e-7);
    close(n().norm(3, { dim: [0, 1] }), [], [4.6415892], 'Tensor.norm');
    close(n().norm({ p: 1 }), [], [10], 'Tensor.norm options');
    close(n().norm(), [], [5.4772258], 'Tensor.norm default');
    byLine({
      '1.13': () => invalid(() => torch.norm(n(), 'fro', { dtype: 'float64' }), "Expected null (dtype is not supported with p 'fro' on libtorch 1.13) for dtype but received \"float64\""),
      '2.6': () => close(torch.norm(n(), 'fro', { dtype: 'float64' }), [], [5.4772256], 'fro dtype (2.x: linalg.vector_norm)', 1e-7),
    })();
    invalid(() => torch.norm(n(), 'abc' as 'fro'), 'Expected a number, \'fro\', \'nuc\' or null for p but received "abc"');
    invalid(() => torch.norm(n(), 2, 2), 'Expected an integer in [-2, 1] for dim but received 2');
  });
});
