#!/usr/bin/python3
"""Writes the PyTorch reference fixtures that the tests compare against.

Run with Debian's Python (python3-torch, the same libtorch the addon links: 1.13.1 on Debian 12,
2.6.0 on Debian 13); it writes test/fixtures/torch-<line>/ for the line it runs on:
    /usr/bin/python3 scripts/gen-fixtures.py      (npm run fixtures runs every generator)
Fixtures are committed, so CI does not need Python. Each case records its inputs, outputs
and the gradients of the inputs for a fixed random output gradient (a vector-Jacobian
product, torch.autograd.grad(outputs, inputs, grad_outputs)).
"""
import json
import math
import os

import torch

from fixture_encoding import NAMES, OUT, enc, num  # noqa: F401 (shared with the other generators)



gen = torch.Generator().manual_seed(1234)


def rn(*shape, dtype=torch.float32, grad=True, positive=False):
    t = torch.randn(*shape, generator=gen, dtype=torch.float64)
    if positive:
        t = t.abs() + 0.1
    return t.to(dtype).requires_grad_(grad and dtype.is_floating_point)


def ri(low, high, *shape, dtype=torch.int64):
    return torch.randint(low, high, shape, generator=gen, dtype=dtype)


cases = []


def case(name, fn, *inputs):
    ins = [t.detach().clone().requires_grad_(t.requires_grad) for t in inputs]
    out = fn(*ins)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    rec = {'name': name, 'inputs': [dict(enc(t), grad=t.requires_grad) for t in ins], 'outputs': [enc(o) for o in outs]}
    diff_outs = [o for o in outs if o.requires_grad]
    diff_ins = [t for t in ins if t.requires_grad]
    if diff_outs and diff_ins:
        gos = [torch.randn(o.shape, generator=gen, dtype=torch.float64).to(o.dtype) for o in diff_outs]
        grads = torch.autograd.grad(diff_outs, diff_ins, grad_outputs=gos, allow_unused=True)
        rec['gradOutputs'] = [enc(g) if o.requires_grad else None for o, g in zip(outs, iter_gos(outs, gos))]
        it = iter(grads)
        rec['grads'] = [enc(next(it)) if t.requires_grad else None for t in ins]
    cases.append(rec)


def iter_gos(outs, gos):
    it = iter(gos)
    return [next(it) if o.requires_grad else None for o in outs]


