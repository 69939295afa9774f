#!/usr/bin/python3
"""Reference losses from PyTorch 1.13 for test/32.nn.loss.test.ts.

Usage: /usr/bin/python3 scripts/gen-fixtures-loss.py   (writes test/fixtures/torch-<line>/loss.json)

Each case calls one torch.nn.functional loss with the case's options and records:
  - fn: torchrnn's name of the function (crossEntropy, nllLoss, ...);
  - options: torchrnn's camelCase option names; tensor options (weight, posWeight) are
    encoded tensors under {"tensor": ...};
  - args: the positional arguments, each an encoded tensor with `grad` (whether its gradient
    is recorded) or {"list": [...]} (CTC lengths given as Python lists);
  - output: the loss;
  - projection: a fixed random R of the output's shape, or null for a one-element output;
  - grads: the gradient of every argument with grad=true of (output * R).sum(), or of
    output.sum() when projection is null (null for the others).
Encoding as in scripts/gen-fixtures.py: {data, shape, dtype}, non-finite numbers as the strings
"NaN", "Infinity", "-Infinity". The helpers are copied (importing that script would run it).
"""
import json
import math
import os
import warnings

import torch

from fixture_encoding import NAMES, OUT, enc, num  # noqa: F401 (shared with the other generators)
import torch.nn.functional as F



torch.manual_seed(0)
gen = torch.Generator().manual_seed(4321)


def rn(*shape, dtype=torch.float32):
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)


def ri(low, high, *shape):
    return torch.randint(low, high, shape, generator=gen, dtype=torch.int64)


def probs(*shape, dim=1, dtype=torch.float32):
    return torch.randn(*shape, generator=gen, dtype=torch.float64).softmax(dim).to(dtype)


def unit(*shape, dtype=torch.float32):
    """Values strictly inside (0, 1), for BCE inputs."""
    return torch.randn(*shape, generator=gen, dtype=torch.float64).sigmoid().to(dtype)


FUNCS = {
    'crossEntropy': lambda a, o: F.cross_entropy(*a, weight=o.get('weight'), ignore_index=o.get('ignoreIndex', -100),
                                                 reduction=o.get('reduction', 'mean'), label_smoothing=o.get('labelSmoothing', 0.0)),
    'nllLoss': lambda a, o: F.nll_loss(*a, weight=o.get('weight'), ignore_index=o.get('ignoreIndex', -100), reduction=o.get('reduction', 'mean')),
    'mseLoss': lambda a, o: F.mse_loss(*a, reduction=o.get('reduction', 'mean')),
    'l1Loss': lambda a, o: F.l1_loss(*a, reduction=o.get('reduction', 'mean')),
    'smoothL1Loss': lambda a, o: F.smooth_l1_loss(*a, reduction=o.get('reduction', 'mean'), beta=o.get('beta', 1.0)),
    'huberLoss': lambda a, o: F.huber_loss(*a, reduction=o.get('reduction', 'mean'), delta=o.get('delta', 1.0)),
    'binaryCrossEntropy': lambda a, o: F.binary_cross_entropy(*a, weight=o.get('weight'), reduction=o.get('reduction', 'mean')),
    'binaryCrossEntropyWithLogits': lambda a, o: F.binary_cross_entropy_with_logits(
        *a, weight=o.get('weight'), reduction=o.get('reduction', 'mean'), pos_weight=o.get('posWeight')),
    'ctcLoss': lambda a, o: F.ctc_loss(*a, blank=o.get('blank', 0), reduction=o.get('reduction', 'mean'), zero_infinity=o.get('zeroInfinity', False)),
}

cases = []


def case(name, fn, args, grads=None, **options):
    """grads: which args get a recorded gradient (default: every floating-point tensor)."""
    ins = []
    for i, a in enumerate(args):
        if isinstance(a, torch.Tensor):
            want = a.dtype.is_floating_point if grads is None else i in grads
            ins.append(a.detach().clone().requires_grad_(want))
        else:
            ins.append(a)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # mse/l1/... warn when they broadcast; the broadcast cases mean it
        out = FUNCS[fn](ins, options)
    enc_args = [dict(enc(a), grad=a.requires_grad) if isinstance(a, torch.Tensor) else {'list': list(a)} for a in ins]
    enc_opts = {k: ({'tensor': enc(v)} if isinstance(v, torch.Tensor) else v) for k, v in options.items()}
    diff = [a for a in ins if isinstance(a, torch.Tensor) and a.requires_grad]
    projection = None
    if out.numel() == 1 and out.dim() == 0:
        total = out.sum()
    else:
        projection = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(out.dtype)
        total = (out * projection).sum()
    g = iter(torch.autograd.grad(total, diff, allow_unused=True)) if diff else iter(())
    rec_grads = [enc(next(g)) if isinstance(a, torch.Tensor) and a.requires_grad else None for a in ins]
    cases.append({'name': name, 'fn': fn, 'options': enc_opts, 'args': enc_args, 'output': enc(out),
                  'projection': enc(projection), 'grads': rec_grads})


