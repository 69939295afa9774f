"""Prints (JSON, stdout) PyTorch's public tensor API as the running torch exposes it, for
scripts/gen-api/dump.ts: the public names of torch, torch.Tensor, torch.linalg, torch.special,
torch.fft and torch.nn.functional; for each, whether it is a builtin (bound to aten operators
of the same name) or a Python function, and for Python functions their signature
(inspect.signature: parameters, defaults, keyword-only, *args).

Usage: /usr/bin/python3 scripts/gen-api/surface.py > surface.json
"""
import inspect
import json
import math
import types

import torch
import torch.nn.functional as F


def default_json(v):
    if v is inspect.Parameter.empty:
        return {'$none': True}
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else {'$f': 'nan' if math.isnan(v) else ('inf' if v > 0 else '-inf')}
    if isinstance(v, (list, tuple)) and all(isinstance(e, (int, float, bool, str)) for e in v):
        return list(v)
    return {'$repr': repr(v)}


def signature(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = []
    for p in sig.parameters.values():
        params.append({
            'name': p.name,
            'kind': {p.POSITIONAL_ONLY: 'positional', p.POSITIONAL_OR_KEYWORD: 'positional',
                     p.KEYWORD_ONLY: 'keyword', p.VAR_POSITIONAL: 'varargs', p.VAR_KEYWORD: 'varkw'}[p.kind],
            'default': default_json(p.default),
        })
    return params


def entry(name, obj):
    builtin = isinstance(obj, (types.BuiltinFunctionType, types.BuiltinMethodType)) or type(obj).__name__ in (
        'method_descriptor', 'builtin_function_or_method', 'wrapper_descriptor', 'getset_descriptor')
    out = {'name': name, 'builtin': builtin}
    if not builtin and callable(obj):
        out['params'] = signature(obj)
        out['module'] = getattr(obj, '__module__', None)
    return out


def public(ns, names=None):
    out = []
    for name in sorted(names if names is not None else dir(ns)):
        if name.startswith('_'):
            continue
        obj = getattr(ns, name, None)
        if obj is None or isinstance(obj, (type, types.ModuleType)) or not callable(obj):
            continue
        out.append(entry(name, obj))
    return out


def tensor_methods():
    out = []
    for name in sorted(dir(torch.Tensor)):
        if name.startswith('__'):
            continue
        if name.startswith('_') and not name.endswith('_'):
            continue
        if name.startswith('_'):
            continue
        obj = getattr(torch.Tensor, name, None)
        if obj is None or isinstance(obj, property) or not callable(obj):
            continue
        out.append(entry(name, obj))
    return out


print(json.dumps({
    'torch': torch.__version__,
    'torch_fns': public(torch),
    'tensor': tensor_methods(),
    'linalg': public(torch.linalg),
    'special': public(torch.special),
    'fft': public(torch.fft),
    'functional': public(F),
}, indent=None, sort_keys=True))
