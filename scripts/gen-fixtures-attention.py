#!/usr/bin/python3
"""Reference torch.nn.MultiheadAttention from PyTorch for test/35.nn.attention.test.ts.

Usage: /usr/bin/python3 scripts/gen-fixtures-attention.py
  (writes test/fixtures/torch-<line>/attention.json and attention-state.pt)

Each case builds nn.MultiheadAttention after torch.manual_seed(seed) and records:
  - ctor: torchrnn's camelCase constructor options (embedDim, numHeads, dropout, bias, addBiasKv,
    addZeroAttn, kdim, vdim, batchFirst);
  - init: every parameter right after construction (float32, PyTorch's names, state-dict order),
    keys: the state-dict keys, repr: str(module);
  - dtype: the dtype the module and inputs are converted to for the forward (float64 mostly);
  - inputs: query, key, value; key and value are the string "query" (or "key") when they are the
    very same tensor as that one (self-attention, encoder-decoder attention: PyTorch takes other
    paths for them);
  - options: keyPaddingMask / attnMask (encoded tensors), needWeights, averageAttnWeights,
    isCausal (2.x only);
  - training: the module's mode; noGrad: the forward ran under torch.no_grad (no gradients
    recorded); forwardSeed: torch.manual_seed(forwardSeed) right before the forward (dropout);
  - fastPath: whether PyTorch took its fused fast path (torch._native_multi_head_attention);
  - output, weights (null without needWeights);
  - projection, projectionWeights: fixed random R, Rw; grads: the gradient of
    (output * R).sum() + (weights * Rw).sum() with respect to query, key, value (each distinct
    tensor once) and every parameter (by state-dict key).
Plus `exchange`: a module with perturbed parameters whose state dict is written to
attention-state.pt (torch.save), with its options, an input and PyTorch's output.
"""
import json
import os
import warnings

import torch
import torch.nn as nn

from fixture_encoding import OUT, enc

gen = torch.Generator().manual_seed(2024)
MAJOR = int(torch.__version__.split('.')[0])
HAS_CAUSAL = MAJOR >= 2


def rn(*shape, dtype=torch.float64):
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)


def bmask(*shape, p=0.3):
    return torch.rand(*shape, generator=gen) < p


def fmask(*shape):
    """A float mask: about half zeros, the rest normal values."""
    m = torch.where(torch.rand(*shape, generator=gen) < 0.5, torch.zeros(shape, dtype=torch.float64), rn(*shape))
    return m


# Which path PyTorch took: the module looks torch._native_multi_head_attention up on each call.
_native = torch._native_multi_head_attention
_took_fast_path = [False]


def _spy(*a, **k):
    _took_fast_path[0] = True
    return _native(*a, **k)


torch._native_multi_head_attention = _spy

cases = []


def ctor_kwargs(c):
    return dict(embed_dim=c['embedDim'], num_heads=c['numHeads'], dropout=c.get('dropout', 0.0), bias=c.get('bias', True),
                add_bias_kv=c.get('addBiasKv', False), add_zero_attn=c.get('addZeroAttn', False),
                kdim=c.get('kdim'), vdim=c.get('vdim'), batch_first=c.get('batchFirst', False))


