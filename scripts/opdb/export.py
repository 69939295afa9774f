"""Export PyTorch's own operator test database (op_db, torch.testing._internal.common_methods_invocations)
to compact fixtures that a TypeScript test replays through torchrnn.

Usage (run with Debian's /usr/bin/python3 and its python3-torch; works on PyTorch 1.13 and 2.6):
  export.py [--full] [--out DIR] [--only name1,name2] [--per-op K] [--seed S]
  default   seeded subset into test/fixtures/torch-<major>.<minor>/opdb/: per op_db entry up to K (2) float32
            samples and ceil(K/2) (1) float64 sample, picked in a seeded order among samples whose tensors
            (inputs + outputs) hold at most 4096 elements, samples with inputs <= 1024 elements first (when none
            fits, the smallest one if it holds at most 8192)
  --full    every sample of every op for float32 and float64 into --out (default /var/tmp/torchrnn-opdb/<line>)
  --only    only the OpInfos with these names (OpInfo.name, e.g. topk,linalg.norm,nn.functional.conv2d)
Runs are deterministic (byte-identical files): samples of (op, variant, dtype) are generated after
torch.manual_seed(S + crc32(op, variant, dtype)), one CPU thread, and the script re-executes itself with
PYTHONHASHSEED=0 because some sample generators iterate over sets.

Output: index.json and tensors.bin (all tensor data, raw little-endian, row-major contiguous, each tensor at an
offset aligned to 8 bytes; float16/bfloat16 as their 2-byte patterns, bool as 1 byte).
index.json = {"torch", "seed", "mode": "subset"|"full",
  "tensors": [{"offset", "dtype", "shape"}],
  "samples": [{"op", "variant", "aten", "fn", "dtype", "index" (position in the op's sample list),
               "input", "args", "kwargs", "output", "seed", "random", "gradOutputs", "grads", ["gradError"],
               "rtol", "atol"}],
  "skipped": [{"op", "variant", "dtype", "index" (or null), "reason"}],
  "ops": [{"name", "variant", "aten", "fn", "method", "inplace", "autograd", "dtypes", "samples", "skipped"}]}
Values: tensor {"$t": i} (index into "tensors"); finite number as a JSON number; nan/inf/-inf as {"$f": "nan"};
bool; null; string; list as an array; tuple and torch.Size as {"$tuple": [...]}, a namedtuple / torch.return_types
also with "fields": [names]; torch.dtype as {"$dtype": "float32"}; torch.memory_format as {"$memoryFormat": "channelsLast"}; kwargs as an object with sorted keys. Samples
holding anything else (devices, slices, callables, complex Python numbers, sparse tensors, ...) are skipped.
"seed": torch.manual_seed(seed) was called right before the forward. "random": a second call under another seed
gave a different result (RNG-dependent: compare shapes/dtypes, or reseed with "seed"); empty* ops (uninitialized
memory) store zeros and "random": true. "gradOutputs": seeded randn_like per floating output tensor (flattened
output order); "grads": torch.autograd.grad of those outputs, one per input tensor with requires_grad in the order
input, args, kwargs values (sorted keys), null when unused; both null when the op has no autograd, no floating
output or no input requiring grad, or when the backward failed or gave different results on the second call
(uninitialized memory in some backward kernels), then "gradError" says why. Skipped for determinism: lstsq with the
LAPACK driver gelsy (last bits vary between calls), as_strided of views (reads storage outside the tensor).
"rtol"/"atol": assertEqual's defaults for the dtype, or the loosest CPU toleranceOverride/precisionOverride
decorator of the OpInfo for that dtype.
"""
import argparse
import importlib.util
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import time
import types
import warnings
import zlib
from collections import Counter

if os.environ.get('PYTHONHASHSEED') != '0':  # set iteration order inside sample generators
    os.environ['PYTHONHASHSEED'] = '0'
    os.execv(sys.executable, [sys.executable] + sys.argv)

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from fixture_encoding import LINE, NAMES as REAL_NAMES, OUT  # noqa: E402

# complex tensors too: their data is the real and imaginary parts interleaved (numpy's layout)
NAMES = {**REAL_NAMES, torch.complex64: 'complex64', torch.complex128: 'complex128'}

SUBSET_MAX_ELEMS = 4096
DEFAULT_TOL = {torch.float32: (1.3e-6, 1e-5), torch.float64: (1e-7, 1e-7)}  # (rtol, atol)


