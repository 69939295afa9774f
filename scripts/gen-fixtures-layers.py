#!/usr/bin/python3
"""Reference convolution, pooling and channel-dropout modules from PyTorch for test/33.nn.layers.test.ts.

Usage: /usr/bin/python3 scripts/gen-fixtures-layers.py
  (writes test/fixtures/torch-<line>/layers.json and layers-state.pt)

Each case builds one torch.nn module over a grid of options and records:
  - kind: the class name (Conv1d, ConvTranspose2d, MaxPool1d, AdaptiveAvgPool2d, ...);
  - args: the positional constructor arguments as torchrnn takes them (conv: in, out, kernelSize;
    pooling: kernelSize or outputSize; tuples as lists, None as null);
  - options: torchrnn's camelCase option names (snake_case for Python here);
  - repr: str(module); stateKeys: list(module.state_dict());
  - seed and init: the parameters (float32) right after torch.manual_seed(seed) + the constructor;
  - input (float64), forward: extra forward arguments (outputSize of a transposed convolution);
  - output (and indices with returnIndices), computed by the module converted to float64;
  - projection: a fixed random R of the output's shape; grads: the gradients of
    (output * R).sum() with respect to the input and every parameter (by name).
Besides the grid:
  - dropout2d: after torch.manual_seed(seed), Dropout2d(p) in training mode on ones (which
    channels PyTorch drops), and the output of a 3-D input;
  - model: a Sequential (Conv2d, ReLU, MaxPool2d, ConvTranspose2d, AvgPool2d, AdaptiveAvgPool2d,
    Dropout2d) made after torch.manual_seed(seed), its state dict saved to layers-state.pt (the
    test loads it) and its float32 output in eval mode on `input`.
Encoding: scripts/fixture_encoding.py.
"""
import copy
import json
import os

import torch
import torch.nn as nn

from fixture_encoding import OUT, enc

torch.manual_seed(0)
gen = torch.Generator().manual_seed(2024)


def rn(*shape, dtype=torch.float64):
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)


def snake(name):
    return ''.join('_' + c.lower() if c.isupper() else c for c in name)


def py(v):
    """A JSON value (lists) as Python's constructor takes it (tuples)."""
    return tuple(v) if isinstance(v, list) else v


def js(v):
    return list(v) if isinstance(v, tuple) else v


cases = []
SEED = [100]


def case(name, kind, args, input_shape, options=None, forward=None):
    options = options or {}
    seed = SEED[0]
    SEED[0] += 1
    cls = getattr(nn, kind)
    torch.manual_seed(seed)
    m = cls(*[py(a) for a in args], **{snake(k): py(v) for k, v in options.items()})
    init = {n: enc(p) for n, p in m.named_parameters()}
    m64 = copy.deepcopy(m).double()
    x = rn(*input_shape).requires_grad_(True)
    fwd = forward or {}
    if 'outputSize' in fwd:
        out = m64(x, list(fwd['outputSize']))
    else:
        out = m64(x)
    indices = None
    if isinstance(out, tuple):
        out, indices = out
    projection = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    params = list(m64.named_parameters())
    grads = torch.autograd.grad((out * projection).sum(), [x] + [p for _, p in params])
    rec = {'input': enc(grads[0])}
    for (n, _), g in zip(params, grads[1:]):
        rec[n] = enc(g)
    cases.append({
        'name': name, 'kind': kind, 'args': [js(a) for a in args], 'options': {k: js(v) for k, v in options.items()},
        'repr': str(m), 'stateKeys': list(m.state_dict().keys()), 'seed': seed, 'init': init,
        'input': enc(x), 'forward': fwd, 'output': enc(out), 'indices': enc(indices),
        'projection': enc(projection), 'grads': rec,
    })