def case(name, ctor, q, k='query', v='key', seed=0, dtype=torch.float64, training=True, no_grad=False, forward_seed=None,
         key_padding_mask=None, attn_mask=None, need_weights=True, average_attn_weights=True, is_causal=None):
    torch.manual_seed(seed)
    m = nn.MultiheadAttention(**ctor_kwargs(ctor))
    init = {n: enc(p) for n, p in m.state_dict().items()}
    keys = list(m.state_dict().keys())
    rep = str(m)
    m = m.to(dtype)
    m.train(training)
    query = q.to(dtype).detach().clone().requires_grad_(not no_grad)
    if isinstance(k, str):
        key = query
    else:
        key = k.to(dtype).detach().clone().requires_grad_(not no_grad)
    if isinstance(v, str):
        value = query if v == 'query' else key
    else:
        value = v.to(dtype).detach().clone().requires_grad_(not no_grad)
    kw = dict(key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
              average_attn_weights=average_attn_weights)
    if is_causal is not None:
        kw['is_causal'] = is_causal
    if forward_seed is not None:
        torch.manual_seed(forward_seed)
    _took_fast_path[0] = False
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        if no_grad:
            with torch.no_grad():
                out, w = m(query, key, value, **kw)
        else:
            out, w = m(query, key, value, **kw)
    fast = _took_fast_path[0]
    options = {'needWeights': need_weights, 'averageAttnWeights': average_attn_weights}
    if key_padding_mask is not None:
        options['keyPaddingMask'] = enc(key_padding_mask.to(dtype) if key_padding_mask.is_floating_point() else key_padding_mask)
    if attn_mask is not None:
        options['attnMask'] = enc(attn_mask.to(dtype) if attn_mask.is_floating_point() else attn_mask)
    if is_causal is not None:
        options['isCausal'] = is_causal
    rec = {'name': name, 'seed': seed, 'ctor': ctor, 'init': init, 'keys': keys, 'repr': rep, 'dtype': str(dtype).replace('torch.', ''),
           'inputs': {'query': enc(query), 'key': 'query' if key is query else enc(key),
                      'value': 'query' if value is query else ('key' if value is key else enc(value))},
           'options': options, 'training': training, 'noGrad': no_grad, 'forwardSeed': forward_seed, 'fastPath': fast,
           'output': enc(out), 'weights': enc(w), 'projection': None, 'projectionWeights': None, 'grads': None}
    if not no_grad:
        r = rn(*out.shape, dtype=dtype)
        total = (out * r).sum()
        rec['projection'] = enc(r)
        if w is not None:
            rw = rn(*w.shape, dtype=dtype)
            total = total + (w * rw).sum()
            rec['projectionWeights'] = enc(rw)
        named = [('query', query)]
        if key is not query:
            named.append(('key', key))
        if value is not query and value is not key:
            named.append(('value', value))
        named += [(n, p) for n, p in m.named_parameters()]
        grads = torch.autograd.grad(total, [t for _, t in named], allow_unused=True)
        rec['grads'] = {n: enc(g) if g is not None else enc(torch.zeros_like(t)) for (n, t), g in zip(named, grads)}
    cases.append(rec)


E, H, L, S, N = 8, 2, 3, 4, 2
base = {'embedDim': E, 'numHeads': H}


def seq(length, dim=E, batch_first=False, batched=True):
    if not batched:
        return rn(length, dim)
    return rn(N, length, dim) if batch_first else rn(length, N, dim)


# ---- projections and layouts -----------------------------------------------------------------
case('self', base, seq(L), seed=1)
case('self_batch_first', {**base, 'batchFirst': True}, seq(L, batch_first=True), seed=2)
case('cross_kv_same', base, seq(L), seq(S), 'key', seed=3)
case('cross_kv_same_batch_first', {**base, 'batchFirst': True}, seq(L, batch_first=True), seq(S, batch_first=True), 'key', seed=4)
case('cross_separate', base, seq(L), seq(S), seq(S), seed=5)
case('kdim_vdim', {**base, 'kdim': 5, 'vdim': 6}, seq(L), seq(S, 5), seq(S, 6), seed=6)
case('kdim_vdim_batch_first', {**base, 'kdim': 5, 'vdim': 6, 'batchFirst': True}, seq(L, batch_first=True),
     seq(S, 5, True), seq(S, 6, True), seed=7)
case('kdim_only', {**base, 'kdim': 3}, seq(L), seq(S, 3), seq(S), seed=8)
case('bias_off', {**base, 'bias': False}, seq(L), seq(S), 'key', seed=9)
case('bias_off_kdim_vdim', {**base, 'bias': False, 'kdim': 5, 'vdim': 6}, seq(L), seq(S, 5), seq(S, 6), seed=10)
case('heads_1', {'embedDim': E, 'numHeads': 1}, seq(L), seed=11)
case('heads_4', {'embedDim': E, 'numHeads': 4}, seq(L), seq(S), 'key', seed=12)
case('float32', base, seq(L), seq(S), 'key', seed=13, dtype=torch.float32)