for dt, sfx in ((torch.float32, ''), (torch.float64, '_f64')):
    a, b = rn(3, 4, dtype=dt), rn(3, 4, dtype=dt)
    case('add' + sfx, lambda x, y: x + y, a, b)
    case('add_alpha' + sfx, lambda x, y: torch.add(x, y, alpha=2.5), a, b)
    case('add_scalar' + sfx, lambda x: x + 1.5, a)
    case('add_broadcast' + sfx, lambda x, y: x + y, rn(3, 1, dtype=dt), rn(1, 4, dtype=dt))
    case('sub' + sfx, lambda x, y: torch.sub(x, y, alpha=0.5), a, b)
    case('sub_scalar' + sfx, lambda x: x - 2, a)
    case('mul' + sfx, lambda x, y: x * y, a, b)
    case('mul_scalar' + sfx, lambda x: x * 3, a)
    case('div' + sfx, lambda x, y: x / y, a, rn(3, 4, dtype=dt, positive=True))
    case('div_scalar' + sfx, lambda x: x / 4, a)
    case('div_floor' + sfx, lambda x, y: torch.div(x, y, rounding_mode='floor'), a, rn(3, 4, dtype=dt, positive=True))
    case('div_trunc' + sfx, lambda x: torch.div(x, 0.3, rounding_mode='trunc'), a)
    case('neg' + sfx, lambda x: -x, a)
    case('pow' + sfx, lambda x, y: x.pow(y), rn(3, 4, dtype=dt, positive=True), b)
    case('pow_scalar' + sfx, lambda x: x.pow(3), a)
    case('sqrt' + sfx, lambda x: x.sqrt(), rn(3, 4, dtype=dt, positive=True))
    case('exp' + sfx, lambda x: x.exp(), a)
    case('log' + sfx, lambda x: x.log(), rn(3, 4, dtype=dt, positive=True))
    case('abs' + sfx, lambda x: x.abs(), a)
    case('clamp' + sfx, lambda x: x.clamp(-0.5, 0.5), a)
    case('clamp_min' + sfx, lambda x: x.clamp(min=0.1), a)
    case('clamp_tensor' + sfx, lambda x, lo, hi: x.clamp(lo, hi), a, rn(3, 4, dtype=dt), rn(3, 4, dtype=dt) + 1)
    case('matmul' + sfx, lambda x, y: x.matmul(y), rn(2, 3, dtype=dt), rn(3, 4, dtype=dt))
    case('matmul_batched' + sfx, lambda x, y: x.matmul(y), rn(2, 2, 3, dtype=dt), rn(3, 5, dtype=dt))
    case('matmul_vec' + sfx, lambda x, y: x.matmul(y), rn(4, 3, dtype=dt), rn(3, dtype=dt))
    case('mm' + sfx, lambda x, y: x.mm(y), rn(2, 3, dtype=dt), rn(3, 4, dtype=dt))
    case('bmm' + sfx, lambda x, y: x.bmm(y), rn(2, 2, 3, dtype=dt), rn(2, 3, 4, dtype=dt))
    c = rn(2, 3, 4, dtype=dt)
    case('sum' + sfx, lambda x: x.sum(), c)
    case('sum_dim' + sfx, lambda x: x.sum(1), c)
    case('sum_dims_keepdim' + sfx, lambda x: x.sum([0, 2], keepdim=True), c)
    case('mean' + sfx, lambda x: x.mean(), c)
    case('mean_dim' + sfx, lambda x: x.mean(-1), c)
    case('max_all' + sfx, lambda x: x.max(), c)
    case('max_dim' + sfx, lambda x: tuple(x.max(1)), c)
    case('max_dim_keepdim' + sfx, lambda x: tuple(x.max(2, keepdim=True)), c)
    case('min_all' + sfx, lambda x: x.min(), c)
    case('min_dim' + sfx, lambda x: tuple(x.min(0)), c)
    case('maximum' + sfx, lambda x, y: x.max(y), a, b)
    case('minimum' + sfx, lambda x, y: x.min(y), a, b)
    case('argmax' + sfx, lambda x: x.argmax(), c)
    case('argmax_dim' + sfx, lambda x: x.argmax(1), c)
    case('argmin_dim_keepdim' + sfx, lambda x: x.argmin(2, keepdim=True), c)
    case('softmax' + sfx, lambda x: x.softmax(1), c)
    case('log_softmax' + sfx, lambda x: x.log_softmax(-1), c)
    case('tanh' + sfx, lambda x: x.tanh(), a)
    case('sigmoid' + sfx, lambda x: x.sigmoid(), a)
    case('relu' + sfx, lambda x: x.relu(), a)
    case('gelu' + sfx, lambda x: torch.nn.functional.gelu(x), a)
    case('gelu_tanh' + sfx, lambda x: torch.nn.functional.gelu(x, approximate='tanh'), a)
    for cmp in ('eq', 'ne', 'gt', 'lt', 'ge', 'le'):
        x = rn(3, 4, dtype=dt, grad=False).round()
        y = rn(3, 4, dtype=dt, grad=False).round()
        case(cmp + sfx, lambda p, q, cmp=cmp: getattr(p, cmp)(q), x, y)
        case(cmp + '_scalar' + sfx, lambda p, cmp=cmp: getattr(p, cmp)(0), x)
    case('where' + sfx, lambda cnd, x, y: torch.where(cnd, x, y), a.detach() > 0, a, b)
    case('where_scalar' + sfx, lambda cnd, x: torch.where(cnd, x, torch.tensor(0.0, dtype=dt)), a.detach() > 0, a)
    case('reshape' + sfx, lambda x: x.reshape(4, -1), c)
    case('view' + sfx, lambda x: x.view(6, 4), c)
    case('flatten' + sfx, lambda x: x.flatten(), c)
    case('flatten_range' + sfx, lambda x: x.flatten(1, 2), c)
    case('squeeze' + sfx, lambda x: x.squeeze(), rn(3, 1, 4, 1, dtype=dt))
    case('squeeze_dim' + sfx, lambda x: x.squeeze(1), rn(3, 1, 4, 1, dtype=dt))
    case('unsqueeze' + sfx, lambda x: x.unsqueeze(1), a)
    case('unsqueeze_neg' + sfx, lambda x: x.unsqueeze(-1), a)
    case('transpose' + sfx, lambda x: x.transpose(0, 2), c)
    case('permute' + sfx, lambda x: x.permute(2, 0, 1), c)
    case('contiguous' + sfx, lambda x: x.transpose(0, 1).contiguous(), a)
    case('expand' + sfx, lambda x: x.expand(2, 3, 4), rn(3, 1, dtype=dt))
    case('cat' + sfx, lambda x, y: torch.cat([x, y], 1), a, b)
    case('stack' + sfx, lambda x, y: torch.stack([x, y], 1), a, b)
    case('split' + sfx, lambda x: x.split(2, 1), c)
    case('split_sizes' + sfx, lambda x: x.split([1, 3], 2), c)
    case('chunk' + sfx, lambda x: x.chunk(3, 1), c)
    case('select' + sfx, lambda x: x.select(1, -1), c)
    case('slice' + sfx, lambda x: x[:, 1:3], c)
    case('slice_step' + sfx, lambda x: x[..., ::2], c)
    case('narrow' + sfx, lambda x: x.narrow(2, 1, 2), c)
    case('index_mixed' + sfx, lambda x, i: x[0, 1:, i], c, torch.tensor([3, 0, 3]))
    case('index_none_ellipsis' + sfx, lambda x: x[None, ..., 1], c)
    case('index_bool' + sfx, lambda x, m: x[m], a, a.detach() > 0)
    case('index_select' + sfx, lambda x, i: x.index_select(1, i), c, torch.tensor([2, 0, 2]))
    case('gather' + sfx, lambda x, i: x.gather(2, i), c, ri(0, 4, 2, 3, 2))
    case('masked_fill' + sfx, lambda x, m: x.masked_fill(m, -1.5), a, a.detach() > 0.5)
    case('to_other' + sfx, lambda x: x.to(torch.float64 if dt == torch.float32 else torch.float32), a)
    case('clone' + sfx, lambda x: x.clone(), a)