def load_op_db():
    """Import op_db; expecttest (test-only, not packaged by Debian) gets a stand-in when missing, so does
    setuptools.command.build_ext; the test modules parse sys.argv on import, so they see an empty command line."""
    tmp = None
    if importlib.util.find_spec('expecttest') is None:
        tmp = tempfile.mkdtemp(prefix='opdb-expecttest-')
        with open(os.path.join(tmp, 'expecttest.py'), 'w') as f:
            f.write('import unittest\nTestCase = unittest.TestCase\nACCEPT = False\n')
        sys.path.insert(0, tmp)
    try:  # common_utils imports torch.utils.cpp_extension, which needs setuptools (Debian 13's torch lacks it)
        have_setuptools = importlib.util.find_spec('setuptools.command.build_ext') is not None
    except ImportError:
        have_setuptools = False
    if not have_setuptools:
        for name in ('setuptools', 'setuptools.command', 'setuptools.command.build_ext'):
            sys.modules[name] = types.ModuleType(name)
        sys.modules['setuptools.command.build_ext'].build_ext = type('build_ext', (), {})
    argv, sys.argv = sys.argv, sys.argv[:1]
    try:
        from torch.testing._internal.common_methods_invocations import op_db
        from torch.testing._internal import common_device_type as cdt
    finally:
        sys.argv = argv
        if tmp:
            sys.path.remove(tmp)
            shutil.rmtree(tmp, ignore_errors=True)
    return op_db, cdt


class Unsupported(Exception):
    pass


class TensorStore:
    """Appends tensor data to tensors.bin; mark()/rollback() undo a sample that turns out unexportable."""

    def __init__(self, path):
        self.f = open(path, 'wb')
        self.meta = []

    def add(self, t):
        if t.layout != torch.strided or t.is_quantized:
            raise Unsupported('unsupported %s tensor' % ('quantized' if t.is_quantized else str(t.layout)))
        if t.dtype not in NAMES:
            raise Unsupported('unsupported tensor dtype ' + str(t.dtype).replace('torch.', ''))
        t = t.detach()
        if getattr(t, '_is_zerotensor', lambda: False)():  # efficient zero tensors (some grads) have no storage
            t = torch.zeros(t.shape, dtype=t.dtype)
        flat = t.resolve_conj().resolve_neg().contiguous().reshape(-1)
        if t.dtype == torch.bfloat16:
            flat = flat.view(torch.int16)
        pos = self.f.tell()
        pad = -pos % 8
        self.f.write(b'\0' * pad)
        self.f.write(flat.numpy().tobytes())
        self.meta.append({'offset': pos + pad, 'dtype': NAMES[t.dtype], 'shape': list(t.shape)})
        return len(self.meta) - 1

    def mark(self):
        return self.f.tell(), len(self.meta)

    def rollback(self, m):
        self.f.seek(m[0])
        self.f.truncate()
        del self.meta[m[1]:]


def encode(v, store):
    if isinstance(v, torch.Tensor):
        return {'$t': store.add(v)}
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        if math.isfinite(v):
            return float(v)
        return {'$f': 'nan' if math.isnan(v) else ('inf' if v > 0 else '-inf')}
    if isinstance(v, torch.dtype):
        return {'$dtype': str(v).replace('torch.', '')}
    if isinstance(v, torch.memory_format):  # torchrnn's names: 'channelsLast', 'contiguousFormat', ...
        name = str(v).replace('torch.', '')
        return {'$memoryFormat': name.split('_')[0] + ''.join(w.capitalize() for w in name.split('_')[1:])}
    if isinstance(v, list):
        return [encode(x, store) for x in v]
    if isinstance(v, tuple):  # plain tuple, torch.Size, namedtuple, torch.return_types structseq
        out = {'$tuple': [encode(x, store) for x in v]}
        fields = getattr(v, '_fields', None) or getattr(type(v), '__match_args__', None)
        if fields and not isinstance(v, torch.Size):
            out['fields'] = list(fields)
        return out
    mod = type(v).__module__
    raise Unsupported('unsupported ' + ('' if mod == 'builtins' else mod + '.') + type(v).__qualname__)


def tensors_in(v):
    """Tensors of a value in walking order (dict values in sorted key order)."""
    if isinstance(v, torch.Tensor):
        return [v]
    if isinstance(v, (list, tuple)):
        return [t for x in v for t in tensors_in(x)]
    if isinstance(v, dict):
        return [t for k in sorted(v) for t in tensors_in(v[k])]
    return []


