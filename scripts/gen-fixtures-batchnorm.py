#!/usr/bin/python3
"""Reference batch normalization from PyTorch for test/34.nn.batchnorm.test.ts.

Usage: /usr/bin/python3 scripts/gen-fixtures-batchnorm.py
  (writes test/fixtures/torch-<line>/batchnorm.json and batchnorm-trained.pt)

The grid: BatchNorm1d on [N, C] ('1d') and [N, C, L] ('1d3') input, BatchNorm2d on [N, C, H, W]
('2d') × training/eval × momentum 0.1, 0.3, None × affine × track_running_stats, in float64,
plus the training/affine/tracking cases in float32. Each case records:
  - kind, dtype, training, options (torchrnn's camelCase names; momentum null for None);
  - state: the module's initial state dict (random weight, bias and running statistics;
    num_batches_tracked = 2, so momentum=None's first factor is 1/3);
  - input, output, projection R, and the gradients of (output * R).sum() with respect to
    input, weight and bias (null without affine);
  - after: the module's state dict after that one forward (running statistics updated in
    training mode);
  - steps: K = 3 SGD steps (lr 0.1) of Sequential(pre, bn) in the case's mode, pre being
    Linear(2, C) ('1d'), Conv1d(2, C, 2) ('1d3') or Conv2d(2, C, 2) ('2d'): modelState (the
    initial state of the whole model, keys '0.weight', '1.running_mean', ...), then per step
    the input, the target T, the loss (output * T).mean() and the buffers after the step, and
    final: the model's state dict after the K steps.
And `trained`: a model with both kinds (Conv2d → BatchNorm2d → ReLU → Flatten → Linear →
BatchNorm1d(momentum=None) → Linear) trained 4 steps in Python, saved with
torch.save(state_dict) to batchnorm-trained.pt, with an input and its eval-mode output, for
the load direction. Encoding: scripts/fixture_encoding.py.
"""
import json
import os

import torch
import torch.nn as nn

from fixture_encoding import NAMES, OUT, enc

torch.manual_seed(0)
gen = torch.Generator().manual_seed(2024)

C, N = 3, 4
K = 3


def rn(*shape, dtype=torch.float64, scale=1.0, shift=0.0):
    """N(shift, scale²) values rounded to 3 decimals (short in JSON; the decimal's nearest double,
    then the dtype's nearest value, is what both sides read)."""
    v = torch.randn(*shape, generator=gen, dtype=torch.float64) * scale + shift
    return (torch.round(v * 1000) / 1000).to(dtype)


def rand(*shape, dtype=torch.float64, scale=1.0, shift=0.0):
    v = torch.rand(*shape, generator=gen, dtype=torch.float64) * scale + shift
    return (torch.round(v * 1000) / 1000).to(dtype)


def enc_in(t):
    """An input made by rn/rand: its 3-decimal source values (float32 inputs are those rounded to float32)."""
    t = t.detach()
    src = torch.round(t.double() * 1000) / 1000
    assert torch.equal(src.to(t.dtype), t)
    return {'data': src.reshape(-1).tolist(), 'shape': list(t.shape), 'dtype': NAMES[t.dtype]}


def sd_enc(module):
    return {k: enc(v) for k, v in module.state_dict().items()}


KINDS = {
    # kind: (module class, input shape, pre-layer for the training steps, its input shape)
    '1d': (nn.BatchNorm1d, (N, C), lambda: nn.Linear(2, C), (N, 2)),
    '1d3': (nn.BatchNorm1d, (N, C, 5), lambda: nn.Conv1d(2, C, 2), (N, 2, 4)),
    '2d': (nn.BatchNorm2d, (N, C, 2, 3), lambda: nn.Conv2d(2, C, 2), (N, 2, 3, 3)),
}


def randomize(bn, dtype):
    with torch.no_grad():
        if bn.affine:
            bn.weight.copy_(rn(C, dtype=dtype, scale=0.5, shift=1))
            bn.bias.copy_(rn(C, dtype=dtype, scale=0.5))
        if bn.track_running_stats:
            bn.running_mean.copy_(rn(C, dtype=dtype, scale=0.5))
            bn.running_var.copy_(rand(C, dtype=dtype, shift=0.5))
            bn.num_batches_tracked.fill_(2)