i1, i2 = ri(-5, 5, 3, 4), ri(1, 5, 3, 4)
case('int_add', lambda x, y: x + y, i1, i2)
case('int_add_scalar', lambda x: x + 2, i1)
case('int_add_float_scalar', lambda x: x + 2.5, i1)
case('int_mul_float', lambda x, y: x * y, i1, rn(3, 4))
case('int_div', lambda x, y: x / y, i1, i2)
case('int_div_floor', lambda x, y: torch.div(x, y, rounding_mode='floor'), i1, i2)
case('int_sum', lambda x: x.sum(), i1)
case('int_mean_float64', lambda x: x.to(torch.float64).mean(), i1)
case('int32_add', lambda x, y: x + y, ri(-5, 5, 4, dtype=torch.int32), ri(-5, 5, 4, dtype=torch.int32))
case('int_pow', lambda x: x.pow(2), i1)
case('int_neg_abs', lambda x: x.neg().abs(), i1)
case('sum_dtype', lambda x: x.sum(dtype=torch.float64), rn(3, 4))
case('bool_sum', lambda m: m.sum(), rn(3, 4, grad=False) > 0)
case('add_inplace', lambda x, y: x.clone().add_(y, alpha=2), rn(3, 4, grad=False), rn(3, 4, grad=False))
case('mul_inplace_scalar', lambda x: x.clone().mul_(3), rn(3, 4, grad=False))
case('zero_inplace', lambda x: x.clone().zero_(), rn(3, 4, grad=False))
case('fill_inplace', lambda x: x.clone().fill_(2.5), rn(3, 4, grad=False))
case('copy_inplace', lambda x, y: x.clone().copy_(y), rn(3, 4, grad=False), rn(1, 4, grad=False))
case('chain_grad', lambda x, w, b: (x.matmul(w) + b).tanh().softmax(-1).log().mean(0), rn(5, 3), rn(3, 4), rn(4))

# Printing: str(t) for a spread of shapes, dtypes and magnitudes.
prints = []


def pr(name, t, grad=False):
    prints.append(dict(enc(t), name=name, grad=grad, str=str(t.requires_grad_(grad) if grad else t)))


pr('scalar', torch.tensor(3.5))
pr('int_scalar', torch.tensor(7))
pr('floats', torch.tensor([1.5, -2.25, 3.0]))
pr('ints_as_float', torch.tensor([1.0, 2.0, 30.0]))
pr('sci_small', torch.tensor([1e-5, 1.0, 1000.0]))
pr('sci_big', torch.tensor([1e9, 2.0]))
pr('int_big_ratio', torch.tensor([1.0, 2000.0]))
pr('matrix', torch.randn(3, 4, generator=gen))
pr('cube', torch.randn(2, 3, 2, generator=gen))
pr('f64', torch.randn(2, 2, generator=gen, dtype=torch.float64))
pr('int64', torch.arange(12).reshape(3, 4))
pr('int32_neg', torch.tensor([-3, 10, 200], dtype=torch.int32))
pr('bools', torch.tensor([[True, False], [False, True]]))
pr('uint8', torch.tensor([0, 255, 7], dtype=torch.uint8))
pr('empty', torch.zeros(0))
pr('empty_2d', torch.zeros(0, 3))
pr('empty_int', torch.zeros(0, dtype=torch.int64))
pr('summarized_vec', torch.arange(2000.0))
pr('summarized_mat', torch.randn(50, 40, generator=gen))
pr('long_row', torch.randn(30, generator=gen))
pr('zeros', torch.zeros(2, 3))
pr('nonfinite', torch.tensor([float('nan'), float('inf'), -float('inf'), 1.5]))
pr('requires_grad', torch.randn(2, 2, generator=gen), grad=True)
pr('neg_zero', torch.tensor([-0.0, 1.0]))
pr('half', torch.tensor([1.5, 2.25, -3.0], dtype=torch.float16))