def stable_hash(*parts):
    return zlib.crc32('\0'.join(str(p) for p in parts).encode())


def short_error(e):
    msg = (str(e).strip().splitlines() or [''])[0]
    msg = re.sub(r' at 0x[0-9a-fA-F]+', '', msg)[:200]
    return '%s: %s' % (type(e).__name__, msg)


_FN_NAMES = None


def fn_name(op):
    """Qualified public name of op.op, '<lambda>' or '<wrapper>'."""
    global _FN_NAMES
    f = op.op
    for prefix, obj in (('torch.', torch), ('torch.Tensor.', torch.Tensor)):
        try:
            for part in op.name.split('.'):
                obj = getattr(obj, part)
            if obj is f:
                return prefix + op.name
        except AttributeError:
            pass
    if _FN_NAMES is None:
        _FN_NAMES = {}
        spaces = [('torch', torch), ('torch.nn.functional', torch.nn.functional), ('torch.linalg', torch.linalg),
                  ('torch.special', torch.special), ('torch.fft', torch.fft), ('torch.Tensor', torch.Tensor)]
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            for prefix, ns in spaces:
                for attr in sorted(dir(ns)):
                    try:
                        obj = getattr(ns, attr)
                    except Exception:
                        continue
                    if callable(obj) and not isinstance(obj, type):
                        _FN_NAMES.setdefault(id(obj), (prefix + '.' + attr, obj))
    hit = _FN_NAMES.get(id(f))
    if hit and hit[1] is f:
        return hit[0]
    return '<lambda>' if getattr(f, '__name__', '') == '<lambda>' else '<wrapper>'


def tolerances(op, dtype, cdt):
    """assertEqual defaults, loosened by the OpInfo's CPU tolerance/precision overrides for dtype."""
    rtol, atol = DEFAULT_TOL[dtype]
    for d in getattr(op, 'decorators', None) or ():
        if getattr(d, 'device_type', None) not in (None, 'cpu'):
            continue
        dts = getattr(d, 'dtypes', None)
        if dts is not None and dtype not in dts:
            continue
        active = getattr(d, 'active_if', True)
        if not (active() if callable(active) else active):
            continue
        for dec in getattr(d, 'decorators', [d]):
            if isinstance(dec, cdt.toleranceOverride) and dtype in dec.d:
                rtol, atol = max(rtol, dec.d[dtype].rtol), max(atol, dec.d[dtype].atol)
            elif isinstance(dec, cdt.precisionOverride) and dtype in dec.d:
                atol = max(atol, dec.d[dtype])
    return rtol, atol


def same_result(a, b):
    """Whether two forward results are identical (NaNs equal)."""
    def shape(v):  # structure with tensors and NaNs replaced by placeholders
        if isinstance(v, torch.Tensor):
            return ('T', v.dtype, tuple(v.shape))
        if isinstance(v, (list, tuple)):
            return (type(v).__name__, [shape(x) for x in v])
        return 'nan' if isinstance(v, float) and math.isnan(v) else v
    ta, tb = tensors_in(a), tensors_in(b)
    try:
        if shape(a) != shape(b):
            return False
    except Exception:
        return False
    return all(torch.equal(x, y) or (x.is_floating_point() and
               torch.allclose(x.detach(), y.detach(), rtol=0, atol=0, equal_nan=True)) for x, y in zip(ta, tb))


def clone_tree(v):
    """Copies of the tensors in a value (same strides when dense, same requires_grad)."""
    if isinstance(v, torch.Tensor):
        return v.detach().clone().requires_grad_(v.requires_grad)
    if isinstance(v, list):
        return [clone_tree(x) for x in v]
    if isinstance(v, tuple) and not hasattr(v, '_fields'):
        return tuple(clone_tree(x) for x in v)
    if isinstance(v, dict):
        return {k: clone_tree(x) for k, x in v.items()}
    return v


def backward(out_tensors, grad_ins, gouts):
    """torch.autograd.grad of the floating outputs (those that require grad) with gouts, one per floating output."""
    pairs = [(o, g) for o, g in zip([t for t in out_tensors if t.is_floating_point()], gouts) if o.requires_grad]
    if not pairs:
        return [None] * len(grad_ins)
    return list(torch.autograd.grad([p[0] for p in pairs], grad_ins, [p[1] for p in pairs], allow_unused=True))