# ---- Conv1d / Conv2d -----------------------------------------------------------------------------------
case('conv1d_default', 'Conv1d', [2, 3, 3], (2, 2, 7))
case('conv1d_stride2_pad1', 'Conv1d', [2, 4, 3], (2, 2, 8), {'stride': 2, 'padding': 1})
case('conv1d_groups2_dil2_pad2', 'Conv1d', [4, 6, 3], (2, 4, 9), {'groups': 2, 'dilation': 2, 'padding': 2})
case('conv1d_same_even_kernel', 'Conv1d', [3, 3, 2], (2, 3, 6), {'padding': 'same'})
case('conv1d_same_dil2_nobias', 'Conv1d', [3, 5, 5], (1, 3, 11), {'padding': 'same', 'dilation': 2, 'bias': False})
case('conv1d_valid_stride3', 'Conv1d', [2, 4, 4], (2, 2, 13), {'padding': 'valid', 'stride': 3})
case('conv1d_depthwise', 'Conv1d', [4, 4, 3], (2, 4, 6), {'groups': 4})
case('conv1d_pointwise', 'Conv1d', [3, 2, 1], (2, 3, 5))
case('conv1d_k5_s2_p2_nobias', 'Conv1d', [2, 3, 5], (3, 2, 10), {'stride': 2, 'padding': 2, 'bias': False})
case('conv1d_tuple_args', 'Conv1d', [2, 2, [3]], (1, 2, 9), {'stride': [2], 'padding': [1], 'dilation': [3]})
case('conv1d_unbatched', 'Conv1d', [2, 3, 3], (2, 6), {'padding': 1})
case('conv2d_default', 'Conv2d', [2, 3, 3], (2, 2, 5, 6))
case('conv2d_rect_stride_pad', 'Conv2d', [2, 4, [2, 3]], (2, 2, 7, 6), {'stride': [2, 1], 'padding': [1, 0]})
case('conv2d_groups2_dil', 'Conv2d', [4, 4, 3], (1, 4, 7, 6), {'groups': 2, 'dilation': [2, 1], 'padding': [2, 1]})
case('conv2d_same_dil', 'Conv2d', [3, 2, [3, 2]], (2, 3, 5, 6), {'padding': 'same', 'dilation': [1, 2]})
case('conv2d_valid_s2_g3_nobias', 'Conv2d', [3, 6, 3], (2, 3, 8, 7), {'padding': 'valid', 'stride': 2, 'bias': False, 'groups': 3})
case('conv2d_1x5_s13_p02', 'Conv2d', [2, 3, [1, 5]], (2, 2, 4, 11), {'stride': [1, 3], 'padding': [0, 2]})
case('conv2d_odd_all', 'Conv2d', [6, 4, [3, 5]], (2, 6, 9, 10), {'stride': [3, 2], 'padding': [1, 2], 'dilation': [2, 1], 'groups': 2})
case('conv2d_unbatched', 'Conv2d', [2, 3, 2], (2, 4, 5))