REDUCTIONS = ('mean', 'sum', 'none')

# ---- cross entropy: class indices, class probabilities, (N,C), (C), (N,C,d1,...) --------------
N, C = 4, 5
x, t = rn(N, C), ri(0, C, N)
w = rn(C).abs() + 0.1
for r in REDUCTIONS:
    case(f'ce_{r}', 'crossEntropy', [x, t], reduction=r)
    case(f'ce_weight_{r}', 'crossEntropy', [x, t], weight=w, reduction=r)
    case(f'ce_ls_{r}', 'crossEntropy', [x, t], labelSmoothing=0.1, reduction=r)
    case(f'ce_ls_weight_{r}', 'crossEntropy', [x, t], weight=w, labelSmoothing=0.1, reduction=r)
    case(f'ce_probs_{r}', 'crossEntropy', [x, probs(N, C)], reduction=r)
    case(f'ce_probs_ls_{r}', 'crossEntropy', [x, probs(N, C)], labelSmoothing=0.1, reduction=r)
    case(f'ce_probs_weight_{r}', 'crossEntropy', [x, probs(N, C)], weight=w, reduction=r)
t_ign = torch.tensor([1, -100, 3, -100])
t_ign2 = torch.tensor([2, 0, 2, 4])
for r in REDUCTIONS:
    case(f'ce_ignore_default_{r}', 'crossEntropy', [x, t_ign], reduction=r)
    case(f'ce_ignore_custom_{r}', 'crossEntropy', [x, t_ign2], ignoreIndex=2, reduction=r)
    case(f'ce_ignore_weight_{r}', 'crossEntropy', [x, t_ign2], weight=w, ignoreIndex=2, reduction=r)
    case(f'ce_ignore_ls_{r}', 'crossEntropy', [x, t_ign2], ignoreIndex=2, labelSmoothing=0.1, reduction=r)
case('ce_ls_one', 'crossEntropy', [x, t], labelSmoothing=1.0)
case('ce_all_ignored_mean', 'crossEntropy', [x, torch.full((N,), -100)])  # 0/0: NaN as in PyTorch
# (N, C, L) and (N, C, H, W)
x3, t3 = rn(2, C, 3), ri(0, C, 2, 3)
t3_ign = t3.clone()
t3_ign[0, 1] = 1
t3_ign[1, 2] = 1
for r in REDUCTIONS:
    case(f'ce_ncl_{r}', 'crossEntropy', [x3, t3], reduction=r)
    case(f'ce_ncl_weight_ignore_{r}', 'crossEntropy', [x3, t3_ign], weight=w, ignoreIndex=1, reduction=r)
    case(f'ce_ncl_probs_ls_{r}', 'crossEntropy', [x3, probs(2, C, 3)], labelSmoothing=0.1, reduction=r)
    case(f'ce_ncl_ls_weight_{r}', 'crossEntropy', [x3, t3], weight=w, labelSmoothing=0.1, reduction=r)
case('ce_nchw', 'crossEntropy', [rn(2, C, 2, 3), ri(0, C, 2, 2, 3)])
case('ce_nchw_probs', 'crossEntropy', [rn(2, C, 2, 3), probs(2, C, 2, 3)], reduction='sum')
# unbatched (C)
xu = rn(C)
for r in REDUCTIONS:
    case(f'ce_unbatched_{r}', 'crossEntropy', [xu, torch.tensor(3)], reduction=r)
    case(f'ce_unbatched_probs_{r}', 'crossEntropy', [xu, probs(C, dim=0)], reduction=r)
case('ce_unbatched_weight_ls', 'crossEntropy', [xu, torch.tensor(1)], weight=w, labelSmoothing=0.1)
case('ce_unbatched_ignored', 'crossEntropy', [xu, torch.tensor(-100)], reduction='sum')
# float64
x64, w64 = rn(N, C, dtype=torch.float64), w.double()
for r in REDUCTIONS:
    case(f'ce_f64_{r}', 'crossEntropy', [x64, t], weight=w64, reduction=r)
    case(f'ce_f64_probs_ls_{r}', 'crossEntropy', [x64, probs(N, C, dtype=torch.float64)], labelSmoothing=0.1, reduction=r)
case('ce_f64_ncl_ls_ignore', 'crossEntropy', [rn(2, C, 3, dtype=torch.float64), t3_ign], ignoreIndex=1, labelSmoothing=0.2)