# ---- bias_k / bias_v, zero attention -----------------------------------------------------------
case('add_bias_kv', {**base, 'addBiasKv': True}, seq(L), seq(S), 'key', seed=14)
case('add_zero_attn', {**base, 'addZeroAttn': True}, seq(L), seq(S), 'key', seed=15)
case('bias_kv_zero_attn', {**base, 'addBiasKv': True, 'addZeroAttn': True, 'kdim': 5, 'vdim': 6}, seq(L), seq(S, 5), seq(S, 6), seed=16)
case('bias_kv_zero_attn_masks', {**base, 'addBiasKv': True, 'addZeroAttn': True, 'batchFirst': True},
     seq(L, batch_first=True), seq(S, batch_first=True), 'key', seed=17,
     key_padding_mask=torch.tensor([[False, False, True, False], [False, True, True, False]]), attn_mask=bmask(L, S))

# ---- masks -------------------------------------------------------------------------------------
kpm = torch.tensor([[False, False, False, True], [False, True, False, True]])
case('kpm_bool', base, seq(L), seq(S), 'key', seed=18, key_padding_mask=kpm)
case('kpm_float', base, seq(L), seq(S), 'key', seed=19, key_padding_mask=fmask(N, S))
case('attn_bool_2d', base, seq(L), seq(S), 'key', seed=20, attn_mask=torch.tensor([[False, True, False, False], [False, False, True, True], [True, False, False, False]]))
case('attn_float_2d', base, seq(L), seq(S), 'key', seed=21, attn_mask=fmask(L, S))
case('attn_bool_3d', base, seq(L), seq(S), 'key', seed=22, attn_mask=bmask(N * H, L, S) & torch.tensor([True, True, True, False]))
case('attn_float_3d', base, seq(L), seq(S), 'key', seed=23, attn_mask=fmask(N * H, L, S))
case('attn_causal_self', base, seq(L), seed=24, attn_mask=torch.triu(torch.ones(L, L, dtype=torch.bool), 1))
case('both_bool', base, seq(L), seq(S), 'key', seed=25, key_padding_mask=kpm, attn_mask=torch.tensor([[False, True, False, False], [False, False, True, False], [True, False, False, False]]))
if MAJOR >= 2:  # PyTorch 1.13 cannot merge two float masks (masked_fill needs a bool mask)
    case('both_float', {**base, 'batchFirst': True}, seq(L, batch_first=True), seq(S, batch_first=True), 'key', seed=26,
         key_padding_mask=torch.tensor([[0.0, 0.0, -float('inf'), 0.0], [0.0, -0.5, 0.0, 0.0]], dtype=torch.float64), attn_mask=fmask(L, S))
case('float_attn_bool_kpm', base, seq(L), seq(S), 'key', seed=27, key_padding_mask=kpm, attn_mask=fmask(N * H, L, S))
# PyTorch 1.13 merges a bool attn_mask with a float key_padding_mask by logical_or (nonzero masks), 2.x adds them
case('bool_attn_float_kpm', base, seq(L), seq(S), 'key', seed=28,
     key_padding_mask=torch.tensor([[0.0, -0.7, 0.0, 0.0], [0.0, 0.0, 0.0, 1.5]], dtype=torch.float64),
     attn_mask=torch.tensor([[False, False, True, False], [False, False, False, False], [True, False, False, False]]))

# ---- needWeights, averageAttnWeights --------------------------------------------------------------
case('no_weights', base, seq(L), seq(S), 'key', seed=29, need_weights=False)
case('no_weights_masks', {**base, 'batchFirst': True}, seq(L, batch_first=True), seq(S, batch_first=True), 'key', seed=30,
     need_weights=False, key_padding_mask=kpm, attn_mask=fmask(L, S))
case('no_weights_attn_3d', base, seq(L), seq(S), 'key', seed=31, need_weights=False, attn_mask=bmask(N * H, L, S) & torch.tensor([True, True, False, True]))
case('per_head', base, seq(L), seq(S), 'key', seed=32, average_attn_weights=False)
case('per_head_masks_batch_first', {**base, 'batchFirst': True, 'numHeads': 4}, seq(L, batch_first=True), seq(S, batch_first=True), 'key', seed=33,
     average_attn_weights=False, key_padding_mask=kpm, attn_mask=fmask(N * 4, L, S))
case('per_head_no_weights', base, seq(L), seq(S), 'key', seed=34, average_attn_weights=False, need_weights=False)