# ---- ConvTranspose1d / ConvTranspose2d --------------------------------------------------------------------
case('convt1d_default', 'ConvTranspose1d', [2, 3, 3], (2, 2, 5))
case('convt1d_s2_p1_op1', 'ConvTranspose1d', [2, 4, 3], (2, 2, 5), {'stride': 2, 'padding': 1, 'outputPadding': 1})
case('convt1d_g2_dil2_s3_op2', 'ConvTranspose1d', [4, 6, 3], (2, 4, 4), {'groups': 2, 'dilation': 2, 'stride': 3, 'outputPadding': 2})
case('convt1d_k4_s2_p1_nobias', 'ConvTranspose1d', [3, 2, 4], (1, 3, 6), {'stride': 2, 'padding': 1, 'bias': False})
case('convt1d_output_size', 'ConvTranspose1d', [2, 3, 3], (2, 2, 5), {'stride': 2, 'padding': 1}, {'outputSize': [10]})
case('convt1d_op_dilation', 'ConvTranspose1d', [2, 2, 2], (2, 2, 4), {'dilation': 3, 'outputPadding': 2})
case('convt1d_unbatched', 'ConvTranspose1d', [2, 3, 3], (2, 5), {'stride': 2})
case('convt2d_default', 'ConvTranspose2d', [2, 3, 3], (2, 2, 4, 5))
case('convt2d_rect_s23_op12', 'ConvTranspose2d', [2, 4, [3, 2]], (2, 2, 3, 4), {'stride': [2, 3], 'padding': [1, 0], 'outputPadding': [1, 2]})
case('convt2d_depthwise_dil2_s2', 'ConvTranspose2d', [4, 4, 3], (1, 4, 3, 3), {'groups': 4, 'dilation': 2, 'stride': 2, 'outputPadding': 1})
case('convt2d_g3_nobias', 'ConvTranspose2d', [3, 6, [2, 3]], (2, 3, 4, 3), {'groups': 3, 'stride': [1, 2], 'padding': [0, 1], 'bias': False, 'dilation': [2, 1]})
case('convt2d_output_size_full', 'ConvTranspose2d', [2, 2, 3], (1, 2, 4, 4), {'stride': 2, 'padding': 1}, {'outputSize': [1, 2, 8, 7]})
case('convt2d_output_size_spatial', 'ConvTranspose2d', [2, 3, [3, 2]], (2, 2, 3, 3), {'stride': [3, 2]}, {'outputSize': [9, 7]})
case('convt2d_unbatched', 'ConvTranspose2d', [3, 2, 2], (3, 3, 4), {'stride': 2, 'padding': [0, 1]})

# ---- MaxPool1d / MaxPool2d -------------------------------------------------------------------------------
case('maxpool1d_default', 'MaxPool1d', [3], (2, 3, 10))
case('maxpool1d_s2_p1', 'MaxPool1d', [3], (2, 2, 9), {'stride': 2, 'padding': 1})
case('maxpool1d_dil2', 'MaxPool1d', [2], (2, 2, 9), {'stride': 1, 'dilation': 2})
case('maxpool1d_ceil', 'MaxPool1d', [3], (2, 2, 10), {'stride': 2, 'ceilMode': True})
case('maxpool1d_indices_ceil_pad', 'MaxPool1d', [4], (2, 2, 11), {'stride': 3, 'padding': 2, 'ceilMode': True, 'returnIndices': True})
case('maxpool1d_tuple_unbatched', 'MaxPool1d', [[2]], (3, 8), {'stride': [2]})
case('maxpool2d_default', 'MaxPool2d', [2], (2, 3, 6, 7))
case('maxpool2d_rect_pad', 'MaxPool2d', [[3, 2]], (2, 2, 7, 6), {'stride': [2, 1], 'padding': [1, 0]})
case('maxpool2d_dil2_ceil', 'MaxPool2d', [3], (1, 2, 10, 9), {'stride': 2, 'padding': 1, 'dilation': 2, 'ceilMode': True})
case('maxpool2d_indices', 'MaxPool2d', [2], (2, 2, 5, 4), {'returnIndices': True})
case('maxpool2d_indices_ceil', 'MaxPool2d', [[2, 3]], (1, 3, 7, 8), {'stride': 2, 'ceilMode': True, 'returnIndices': True})
case('maxpool2d_unbatched', 'MaxPool2d', [3], (2, 7, 7), {'stride': 2, 'padding': 1})