def export_sample(op, dtype, idx, s, seed, store, max_elems):
    """One sample as a dict, or None when its tensors hold more than max_elems elements (None: no limit);
    raises Unsupported when it cannot be exported."""
    m = store.mark()
    try:
        kwargs = {k: s.kwargs[k] for k in sorted(s.kwargs)}
        enc_in = encode(s.input, store), encode(list(s.args), store), {k: encode(v, store) for k, v in kwargs.items()}
        in_tensors = tensors_in([s.input, list(s.args), kwargs])
        if kwargs.get('driver') == 'gelsy':
            raise Unsupported('nondeterministic: LAPACK driver gelsy')
        if op.name.startswith('as_strided') and isinstance(s.input, torch.Tensor) and s.input._base is not None:
            raise Unsupported('as_strided of a view reads storage outside the exported tensor')
        again = clone_tree((s.input, s.args, kwargs))  # the op may write into its inputs
        torch.manual_seed(seed)
        try:
            out = op.op(s.input, *s.args, **kwargs)
        except Exception as e:
            raise Unsupported('forward error: ' + short_error(e))
        out_tensors = tensors_in(out)
        if max_elems is not None and sum(t.numel() for t in in_tensors + out_tensors) > max_elems:
            store.rollback(m)
            return None
        torch.manual_seed(seed + 1)  # same call under another seed: does the result depend on the RNG?
        try:
            out2 = op.op(again[0], *again[1], **again[2])
            is_random = not same_result(out, out2)
        except Exception:
            out2, is_random = None, True
        if 'empty' in op.name:  # empty, empty_like, new_empty, ...: uninitialized memory, stored as zeros
            out, is_random = clone_tree(out), True
            for t in tensors_in(out):
                t.detach().zero_()
        rec = {'op': op.name, 'variant': op.variant_test_name, 'aten': op.aten_name, 'fn': None,
               'dtype': NAMES[dtype], 'index': idx, 'input': enc_in[0], 'args': enc_in[1], 'kwargs': enc_in[2],
               'output': encode(out, store), 'seed': seed, 'random': is_random, 'gradOutputs': None, 'grads': None}
        float_outs = [t for t in out_tensors if t.is_floating_point()]
        grad_ins = [t for t in in_tensors if t.requires_grad]
        if op.supports_autograd and float_outs and grad_ins:
            torch.manual_seed(seed + 2)
            gouts = [torch.randn_like(t.detach()) for t in float_outs]
            try:
                grads = backward(out_tensors, grad_ins, gouts)
                # the second call again: some backward kernels return uninitialized memory
                if out2 is not None and not is_random and not same_result(
                        grads, backward(tensors_in(out2), [t for t in tensors_in(again) if t.requires_grad], gouts)):
                    raise RuntimeError('nondeterministic gradient (uninitialized memory?)')
            except Exception as e:
                rec['gradError'] = short_error(e)
            else:
                rec['gradOutputs'] = [encode(g, store) for g in gouts]
                rec['grads'] = [encode(g, store) for g in grads]
        return rec
    except Unsupported:
        store.rollback(m)
        raise