# ---- nll ---------------------------------------------------------------------------------------
lp = x.log_softmax(1)
for r in REDUCTIONS:
    case(f'nll_{r}', 'nllLoss', [lp, t], reduction=r)
    case(f'nll_weight_{r}', 'nllLoss', [lp, t], weight=w, reduction=r)
    case(f'nll_ignore_weight_{r}', 'nllLoss', [lp, t_ign2], weight=w, ignoreIndex=2, reduction=r)
    case(f'nll_ncl_{r}', 'nllLoss', [x3.log_softmax(1), t3_ign], ignoreIndex=1, reduction=r)
    case(f'nll_unbatched_{r}', 'nllLoss', [xu.log_softmax(0), torch.tensor(2)], reduction=r)
    case(f'nll_f64_{r}', 'nllLoss', [x64.log_softmax(1), t_ign], weight=w64, reduction=r)
case('nll_ignore_default', 'nllLoss', [lp, t_ign])
case('nll_nchw_weight', 'nllLoss', [rn(2, C, 2, 3).log_softmax(1), ri(0, C, 2, 2, 3)], weight=w)

# ---- regression losses -----------------------------------------------------------------------------
a, b = rn(3, 4), rn(3, 4)
a64, b64 = rn(2, 3, dtype=torch.float64), rn(2, 3, dtype=torch.float64)
# spread the differences so that both branches of smooth L1 and Huber are taken
b_wide = a + rn(3, 4) * 1.5
for r in REDUCTIONS:
    case(f'mse_{r}', 'mseLoss', [a, b], reduction=r)
    case(f'l1_{r}', 'l1Loss', [a, b], reduction=r)
    case(f'smoothl1_{r}', 'smoothL1Loss', [a, b_wide], reduction=r)
    case(f'smoothl1_beta05_{r}', 'smoothL1Loss', [a, b_wide], beta=0.5, reduction=r)
    case(f'smoothl1_beta0_{r}', 'smoothL1Loss', [a, b_wide], beta=0.0, reduction=r)
    case(f'huber_{r}', 'huberLoss', [a, b_wide], reduction=r)
    case(f'huber_delta2_{r}', 'huberLoss', [a, b_wide], delta=2.0, reduction=r)
    case(f'mse_f64_{r}', 'mseLoss', [a64, b64], reduction=r)
    case(f'l1_f64_{r}', 'l1Loss', [a64, b64], reduction=r)
    case(f'smoothl1_f64_{r}', 'smoothL1Loss', [a64, b64 * 2], beta=0.5, reduction=r)
    case(f'huber_f64_{r}', 'huberLoss', [a64, b64 * 2], delta=2.0, reduction=r)
# broadcasting (PyTorch warns, then broadcasts)
for fn, nm in (('mseLoss', 'mse'), ('l1Loss', 'l1'), ('smoothL1Loss', 'smoothl1'), ('huberLoss', 'huber')):
    case(f'{nm}_broadcast_target', fn, [a, rn(1, 4)])
    case(f'{nm}_broadcast_both_none', fn, [rn(3, 1), rn(1, 4)], reduction='none')
case('mse_target_nograd', 'mseLoss', [a, b], grads=[0])
case('mse_scalar', 'mseLoss', [torch.tensor(1.5), torch.tensor(-0.5)])
case('mse_empty_sum', 'mseLoss', [rn(0, 3), rn(0, 3)], reduction='sum')

# ---- binary cross entropy ----------------------------------------------------------------------------
p, y = unit(3, 4), torch.rand(3, 4, generator=gen)
yb = (torch.rand(3, 4, generator=gen) > 0.5).float()
bw = rn(3, 4).abs()
for r in REDUCTIONS:
    # BCE has no gradient for its target in PyTorch 1.13
    case(f'bce_{r}', 'binaryCrossEntropy', [p, y], grads=[0], reduction=r)
    case(f'bce_hard_{r}', 'binaryCrossEntropy', [p, yb], grads=[0], reduction=r)
    case(f'bce_weight_{r}', 'binaryCrossEntropy', [p, y], grads=[0], weight=bw, reduction=r)
    case(f'bce_weight_broadcast_{r}', 'binaryCrossEntropy', [p, y], grads=[0], weight=rn(4).abs(), reduction=r)
    case(f'bce_f64_{r}', 'binaryCrossEntropy', [unit(2, 3, dtype=torch.float64), torch.rand(2, 3, generator=gen, dtype=torch.float64)],
         grads=[0], reduction=r)
case('bce_saturated', 'binaryCrossEntropy', [torch.tensor([0.0, 1.0, 0.5, 1.0]), torch.tensor([1.0, 0.0, 0.5, 1.0])], grads=[0], reduction='none')
case('bce_1d', 'binaryCrossEntropy', [unit(5), torch.rand(5, generator=gen)], grads=[0])