# ---- AvgPool1d / AvgPool2d -------------------------------------------------------------------------------
case('avgpool1d_default', 'AvgPool1d', [3], (2, 3, 10))
case('avgpool1d_pad_exclude', 'AvgPool1d', [3], (2, 2, 9), {'stride': 2, 'padding': 1, 'countIncludePad': False})
case('avgpool1d_ceil_pad', 'AvgPool1d', [4], (2, 2, 11), {'stride': 3, 'padding': 2, 'ceilMode': True})
case('avgpool1d_ceil_exclude', 'AvgPool1d', [2], (2, 2, 7), {'stride': 2, 'padding': 1, 'ceilMode': True, 'countIncludePad': False})
case('avgpool1d_unbatched', 'AvgPool1d', [[3]], (2, 8), {'stride': [1]})
case('avgpool2d_default', 'AvgPool2d', [2], (2, 3, 6, 7))
case('avgpool2d_rect_exclude', 'AvgPool2d', [[3, 2]], (2, 2, 7, 6), {'stride': [2, 1], 'padding': [1, 1], 'countIncludePad': False})
case('avgpool2d_ceil_pad', 'AvgPool2d', [3], (1, 2, 8, 9), {'stride': 2, 'padding': 1, 'ceilMode': True})
case('avgpool2d_divisor', 'AvgPool2d', [3], (2, 2, 7, 7), {'stride': 2, 'padding': 1, 'divisorOverride': 5})
case('avgpool2d_all', 'AvgPool2d', [[2, 3]], (1, 3, 7, 8), {'stride': 2, 'ceilMode': True, 'countIncludePad': False, 'divisorOverride': 2})
case('avgpool2d_unbatched', 'AvgPool2d', [2], (2, 5, 6), {'stride': 1})

# ---- AdaptiveAvgPool1d / AdaptiveAvgPool2d ---------------------------------------------------------------
case('adaptive1d_3_of_7', 'AdaptiveAvgPool1d', [3], (2, 3, 7))
case('adaptive1d_same', 'AdaptiveAvgPool1d', [5], (2, 2, 5))
case('adaptive1d_tuple_4_of_10', 'AdaptiveAvgPool1d', [[4]], (2, 2, 10))
case('adaptive1d_global', 'AdaptiveAvgPool1d', [1], (2, 3, 6))
case('adaptive1d_upsample', 'AdaptiveAvgPool1d', [7], (1, 2, 4))
case('adaptive2d_3x5_of_7x8', 'AdaptiveAvgPool2d', [[3, 5]], (2, 2, 7, 8))
case('adaptive2d_4_of_9', 'AdaptiveAvgPool2d', [4], (2, 2, 9, 9))
case('adaptive2d_none_3', 'AdaptiveAvgPool2d', [[None, 3]], (2, 2, 5, 7))
case('adaptive2d_2_none', 'AdaptiveAvgPool2d', [[2, None]], (1, 3, 5, 7))
case('adaptive2d_global', 'AdaptiveAvgPool2d', [1], (2, 3, 4, 5))
case('adaptive2d_unbatched', 'AdaptiveAvgPool2d', [[3, 2]], (2, 7, 5))

# ---- Dropout2d: which channels PyTorch drops after manual_seed ------------------------------------------
dropout = []
for seed, p, shape in ((7, 0.4, (3, 5, 2, 3)), (8, 0.5, (2, 6, 4)), (9, 0.25, (2, 3, 3, 3))):
    torch.manual_seed(seed)
    d = nn.Dropout2d(p)
    with torch.no_grad():
        y = d(torch.ones(shape))
    dropout.append({'seed': seed, 'p': p, 'shape': list(shape), 'output': enc(y), 'repr': str(d)})

# ---- a model: its state dict as a .pt file, its output --------------------------------------------------
MODEL_SEED = 31
torch.manual_seed(MODEL_SEED)
model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1),
                      nn.AvgPool2d(2), nn.AdaptiveAvgPool2d((None, 3)), nn.Dropout2d(0.3))
model.eval()
mx = rn(2, 3, 8, 8, dtype=torch.float32)
with torch.no_grad():
    my = model(mx)
os.makedirs(OUT, exist_ok=True)
torch.save(model.state_dict(), os.path.join(OUT, 'layers-state.pt'))
model_rec = {'seed': MODEL_SEED, 'input': enc(mx), 'output': enc(my), 'stateKeys': list(model.state_dict().keys()), 'repr': str(model)}

with open(os.path.join(OUT, 'layers.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases, 'dropout2d': dropout, 'model': model_rec}, f, separators=(',', ':'))
print(f'wrote {len(cases)} layer cases to {OUT}/layers.json and the model state to {OUT}/layers-state.pt')