# Random streams: after torch.manual_seed(s) the same calls give these numbers.
torch.manual_seed(42)
random = {'seed': 42, 'randn': enc(torch.randn(2, 3)), 'rand': enc(torch.rand(4)), 'randint': enc(torch.randint(0, 10, (5,))),
          'randn_f64': enc(torch.randn(3, dtype=torch.float64))}

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, 'tensor-ops.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases, 'prints': prints, 'random': random}, f, separators=(',', ':'))
print(f'wrote {len(cases)} op cases, {len(prints)} print cases to {OUT}/tensor-ops.json')

# ---- nn: recurrent modules, cells and layers -------------------------------------------------
# Each case: the module's constructor options (torchrnn's camelCase names), its state dict,
# the inputs, the outputs, and the gradients of the inputs and of every parameter for
# loss = sum_i (output_i * R_i).sum() with fixed random projections R_i.
nn_cases = []


def module_case(name, kind, opts, module, inputs, run, dtype=torch.float32):
    module = module.to(dtype)
    module.eval() if opts.get('_eval', True) else module.train()
    ins = {k: (v.to(dtype).requires_grad_(True) if v is not None and v.dtype.is_floating_point else v) for k, v in inputs.items()}
    outs = run(module, ins)
    projs = [torch.randn(o.shape, generator=gen, dtype=torch.float64).to(dtype) for o in outs]
    loss = sum((o * r).sum() for o, r in zip(outs, projs))
    diff_ins = [k for k, v in ins.items() if v is not None and v.requires_grad]
    params = list(module.named_parameters())
    grads = torch.autograd.grad(loss, [ins[k] for k in diff_ins] + [p for _, p in params], allow_unused=True)
    nn_cases.append({
        'name': name, 'kind': kind, 'dtype': NAMES[dtype],
        'options': {k: v for k, v in opts.items() if not k.startswith('_')},
        'stateDict': {k: enc(v) for k, v in module.state_dict().items()},
        'inputs': {k: enc(v) for k, v in ins.items() if v is not None},
        'outputs': [enc(o) for o in outs],
        'projections': [enc(r) for r in projs],
        'inputGrads': {k: enc(g) for k, g in zip(diff_ins, grads[:len(diff_ins)])},
        'paramGrads': {n: enc(g) for (n, _), g in zip(params, grads[len(diff_ins):])},
        # training mode with a random forward (dropout): torch.manual_seed(forwardSeed) right
        # before the module's call
        **({'training': True, 'forwardSeed': opts['_forwardSeed']} if '_forwardSeed' in opts else {}),
    })


I_, H_, T_, B_ = 3, 5, 6, 3
CTOR = {'rnn': torch.nn.RNN, 'lstm': torch.nn.LSTM, 'gru': torch.nn.GRU}


def py_opts(o):
    m = {'inputSize': 'input_size', 'hiddenSize': 'hidden_size', 'numLayers': 'num_layers', 'bias': 'bias',
         'batchFirst': 'batch_first', 'dropout': 'dropout', 'bidirectional': 'bidirectional',
         'nonlinearity': 'nonlinearity', 'projSize': 'proj_size'}
    return {m[k]: v for k, v in o.items() if not k.startswith('_')}


def recurrent(name, kind, dtype=torch.float32, h0=False, lengths=None, unbatched=False, **o):
    opts = dict(inputSize=I_, hiddenSize=H_, **o)
    module = CTOR[kind](**py_opts(opts))
    layers = opts.get('numLayers', 1) * (2 if opts.get('bidirectional') else 1)
    out_size = opts.get('projSize') or H_
    bf = opts.get('batchFirst', False)
    shape = (T_, I_) if unbatched else ((B_, T_, I_) if bf else (T_, B_, I_))
    inputs = {'input': torch.randn(*shape, generator=gen)}
    sshape = (layers,) if unbatched else (layers, B_)
    if h0:
        inputs['h0'] = torch.randn(*sshape, out_size, generator=gen)
        if kind == 'lstm':
            inputs['c0'] = torch.randn(*sshape, H_, generator=gen)
    if lengths is not None:
        inputs['lengths'] = torch.tensor(lengths)

    def run(m, ins):
        x = ins['input']
        hx = None
        if 'h0' in ins:
            hx = (ins['h0'], ins['c0']) if kind == 'lstm' else ins['h0']
        if '_forwardSeed' in opts:
            torch.manual_seed(opts['_forwardSeed'])
        if 'lengths' in ins:
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, ins['lengths'], batch_first=bf, enforce_sorted=False)
            out, state = m(packed, hx)
            out = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=bf)[0]
        else:
            out, state = m(x, hx)
        return [out, *state] if kind == 'lstm' else [out, state]
    module_case(name, kind, opts, module, inputs, run, dtype)