# ---- unbatched ---------------------------------------------------------------------------------
case('unbatched_self', base, seq(L, batched=False), seed=35)
case('unbatched_self_batch_first', {**base, 'batchFirst': True}, seq(L, batched=False), seed=36)  # batch_first ignored
case('unbatched_cross_masks', {**base, 'kdim': 5, 'vdim': 6}, seq(L, batched=False), rn(S, 5), rn(S, 6), seed=37,
     key_padding_mask=torch.tensor([False, True, False, False]), attn_mask=fmask(H, L, S))
case('unbatched_no_weights', base, seq(L, batched=False), seq(S, batched=False), 'key', seed=38, need_weights=False,
     attn_mask=torch.tensor([[False, True, False, False], [False, False, False, True], [True, False, False, False]]))
case('unbatched_per_head_bias_kv', {**base, 'addBiasKv': True, 'addZeroAttn': True}, seq(L, batched=False), seed=39,
     average_attn_weights=False, key_padding_mask=torch.tensor([False, False, True]))

# ---- dropout (training only), eval mode, the fast path -----------------------------------------
case('dropout_train', {**base, 'dropout': 0.3}, seq(L), seq(S), 'key', seed=40, forward_seed=77)
case('dropout_train_no_weights', {**base, 'dropout': 0.3, 'batchFirst': True}, seq(L, batch_first=True), seq(S, batch_first=True), 'key',
     seed=41, forward_seed=78, need_weights=False)
case('dropout_eval', {**base, 'dropout': 0.3}, seq(L), seq(S), 'key', seed=42, training=False)
case('eval_self_batch_first', {**base, 'batchFirst': True}, seq(L, batch_first=True), seed=43, training=False)
case('fast_path_candidate', {**base, 'batchFirst': True}, seq(L, batch_first=True), seed=44, training=False, no_grad=True)
case('fast_path_candidate_kpm', {**base, 'batchFirst': True}, seq(L, batch_first=True), seed=45, training=False, no_grad=True,
     key_padding_mask=torch.tensor([[False, False, True], [False, False, False]]))
case('fast_path_candidate_no_weights', {**base, 'batchFirst': True, 'numHeads': 4}, seq(L, batch_first=True), seed=46, training=False, no_grad=True,
     need_weights=False)
case('eval_no_grad_cross', base, seq(L), seq(S), 'key', seed=47, training=False, no_grad=True)

# ---- is_causal (2.x) ---------------------------------------------------------------------------
if HAS_CAUSAL:
    causal = torch.triu(torch.ones(L, L, dtype=torch.bool), 1)
    case('causal_hint_no_weights', base, seq(L), seed=48, attn_mask=causal, is_causal=True, need_weights=False)
    case('causal_hint_weights', base, seq(L), seed=49, attn_mask=causal, is_causal=True)
    case('causal_hint_kpm', base, seq(L), seed=50, attn_mask=causal, is_causal=True, need_weights=False,
         key_padding_mask=torch.tensor([[False, False, True], [False, False, False]]))


# ---- a state dict for torchrnn to load ---------------------------------------------------------
ex_ctor = {'embedDim': E, 'numHeads': H, 'addBiasKv': True, 'kdim': 5, 'vdim': 6, 'batchFirst': True}
torch.manual_seed(99)
ex = nn.MultiheadAttention(**ctor_kwargs(ex_ctor))
with torch.no_grad():
    for p in ex.parameters():
        p.add_(rn(*p.shape, dtype=torch.float32) * 0.1)
ex.eval()
eq, ek, ev = rn(N, L, E, dtype=torch.float32), rn(N, S, 5, dtype=torch.float32), rn(N, S, 6, dtype=torch.float32)
with torch.no_grad():
    eout, ew = ex(eq, ek, ev)
os.makedirs(OUT, exist_ok=True)
torch.save(ex.state_dict(), os.path.join(OUT, 'attention-state.pt'))
exchange = {'ctor': ex_ctor, 'file': 'attention-state.pt', 'keys': list(ex.state_dict().keys()),
            'state': {n: enc(p) for n, p in ex.state_dict().items()},
            'inputs': {'query': enc(eq), 'key': enc(ek), 'value': enc(ev)}, 'output': enc(eout), 'weights': enc(ew)}

with open(os.path.join(OUT, 'attention.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'cases': cases, 'exchange': exchange}, f, separators=(',', ':'))
print(f'wrote {len(cases)} attention cases to {OUT}/attention.json (fast path taken in: '
      f'{", ".join(c["name"] for c in cases if c["fastPath"]) or "none"})')