z = rn(3, 4) * 2
pw = rn(4).abs() + 0.5
for r in REDUCTIONS:
    case(f'bcel_{r}', 'binaryCrossEntropyWithLogits', [z, y], reduction=r)
    case(f'bcel_weight_{r}', 'binaryCrossEntropyWithLogits', [z, y], weight=bw, reduction=r)
    case(f'bcel_posweight_{r}', 'binaryCrossEntropyWithLogits', [z, yb], posWeight=pw, reduction=r)
    case(f'bcel_both_{r}', 'binaryCrossEntropyWithLogits', [z, y], weight=rn(1, 4).abs(), posWeight=pw, reduction=r)
    case(f'bcel_f64_{r}', 'binaryCrossEntropyWithLogits', [rn(2, 3, dtype=torch.float64) * 3, torch.rand(2, 3, generator=gen, dtype=torch.float64)],
         posWeight=(rn(3).abs() + 0.5).double(), reduction=r)
case('bcel_3d_posweight', 'binaryCrossEntropyWithLogits', [rn(2, 3, 4) * 2, (torch.rand(2, 3, 4, generator=gen) > 0.5).float()], posWeight=pw)
case('bcel_large_logits', 'binaryCrossEntropyWithLogits', [torch.tensor([-100.0, 100.0, 30.0, -30.0]), torch.tensor([1.0, 0.0, 1.0, 0.0])],
     posWeight=torch.tensor([2.0, 2.0, 0.5, 0.5]), reduction='none')

# ---- CTC -----------------------------------------------------------------------------------------------
T, B, K, S = 12, 3, 6, 5
lpc = rn(T, B, K).log_softmax(2)
tg = ri(1, K, B, S)
in_len, tg_len = [12, 10, 11], [5, 3, 4]
tg_cat = torch.cat([tg[i, :n] for i, n in enumerate(tg_len)])
for r in REDUCTIONS:
    case(f'ctc_padded_lists_{r}', 'ctcLoss', [lpc, tg, in_len, tg_len], reduction=r)
    case(f'ctc_padded_tensors_{r}', 'ctcLoss', [lpc, tg, torch.tensor(in_len), torch.tensor(tg_len)], reduction=r)
    case(f'ctc_concat_lists_{r}', 'ctcLoss', [lpc, tg_cat, in_len, tg_len], reduction=r)
    case(f'ctc_concat_tensors_{r}', 'ctcLoss', [lpc, tg_cat, torch.tensor(in_len), torch.tensor(tg_len)], reduction=r)
# an impossible alignment (target longer than the input allows): inf, or 0 with zeroInfinity
short = [12, 3, 11]
for r in REDUCTIONS:
    case(f'ctc_inf_{r}', 'ctcLoss', [lpc, tg, short, tg_len], reduction=r)
    case(f'ctc_zero_infinity_{r}', 'ctcLoss', [lpc, tg, short, tg_len], zeroInfinity=True, reduction=r)
case('ctc_zero_infinity_finite', 'ctcLoss', [lpc, tg, in_len, tg_len], zeroInfinity=True)
case('ctc_blank_last', 'ctcLoss', [lpc, ri(0, K - 1, B, S), in_len, tg_len], blank=K - 1, reduction='sum')
case('ctc_int32_targets', 'ctcLoss', [lpc, tg.int(), torch.tensor(in_len, dtype=torch.int32), torch.tensor(tg_len, dtype=torch.int32)])
case('ctc_zero_length_target', 'ctcLoss', [lpc, tg, in_len, [5, 0, 4]], reduction='none')
case('ctc_repeats', 'ctcLoss', [lpc, torch.tensor([[2, 2, 3, 3, 3], [1, 1, 1, 1, 1], [4, 5, 4, 5, 4]]), in_len, [5, 3, 4]], reduction='none')
case('ctc_f64', 'ctcLoss', [rn(T, B, K, dtype=torch.float64).log_softmax(2), tg, in_len, tg_len])
case('ctc_f64_concat_sum', 'ctcLoss', [rn(T, B, K, dtype=torch.float64).log_softmax(2), tg_cat, torch.tensor(in_len), torch.tensor(tg_len)], reduction='sum')
# unbatched: (T, C) log-probabilities; PyTorch 1.13 reads 1-D targets as concatenated, so S = the target length
case('ctc_unbatched', 'ctcLoss', [rn(T, K).log_softmax(1), ri(1, K, 4), [10], [4]])
case('ctc_unbatched_tensors_none', 'ctcLoss', [rn(T, K).log_softmax(1), ri(1, K, S), torch.tensor(9), torch.tensor(S)], reduction='none')

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'loss.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
print(f'wrote {len(cases)} loss cases to {OUT}/loss.json')