for kind, extra in (('rnn', {'nonlinearity': 'tanh'}), ('rnn', {'nonlinearity': 'relu'}), ('lstm', {}), ('gru', {})):
    tag = kind + ('_' + extra['nonlinearity'] if extra else '')
    for layers in (1, 2, 3):
        for bidi in (False, True):
            for bf in (False, True):
                recurrent(f'{tag}_l{layers}_{"bi" if bidi else "uni"}_{"bf" if bf else "sf"}', kind,
                          numLayers=layers, bidirectional=bidi, batchFirst=bf, **extra)
    recurrent(f'{tag}_nobias', kind, numLayers=2, bidirectional=True, bias=False, **extra)
    recurrent(f'{tag}_h0', kind, h0=True, numLayers=2, bidirectional=True, batchFirst=True, **extra)
    recurrent(f'{tag}_dropout_eval', kind, numLayers=3, dropout=0.3, **extra)
    recurrent(f'{tag}_lengths', kind, lengths=[4, 6, 2], **extra)
    recurrent(f'{tag}_lengths_bi_bf', kind, lengths=[6, 1, 3], numLayers=2, bidirectional=True, batchFirst=True, **extra)
    recurrent(f'{tag}_lengths_h0', kind, h0=True, lengths=[2, 5, 6], numLayers=2, bidirectional=True, **extra)
    recurrent(f'{tag}_unbatched', kind, unbatched=True, numLayers=2, **extra)
    recurrent(f'{tag}_unbatched_h0', kind, unbatched=True, h0=True, bidirectional=True, batchFirst=True, **extra)
    recurrent(f'{tag}_f64', kind, torch.float64, h0=True, lengths=[3, 6, 5], numLayers=2, bidirectional=True, **extra)
    recurrent(f'{tag}_f64_bf', kind, torch.float64, numLayers=3, batchFirst=True, **extra)
for bidi in (False, True):
    recurrent(f'lstm_proj_{"bi" if bidi else "uni"}', 'lstm', projSize=3, numLayers=2, bidirectional=bidi)
recurrent('lstm_proj_h0_lengths', 'lstm', projSize=2, h0=True, lengths=[5, 6, 1], numLayers=2, batchFirst=True)
recurrent('lstm_proj_f64', 'lstm', torch.float64, projSize=4, h0=True, bidirectional=True)
# projSize on the fused layers (issue 25): their inputs, weights and projections come from a
# generator and a global seed of their own, and the global random state is put back after them,
# so the cases before and after them keep their values.
saved_gen, saved_rng = gen, torch.get_rng_state()
gen = torch.Generator().manual_seed(2525)
torch.manual_seed(2525)
recurrent('lstm_proj_l3_uni_bf', 'lstm', projSize=3, h0=True, numLayers=3, batchFirst=True)
recurrent('lstm_proj_nobias', 'lstm', projSize=2, numLayers=2, bidirectional=True, bias=False)
recurrent('lstm_proj_lengths_bi', 'lstm', projSize=3, lengths=[6, 2, 4], numLayers=2, bidirectional=True)
recurrent('lstm_proj_lengths_nobias_bf', 'lstm', projSize=1, h0=True, lengths=[3, 3, 6], batchFirst=True, bias=False)
recurrent('lstm_proj_unbatched_h0', 'lstm', projSize=2, unbatched=True, h0=True, bidirectional=True)
gen = saved_gen
torch.set_rng_state(saved_rng)

CELLS = {'rnn': torch.nn.RNNCell, 'lstm': torch.nn.LSTMCell, 'gru': torch.nn.GRUCell}


def cell(name, kind, dtype=torch.float32, state=False, unbatched=False, **o):
    opts = dict(inputSize=I_, hiddenSize=H_, **o)
    module = CELLS[kind](**py_opts(opts))
    shape = (I_,) if unbatched else (B_, I_)
    sshape = (H_,) if unbatched else (B_, H_)
    inputs = {'input': torch.randn(*shape, generator=gen)}
    if state:
        inputs['h0'] = torch.randn(*sshape, generator=gen)
        if kind == 'lstm':
            inputs['c0'] = torch.randn(*sshape, generator=gen)

    def run(m, ins):
        hx = None
        if 'h0' in ins:
            hx = (ins['h0'], ins['c0']) if kind == 'lstm' else ins['h0']
        r = m(ins['input'], hx)
        return list(r) if kind == 'lstm' else [r]
    module_case(name, kind + 'Cell', opts, module, inputs, run, dtype)


