#!/usr/bin/python3
"""Writes the PyTorch interop fixtures (test/fixtures/torch-<line>/interop/) that test/51.serialization.pt.test.ts and test/52.serialization.pt.hostile.test.ts read.

Run with Debian's Python (python3-torch 1.13.1, the libtorch the addon links):
    /usr/bin/python3 scripts/gen-fixtures-interop.py
Deterministic (fixed seeds, fixed zip timestamps): re-running gives the same bytes.

- lstm / gru / mlp: models trained for a few SGD steps, saved with
  torch.save(model.state_dict(), '<name>.pt') and as '<name>.safetensors' (written by hand, the
  `safetensors` package is not needed), plus models.json: their options, a fixed input and
  Python's outputs.
- dtypes.pt / dtypes.safetensors: one tensor of every dtype torchrnn has.
- nested.pt (and nested-p4.pt, the same with pickle protocol 4): an Adam state dict after 2 steps
  inside a structure of dicts, lists, tuples, ints (one beyond 2^53), floats, strings, bools, None.
- shared.pt: tensors that share one storage (views, a transpose); scalars.pt: 0-D and empty tensors.
- deflated.pt: mlp.pt re-packed with deflate-compressed entries.
- hostile-os-system.pt, hostile-eval.pt: data.pkl files that call os.system / builtins.eval
  (built opcode by opcode; never loaded here). Their payloads would create
  /tmp/torchrnn-pwned-os-system and /tmp/torchrnn-pwned-eval.
values.json describes every .pt's contents in the "mirror" encoding check-interop.py uses:
tensors {"__tensor__": {data, shape, dtype}, "requiresGrad"}, dicts {"__dict__": [[key, value], ...]}
(keys keep their types), ints beyond 2^53 {"__int__": "digits"}, non-finite floats
{"__float__": "NaN"}, tuples and lists as arrays.
"""
import collections
import io
import json
import math
import os
import struct
import zipfile

import torch

from fixture_encoding import NAMES, enc, num  # noqa: F401 (shared with the other generators)
from fixture_encoding import OUT as LINE_OUT

OUT = os.path.join(LINE_OUT, 'interop')
ST_DTYPES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16',
             torch.int64: 'I64', torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8',
             torch.uint8: 'U8', torch.bool: 'BOOL'}