def run(args):
    t0 = time.time()
    torch.set_num_threads(1)
    warnings.simplefilter('ignore')
    op_db, cdt = load_op_db()
    only = set(args.only.split(',')) if args.only else None
    subset = not args.full
    out_dir = args.out or (os.path.join(OUT, 'opdb') if subset else os.path.join('/var/tmp/torchrnn-opdb', LINE))
    os.makedirs(out_dir, exist_ok=True)
    store = TensorStore(os.path.join(out_dir, 'tensors.bin.tmp'))
    samples, skipped, ops = [], [], []
    limits = {torch.float32: args.per_op, torch.float64: (args.per_op + 1) // 2}
    for op in op_db:
        if only and op.name not in only:
            continue
        fn = fn_name(op)
        dts = set(op.supported_dtypes('cpu') if hasattr(op, 'supported_dtypes') else op.dtypes)
        n_samples, n_skipped = len(samples), len(skipped)

        def skip(dtype, idx, reason):
            skipped.append({'op': op.name, 'variant': op.variant_test_name, 'dtype': NAMES[dtype],
                            'index': idx, 'reason': reason})

        for dtype in (torch.float32, torch.float64):
            if dtype not in dts:
                skip(dtype, None, 'dtype not supported on CPU')
                continue
            base = args.seed + stable_hash(op.name, op.variant_test_name, NAMES[dtype])
            torch.manual_seed(base)
            random.seed(base)
            np.random.seed(base % 2 ** 32)
            try:
                sample_list = list(op.sample_inputs_func(op, 'cpu', dtype, op.supports_autograd))
            except Exception as e:
                skip(dtype, None, 'sample_inputs error: ' + short_error(e))
                continue
            order = list(range(len(sample_list)))
            if subset:
                rng = random.Random(base)
                rng.shuffle(order)
                sizes = [sum(t.numel() for t in tensors_in([s.input, list(s.args), s.kwargs])) for s in sample_list]
                order.sort(key=lambda i: sizes[i] > 1024)  # stable: seeded order, small inputs first
            rtol, atol = tolerances(op, dtype, cdt)
            passes = [(order, None, 0)]  # (candidates, element limit, sample limit)
            if subset:  # the seeded order; if no sample fits, the smallest one up to twice the limit
                passes = [(order, SUBSET_MAX_ELEMS, limits[dtype]),
                          (sorted(order, key=sizes.__getitem__), 2 * SUBSET_MAX_ELEMS, 1)]
            exported, tried = 0, set()
            for candidates, max_elems, limit in passes:
                for i in candidates:
                    if (limit and exported >= limit) or i in tried or (max_elems and sizes[i] > max_elems):
                        continue
                    tried.add(i)
                    try:
                        rec = export_sample(op, dtype, i, sample_list[i], base + 7919 * (i + 1), store, max_elems)
                    except Unsupported as e:
                        skip(dtype, i, str(e))
                        continue
                    if rec is not None:
                        rec['fn'], rec['rtol'], rec['atol'] = fn, rtol, atol
                        samples.append(rec)
                        exported += 1
                    else:
                        tried.discard(i)  # too large for this pass
                if exported:
                    break
            if not sample_list:
                skip(dtype, None, 'no samples')
            elif exported == 0 and len(tried) == 0:
                skip(dtype, None, 'no sample within %d elements' % (2 * SUBSET_MAX_ELEMS))
        ops.append({'name': op.name, 'variant': op.variant_test_name, 'aten': op.aten_name, 'fn': fn,
                    'method': op.method_variant is not None, 'inplace': op.inplace_variant is not None,
                    'autograd': bool(op.supports_autograd),
                    'dtypes': sorted(str(d).replace('torch.', '') for d in dts),
                    'samples': len(samples) - n_samples, 'skipped': len(skipped) - n_skipped})
    store.f.close()

    def block(items):
        return '[\n' + ',\n'.join(json.dumps(x, separators=(',', ':'), allow_nan=False) for x in items) + '\n]'
    head = {'torch': torch.__version__, 'seed': args.seed, 'mode': 'subset' if subset else 'full'}
    text = '{' + ','.join('%s:%s' % (json.dumps(k), json.dumps(v)) for k, v in head.items())
    for key, items in (('tensors', store.meta), ('samples', samples), ('skipped', skipped), ('ops', ops)):
        text += ',\n"%s":%s' % (key, block(items))
    text += '}\n'
    with open(os.path.join(out_dir, 'index.json.tmp'), 'w') as f:
        f.write(text)
    os.replace(os.path.join(out_dir, 'tensors.bin.tmp'), os.path.join(out_dir, 'tensors.bin'))
    os.replace(os.path.join(out_dir, 'index.json.tmp'), os.path.join(out_dir, 'index.json'))

    reasons = Counter(re.sub(r'\d+', 'N', s['reason'])[:100] for s in skipped)
    summary = {'out': os.path.abspath(out_dir), 'torch': torch.__version__, 'mode': head['mode'],
               'ops': len(ops), 'opsWithSamples': sum(1 for o in ops if o['samples']),
               'samples': len(samples), 'tensors': len(store.meta), 'skipped': len(skipped),
               'gradErrors': sum(1 for s in samples if 'gradError' in s),
               'random': sum(1 for s in samples if s['random']),
               'skippedByReason': dict(reasons.most_common(15)),
               'bytes': {n: os.path.getsize(os.path.join(out_dir, n)) for n in ('index.json', 'tensors.bin')},
               'seconds': round(time.time() - t0, 1)}
    print(json.dumps(summary, indent=1))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--full', action='store_true', help='every sample of every op (default: seeded subset)')
    p.add_argument('--out', help='output folder')
    p.add_argument('--only', help='comma-separated OpInfo names')
    p.add_argument('--per-op', type=int, default=2, help='subset: float32 samples per op (float64: half, rounded up)')
    p.add_argument('--seed', type=int, default=0)
    run(p.parse_args())


if __name__ == '__main__':
    main()