for kind, extra in (('rnn', {'nonlinearity': 'tanh'}), ('rnn', {'nonlinearity': 'relu'}), ('lstm', {}), ('gru', {})):
    tag = kind + 'cell' + ('_' + extra['nonlinearity'] if extra else '')
    cell(tag, kind, **extra)
    cell(tag + '_state', kind, state=True, **extra)
    cell(tag + '_nobias', kind, bias=False, state=True, **extra)
    cell(tag + '_unbatched', kind, unbatched=True, state=True, **extra)
    cell(tag + '_f64', kind, torch.float64, state=True, **extra)


def layer(name, kind, opts, module, x, dtype=torch.float32):
    module_case(name, kind, opts, module, {'input': x}, lambda m, ins: [m(ins['input'])], dtype)


layer('linear', 'linear', {'inFeatures': 4, 'outFeatures': 3}, torch.nn.Linear(4, 3), torch.randn(2, 5, 4, generator=gen))
layer('linear_nobias', 'linear', {'inFeatures': 4, 'outFeatures': 3, 'bias': False}, torch.nn.Linear(4, 3, bias=False), torch.randn(5, 4, generator=gen))
layer('linear_f64', 'linear', {'inFeatures': 4, 'outFeatures': 3}, torch.nn.Linear(4, 3), torch.randn(5, 4, generator=gen), torch.float64)
layer('embedding', 'embedding', {'numEmbeddings': 10, 'embeddingDim': 4}, torch.nn.Embedding(10, 4), torch.tensor([[1, 2, 1], [9, 0, 2]]))
layer('embedding_padding', 'embedding', {'numEmbeddings': 10, 'embeddingDim': 4, 'paddingIdx': 0}, torch.nn.Embedding(10, 4, padding_idx=0), torch.tensor([[0, 2, 0], [3, 0, 2]]))
layer('layernorm', 'layerNorm', {'normalizedShape': [4]}, torch.nn.LayerNorm(4), torch.randn(3, 4, generator=gen))
layer('layernorm_2d_noaffine', 'layerNorm', {'normalizedShape': [3, 4], 'elementwiseAffine': False, 'eps': 1e-3}, torch.nn.LayerNorm([3, 4], eps=1e-3, elementwise_affine=False), torch.randn(2, 3, 4, generator=gen))
layer('dropout_eval', 'dropout', {'p': 0.5}, torch.nn.Dropout(0.5), torch.randn(3, 4, generator=gen))
layer('sequential', 'sequential', {}, torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.LayerNorm(6), torch.nn.Dropout(0.2), torch.nn.Linear(6, 2)), torch.randn(5, 4, generator=gen))

# Dropout between layers in training mode: the mask is drawn from the global generator after
# torch.manual_seed(forwardSeed). Their own generator, so that the cases above and the
# fixtures below keep their numbers.
gen_saved, gen = gen, torch.Generator().manual_seed(2612)
for kind, extra in (('rnn', {'nonlinearity': 'tanh'}), ('rnn', {'nonlinearity': 'relu'}), ('lstm', {}), ('gru', {})):
    tag = kind + ('_' + extra['nonlinearity'] if extra else '')
    recurrent(f'{tag}_dropout_train_uni_bf', kind, numLayers=3, dropout=0.4, batchFirst=True, _eval=False, _forwardSeed=31, **extra)
    recurrent(f'{tag}_dropout_train_bi_bf_h0', kind, h0=True, numLayers=2, dropout=0.5, bidirectional=True, batchFirst=True,
              _eval=False, _forwardSeed=32, **extra)
    recurrent(f'{tag}_dropout_train_lengths_bi', kind, lengths=[4, 6, 2], numLayers=2, dropout=0.3, bidirectional=True,
              _eval=False, _forwardSeed=33, **extra)
gen = gen_saved