cases = []


def case(kind, dtype, training, momentum, affine, track):
    cls, shape, make_pre, pre_shape = KINDS[kind]
    opts = {'numFeatures': C, 'eps': 1e-5, 'momentum': momentum, 'affine': affine, 'trackRunningStats': track}
    bn = cls(C, eps=1e-5, momentum=momentum, affine=affine, track_running_stats=track).to(dtype)
    randomize(bn, dtype)
    bn.train(training)
    state = sd_enc(bn)
    x = rn(*shape, dtype=dtype, scale=1.5, shift=0.7).requires_grad_(True)
    out = bn(x)
    R = rn(*out.shape, dtype=dtype)
    diff = [x] + ([bn.weight, bn.bias] if affine else [])
    grads = torch.autograd.grad((out * R).sum(), diff)
    rec = {
        'name': f'{kind}_{"train" if training else "eval"}_m{momentum}_{"affine" if affine else "noaffine"}_{"track" if track else "notrack"}_{str(dtype)[6:]}',
        'kind': kind, 'dtype': str(dtype)[6:], 'training': training, 'options': opts,
        'state': state, 'input': enc_in(x), 'output': enc(out), 'projection': enc_in(R),
        'grads': {'input': enc(grads[0]), 'weight': enc(grads[1]) if affine else None, 'bias': enc(grads[2]) if affine else None},
        'after': sd_enc(bn),
    }
    # K SGD steps of Sequential(pre, bn) in the case's mode
    bn2 = cls(C, eps=1e-5, momentum=momentum, affine=affine, track_running_stats=track)
    pre = make_pre()
    model = nn.Sequential(pre, bn2).to(dtype)
    with torch.no_grad():
        for p in pre.parameters():
            p.copy_(rn(*p.shape, dtype=dtype, scale=0.5))
    randomize(bn2, dtype)
    model.train(training)
    rec['modelState'] = sd_enc(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = []
    for k in range(K):
        xk = rn(*pre_shape, dtype=dtype, scale=1.2, shift=0.3 * k)
        # the output's shape: pre's kernels have size 2
        tk = rn(pre_shape[0], C, *(s - 1 for s in pre_shape[2:]), dtype=dtype)
        opt.zero_grad()
        loss = (model(xk) * tk).mean()
        loss.backward()
        opt.step()
        steps.append({'input': enc_in(xk), 'target': enc_in(tk), 'loss': loss.item(), 'buffers': {k: enc(v) for k, v in model.named_buffers()}})
    rec['steps'] = steps
    rec['final'] = sd_enc(model)
    cases.append(rec)


for dtype in (torch.float64, torch.float32):
    for kind in KINDS:
        for training in (True, False):
            for momentum in (0.1, 0.3, None):
                for affine in (True, False):
                    for track in (True, False):
                        if dtype == torch.float32 and not (training and affine and track):
                            continue
                        case(kind, dtype, training, momentum, affine, track)


# ---- a trained model for the load direction ---------------------------------------------------
def trained_model():
    return nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 3 * 3, 6), nn.BatchNorm1d(6, momentum=None), nn.Linear(6, 3))


torch.manual_seed(7)
model = trained_model()
opt = torch.optim.SGD(model.parameters(), lr=0.05)
for k in range(4):
    xk = torch.randn(5, 2, 5, 5, generator=gen) + 0.2 * k
    yk = torch.randn(5, 3, generator=gen)
    opt.zero_grad()
    ((model(xk) - yk) ** 2).mean().backward()
    opt.step()
model.eval()
x_eval = torch.randn(3, 2, 5, 5, generator=gen)
with torch.no_grad():
    y_eval = model(x_eval)
os.makedirs(OUT, exist_ok=True)
torch.save(model.state_dict(), os.path.join(OUT, 'batchnorm-trained.pt'))
trained = {'keys': list(model.state_dict().keys()), 'state': sd_enc(model), 'input': enc(x_eval), 'output': enc(y_eval)}

with open(os.path.join(OUT, 'batchnorm.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'K': K, 'cases': cases, 'trained': trained}, f, separators=(',', ':'))
print(f'wrote {len(cases)} batch-norm cases and batchnorm-trained.pt to {OUT}')