def mirror(v):
    """A JSON description of a loaded object (see the module docstring)."""
    if isinstance(v, torch.Tensor):
        return {'__tensor__': enc(v), 'requiresGrad': v.requires_grad}
    if isinstance(v, dict):
        return {'__dict__': [[k, mirror(x)] for k, x in v.items()]}
    if isinstance(v, (list, tuple)):
        return [mirror(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v if abs(v) <= 2 ** 53 - 1 else {'__int__': str(v)}
    if isinstance(v, float):
        return v if math.isfinite(v) else {'__float__': num(v)}
    raise TypeError(type(v))


def save_safetensors(tensors, path):
    """The safetensors layout: u64 LE header length, JSON header (keys sorted, compact), padded
    with spaces to a multiple of 8, then the raw little-endian data in header order."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach()
        raw = t.reshape(-1).contiguous().view(torch.uint8).numpy().tobytes()
        header[name] = {'dtype': ST_DTYPES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    js = json.dumps(header, separators=(',', ':')).encode('utf-8')
    js += b' ' * (-len(js) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(js)))
        f.write(js)
        for c in chunks:
            f.write(c)


def train(model, make_input, target_of, steps=3, lr=0.1):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        out = target_of(model(make_input()))
        loss = (out ** 2).mean()
        loss.backward()
        opt.step()


os.makedirs(OUT, exist_ok=True)
values = {}
models = {}


def save_pt(obj, name, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kw)
    values[name] = mirror(obj)


# ---- models --------------------------------------------------------------------------------

torch.manual_seed(20240501)
lstm = torch.nn.LSTM(input_size=4, hidden_size=6, num_layers=2, batch_first=True)
train(lstm, lambda: torch.randn(3, 5, 4), lambda r: r[0][:, -1] - 0.5)
gru = torch.nn.GRU(input_size=3, hidden_size=5, bidirectional=True)
train(gru, lambda: torch.randn(7, 2, 3), lambda r: r[0] - 0.25)
mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
train(mlp, lambda: torch.randn(10, 4), lambda y: y - 1.0)

specs = [
    ('lstm', lstm, {'inputSize': 4, 'hiddenSize': 6, 'numLayers': 2, 'batchFirst': True}, torch.randn(2, 5, 4)),
    ('gru', gru, {'inputSize': 3, 'hiddenSize': 5, 'bidirectional': True}, torch.randn(6, 2, 3)),
    ('mlp', mlp, {'layers': ['linear(4, 8)', 'tanh', 'linear(8, 3)']}, torch.randn(5, 4)),
]
for name, model, options, x in specs:
    model.eval()
    with torch.no_grad():
        r = model(x)
    flat = [r] if isinstance(r, torch.Tensor) else [r[0]] + (list(r[1]) if isinstance(r[1], tuple) else [r[1]])
    sd = model.state_dict()
    save_pt(sd, f'{name}.pt')
    save_safetensors(dict(sd), os.path.join(OUT, f'{name}.safetensors'))
    models[name] = {'options': options, 'keys': list(sd.keys()), 'input': enc(x), 'outputs': [enc(o) for o in flat]}

# ---- every dtype, shared storages, scalars, nested structures --------------------------------

g = torch.Generator().manual_seed(7)
f64 = torch.randn(2, 3, generator=g, dtype=torch.float64)
dtypes = {
    'float32': torch.tensor([1.5, -2.25, 3.4028234663852886e38, 1e-45, float('inf'), float('-inf')], dtype=torch.float32),
    'float64': torch.cat([f64.reshape(-1), torch.tensor([float('nan'), 1e308])]).reshape(2, 4),
    'float16': torch.tensor([[0.5, -65504.0], [6.1e-05, 1.0]], dtype=torch.float16),
    'bfloat16': torch.tensor([3.0e38, -1.5, 0.0078125], dtype=torch.bfloat16),
    'int8': torch.tensor([-128, 0, 127], dtype=torch.int8),
    'int16': torch.tensor([-32768, 12345, 32767], dtype=torch.int16),
    'int32': torch.tensor([[-2147483648, 7], [2147483647, 0]], dtype=torch.int32),
    'int64': torch.tensor([-(2 ** 63), 2 ** 53 + 1, 2 ** 63 - 1, -5], dtype=torch.int64),
    'uint8': torch.tensor([0, 200, 255], dtype=torch.uint8),
    'bool': torch.tensor([[True, False, True]]),
}
save_pt(dtypes, 'dtypes.pt')
save_safetensors(dtypes, os.path.join(OUT, 'dtypes.safetensors'))
int64_exact = [str(v) for v in dtypes['int64'].tolist()]

base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
shared = collections.OrderedDict([
    ('base', base), ('row', base[1]), ('col', base[:, 2]), ('T', base.t()), ('block', base[1:3, 2:5]),
    ('same', base),
])
save_pt(shared, 'shared.pt')

save_pt({'scalar': torch.tensor(3.5), 'int0d': torch.tensor(-7), 'empty': torch.empty(0),
         'empty2d': torch.zeros(0, 3, dtype=torch.float64), 'param': torch.nn.Parameter(torch.tensor([1.0, 2.0]))},
        'scalars.pt')

torch.manual_seed(3)
small = torch.nn.Linear(3, 2)
adam = torch.optim.Adam(small.parameters(), lr=0.01, betas=(0.8, 0.99))
for _ in range(2):
    adam.zero_grad()
    small(torch.randn(4, 3)).pow(2).sum().backward()
    adam.step()
nested = {
    'optimizer': adam.state_dict(),
    'model': small.state_dict(),
    'epoch': 3,
    'big': 2 ** 60 + 3,
    'negative': -70000,
    'ratio': 0.25,
    'name': 'run-1 ✓',
    'flags': [True, False, None],
    'pair': (1, 2.5, 'x'),
    'deep': {'a': [torch.ones(2, dtype=torch.int32), {'b': torch.zeros(1, dtype=torch.bool)}], 'empty': {}, 'none': []},
}
save_pt(nested, 'nested.pt')
save_pt(nested, 'nested-p4.pt', pickle_protocol=4)

# ---- the same state dict with deflate-compressed entries --------------------------------------

with zipfile.ZipFile(os.path.join(OUT, 'mlp.pt')) as src, \
        zipfile.ZipFile(os.path.join(OUT, 'deflated.pt'), 'w', compression=zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        dst.writestr(zi, src.read(info.filename))
values['deflated.pt'] = values['mlp.pt']

# ---- hostile pickles (assembled by hand; never unpickled here) ---------------------------------


def binunicode(s):
    b = s.encode('utf-8')
    return b'X' + struct.pack('<I', len(b)) + b


def short_binunicode(s):
    b = s.encode('utf-8')
    return b'\x8c' + bytes([len(b)]) + b


def hostile_zip(name, pkl, storages=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', compression=zipfile.ZIP_STORED) as z:
        for entry, data in [('data.pkl', pkl), *storages, ('version', b'3\n')]:
            z.writestr(zipfile.ZipInfo(f'{name[:-3]}/{entry}', date_time=(1980, 1, 1, 0, 0, 0)), data)
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(buf.getvalue())


# os.system('touch /tmp/torchrnn-pwned-os-system') through GLOBAL, as the whole object.
hostile_zip('hostile-os-system.pt',
            b'\x80\x02' + b'cos\nsystem\n' + binunicode('touch /tmp/torchrnn-pwned-os-system') + b'\x85R.')

# A state dict whose first entry is a real tensor and whose second is
# builtins.eval("open('/tmp/torchrnn-pwned-eval', 'w').write('pwned')") through STACK_GLOBAL (protocol 4).
tensor_call = (
    b'ctorch._utils\n_rebuild_tensor_v2\n'
    b'((' + binunicode('storage') + b'ctorch\nFloatStorage\n' + binunicode('0') + binunicode('cpu') + b'K\x02tQ'
    b'K\x00K\x02\x85K\x01\x85\x89ccollections\nOrderedDict\n)Rt' + b'R'
)
evil = short_binunicode('builtins') + short_binunicode('eval') + b'\x93' + \
    binunicode("open('/tmp/torchrnn-pwned-eval', 'w').write('pwned')") + b'\x85R'
hostile_zip('hostile-eval.pt',
            b'\x80\x04}(' + binunicode('weight') + tensor_call + binunicode('payload') + evil + b'u.',
            [('data/0', struct.pack('<2f', 1.0, 2.0))])

with open(os.path.join(OUT, 'models.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'models': models}, f, separators=(',', ':'))
with open(os.path.join(OUT, 'values.json'), 'w') as f:
    json.dump({'torch': torch.__version__, 'int64': int64_exact, 'values': values}, f, separators=(',', ':'))

total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
print(f'wrote {len(os.listdir(OUT))} files ({total} bytes) to {os.path.normpath(OUT)}')