# Initialization: after torch.manual_seed(s), constructing a module gives these parameters.
inits = []
for i, (kind, opts, ctor) in enumerate([
    ('lstm', {'inputSize': 3, 'hiddenSize': 5, 'numLayers': 2, 'bidirectional': True}, lambda: torch.nn.LSTM(3, 5, num_layers=2, bidirectional=True)),
    ('lstm', {'inputSize': 3, 'hiddenSize': 5, 'projSize': 2}, lambda: torch.nn.LSTM(3, 5, proj_size=2)),
    ('gru', {'inputSize': 4, 'hiddenSize': 3, 'numLayers': 2}, lambda: torch.nn.GRU(4, 3, num_layers=2)),
    ('rnn', {'inputSize': 4, 'hiddenSize': 3, 'nonlinearity': 'relu', 'bias': False}, lambda: torch.nn.RNN(4, 3, nonlinearity='relu', bias=False)),
    ('lstmCell', {'inputSize': 3, 'hiddenSize': 4}, lambda: torch.nn.LSTMCell(3, 4)),
    ('gruCell', {'inputSize': 3, 'hiddenSize': 4}, lambda: torch.nn.GRUCell(3, 4)),
    ('rnnCell', {'inputSize': 3, 'hiddenSize': 4}, lambda: torch.nn.RNNCell(3, 4)),
    ('linear', {'inFeatures': 6, 'outFeatures': 4}, lambda: torch.nn.Linear(6, 4)),
    ('embedding', {'numEmbeddings': 7, 'embeddingDim': 3, 'paddingIdx': 2}, lambda: torch.nn.Embedding(7, 3, padding_idx=2)),
    ('layerNorm', {'normalizedShape': [5]}, lambda: torch.nn.LayerNorm(5)),
]):
    torch.manual_seed(100 + i)
    inits.append({'kind': kind, 'options': opts, 'seed': 100 + i, 'stateDict': {k: enc(v) for k, v in ctor().state_dict().items()}})

with open(os.path.join(OUT, 'nn.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': nn_cases, 'inits': inits}, f, separators=(',', ':'))
print(f'wrote {len(nn_cases)} module cases, {len(inits)} init cases to {OUT}/nn.json')

# ---- optim: 50 steps of each optimizer on a small LSTM model ---------------------------------
class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 5, num_layers=2)
        self.head = torch.nn.Linear(5, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[-1])


torch.manual_seed(7)
base = Model()
init_state = {k: v.clone() for k, v in base.state_dict().items()}
batches = [(torch.randn(6, 4, 3, generator=gen), torch.randn(4, 2, generator=gen)) for _ in range(5)]
OPTS = {'SGD': torch.optim.SGD, 'Adam': torch.optim.Adam, 'AdamW': torch.optim.AdamW, 'RMSprop': torch.optim.RMSprop, 'Adagrad': torch.optim.Adagrad}
PY = {'lr': 'lr', 'momentum': 'momentum', 'dampening': 'dampening', 'weightDecay': 'weight_decay', 'nesterov': 'nesterov', 'betas': 'betas',
      'eps': 'eps', 'amsgrad': 'amsgrad', 'alpha': 'alpha', 'centered': 'centered', 'lrDecay': 'lr_decay', 'initialAccumulatorValue': 'initial_accumulator_value'}


# Schedulers driving Adam: camelCase options -> PyTorch keywords; scheduler.step() after every
# optimizer step (ReduceLROnPlateau is given the step's loss).
SCHED_PY = {'stepSize': 'step_size', 'gamma': 'gamma', 'milestones': 'milestones', 'tMax': 'T_max', 'etaMin': 'eta_min',
            'maxLr': 'max_lr', 'totalSteps': 'total_steps', 'pctStart': 'pct_start', 'startFactor': 'start_factor',
            'endFactor': 'end_factor', 'totalIters': 'total_iters', 'factor': 'factor', 'patience': 'patience',
            'threshold': 'threshold', 'mode': 'mode', 'annealStrategy': 'anneal_strategy'}
SCHED_LAMBDAS = {'pow95': lambda e: 0.95 ** e}


def make_sched(opt, sched):
    o = {SCHED_PY[k]: v for k, v in sched['options'].items() if k != 'lrLambda'}
    if sched['kind'] == 'LambdaLR':
        o['lr_lambda'] = SCHED_LAMBDAS[sched['options']['lrLambda']]
    return getattr(torch.optim.lr_scheduler, sched['kind'])(opt, **o)


def run_optim(name, kind, options, groups=None, clip=None, steps=50, sched=None):
    model = Model()
    model.load_state_dict(init_state)
    py = {PY[k]: (tuple(v) if k == 'betas' else v) for k, v in options.items()}
    if groups:  # [{'prefix': 'lstm', **opts}, ...]
        params = [dict({PY[k]: v for k, v in g.items() if k != 'prefix'}, params=[p for n, p in model.named_parameters() if n.startswith(g['prefix'])]) for g in groups]
    else:
        params = model.parameters()
    opt = OPTS[kind](params, **py)
    scheduler = make_sched(opt, sched) if sched else None
    losses = []
    lrs = []
    for i in range(steps):
        x, t = batches[i % len(batches)]
        opt.zero_grad()
        loss = ((model(x) - t) ** 2).mean()
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if scheduler is not None:
            scheduler.step(loss.item()) if sched['kind'] == 'ReduceLROnPlateau' else scheduler.step()
            lrs.append(opt.param_groups[0]['lr'])
        losses.append(loss.item())
    return {'name': name, 'kind': kind, 'options': options, 'groups': groups, 'clip': clip, 'sched': sched, 'lrs': lrs, 'losses': losses,
            'final': {k: enc(v) for k, v in model.state_dict().items()}}


optim_cases = [
    run_optim('sgd', 'SGD', {'lr': 0.1}),
    run_optim('sgd_momentum', 'SGD', {'lr': 0.05, 'momentum': 0.9, 'dampening': 0.1, 'weightDecay': 1e-3}),
    run_optim('sgd_nesterov', 'SGD', {'lr': 0.05, 'momentum': 0.9, 'nesterov': True}),
    run_optim('adam', 'Adam', {'lr': 1e-2}),
    run_optim('adam_amsgrad_wd', 'Adam', {'lr': 1e-2, 'betas': [0.8, 0.99], 'amsgrad': True, 'weightDecay': 1e-2, 'eps': 1e-6}),
    run_optim('adamw', 'AdamW', {'lr': 1e-2}),
    run_optim('adamw_amsgrad', 'AdamW', {'lr': 5e-3, 'weightDecay': 0.1, 'amsgrad': True}),
    run_optim('rmsprop', 'RMSprop', {'lr': 1e-2}),
    run_optim('rmsprop_centered_momentum', 'RMSprop', {'lr': 5e-3, 'alpha': 0.9, 'momentum': 0.5, 'centered': True, 'weightDecay': 1e-3}),
    run_optim('adagrad', 'Adagrad', {'lr': 0.1}),
    run_optim('adagrad_decay', 'Adagrad', {'lr': 0.1, 'lrDecay': 0.01, 'initialAccumulatorValue': 0.1, 'weightDecay': 1e-3}),
    run_optim('adam_groups', 'Adam', {'lr': 1e-2}, groups=[{'prefix': 'lstm', 'lr': 5e-3}, {'prefix': 'head', 'betas': [0.5, 0.9]}]),
    run_optim('sgd_clip', 'SGD', {'lr': 0.5, 'momentum': 0.5}, clip=0.1),
] + [run_optim(f'adam_{s["kind"]}', 'Adam', {'lr': 1e-2}, sched=s) for s in [
    {'kind': 'StepLR', 'options': {'stepSize': 10, 'gamma': 0.5}},
    {'kind': 'MultiStepLR', 'options': {'milestones': [5, 20, 20, 35], 'gamma': 0.5}},
    {'kind': 'ExponentialLR', 'options': {'gamma': 0.95}},
    {'kind': 'CosineAnnealingLR', 'options': {'tMax': 20, 'etaMin': 1e-3}},
    {'kind': 'OneCycleLR', 'options': {'maxLr': 0.05, 'totalSteps': 50}},
    {'kind': 'LinearLR', 'options': {'startFactor': 0.1, 'totalIters': 15}},
    {'kind': 'ReduceLROnPlateau', 'options': {'factor': 0.5, 'patience': 2, 'threshold': 0.05}},
    {'kind': 'LambdaLR', 'options': {'lrLambda': 'pow95'}},
]]
with open(os.path.join(OUT, 'optim.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'init': {k: enc(v) for k, v in init_state.items()},
               'batches': [[enc(x), enc(t)] for x, t in batches], 'cases': optim_cases}, f, separators=(',', ':'))
print(f'wrote {len(optim_cases)} optimizer cases to {OUT}/optim.json')

# ---- TorchScript: a scripted LSTM model saved by Python, run by jit.load -------------------
from typing import Dict, Tuple


class Scripted(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        out, (h, c) = self.lstm(x)
        y = self.head(out[:, -1]) * scale
        if scale > 1.5:  # data-dependent control flow: scripting keeps it, tracing could not
            y = y.relu()
        return y, {'h': h, 'c': c}


torch.manual_seed(3)
scripted = torch.jit.script(Scripted())
scripted.save(os.path.join(OUT, 'scripted-lstm.pt'))
sx = torch.randn(2, 5, 3, generator=gen)
with torch.no_grad():
    y1, st1 = scripted(sx)
    y2, _ = scripted(sx, 2.0)
with open(os.path.join(OUT, 'script.json'), 'w') as f:
    json.dump({'input': enc(sx), 'y': enc(y1), 'h': enc(st1['h']), 'c': enc(st1['c']), 'y_scaled': enc(y2),
               'params': [n for n, _ in scripted.named_parameters()]}, f, separators=(',', ':'))
print('wrote scripted-lstm.pt and script.json')
