#!/usr/bin/python3
"""Checks, in Python, files that torchrnn wrote: does PyTorch read them as torchrnn meant?

    /usr/bin/python3 scripts/check-interop.py <dir> [expected.json]

`expected.json` (default <dir>/expected.json) lists the files to check:
    {"files": {"<name>.pt" | "<name>.safetensors": {
        "value": <mirror>,            # what loading must give (encoding below)
        "weightsOnly": true,          # .pt: torch.load(weights_only=True) must read it
        "identical": [["k1", "k2"]],  # top-level keys that must hold the very same tensor object
        "module": {"kind": "LSTM" | "GRU" | "Sequential", "kwargs": {...} | "layers": [...],
                   "input": <enc>, "outputs": [<enc>, ...]}  # load_state_dict + forward must match
    }}}
Mirror encoding: tensors {"__tensor__": {"data", "shape", "dtype"}, "requiresGrad": bool, "exact": ["int64 digits", ...]?},
dicts {"__dict__": [[key, value], ...]} (order and key types checked), ints beyond 2^53
{"__int__": "digits"}, non-finite floats {"__float__": "NaN" | "Infinity" | "-Infinity"}, lists/tuples
as arrays, numbers (JSON ints must load as Python ints, others as floats), strings, booleans, null.
.pt files are loaded with torch.load(weights_only=True); on torch 1.13 files whose entry says
"weightsOnly": false (they hold floats, which 1.13's weights-only unpickler cannot read) fall
back to weights_only=False; on torch 2.x every file must load as written, torch.load(path)
(weights_only=True by default). Safetensors files are read by the reader below (the
`safetensors` package is not needed). Each .pt file's zip layout is checked against what
torch.save writes: one folder named after the file, `version` = "3\\n", data aligned to 64 bytes.
Prints every check; exits 1 on any mismatch.
"""
import json
import math
import os
import struct
import sys
import zipfile

import torch

TORCH2 = int(torch.__version__.split(".")[0]) >= 2

DTYPES = {'float32': torch.float32, 'float64': torch.float64, 'float16': torch.float16, 'bfloat16': torch.bfloat16,
          'int64': torch.int64, 'int32': torch.int32, 'int16': torch.int16, 'int8': torch.int8,
          'uint8': torch.uint8, 'bool': torch.bool}
NAMES = {v: k for k, v in DTYPES.items()}
ST = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64,
      'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}

problems = []


def fail(msg):
    problems.append(msg)
    print(f'  MISMATCH {msg}')


def decode(v):
    if v == 'NaN':
        return math.nan
    if v == 'Infinity':
        return math.inf
    if v == '-Infinity':
        return -math.inf
    return v


def expected_tensor(e):
    dtype = DTYPES[e['dtype']]
    if e.get('exact') is not None:
        return torch.tensor([int(x) for x in e['exact']], dtype=torch.int64).reshape(e['shape'])
    data = [decode(v) for v in e['data']]
    return torch.tensor(data, dtype=torch.float64).to(dtype).reshape(e['shape'])


def same_values(a, b):
    if a.dtype.is_floating_point:
        a, b = a.double(), b.double()
        return bool(torch.equal(torch.isnan(a), torch.isnan(b)) and torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0)))
    return bool(torch.equal(a, b))


def compare(actual, expected, where):
    """Checks one loaded value against its mirror; counts what it checked."""
    if isinstance(expected, dict) and '__tensor__' in expected:
        e = dict(expected['__tensor__'])
        if 'exact' in expected:
            e['exact'] = expected['exact']
        if not isinstance(actual, torch.Tensor):
            return fail(f'{where}: expected a tensor, got {type(actual).__name__}')
        if NAMES.get(actual.dtype) != e['dtype']:
            return fail(f'{where}: dtype {actual.dtype}, expected {e["dtype"]}')
        if list(actual.shape) != e['shape']:
            return fail(f'{where}: shape {list(actual.shape)}, expected {e["shape"]}')
        if not same_values(actual.detach(), expected_tensor(e)):
            return fail(f'{where}: values differ')
        if actual.requires_grad != expected.get('requiresGrad', False):
            return fail(f'{where}: requires_grad {actual.requires_grad}, expected {expected.get("requiresGrad")}')
        counts['tensors'] += 1
        return None
    if isinstance(expected, dict) and '__dict__' in expected:
        if not isinstance(actual, dict):
            return fail(f'{where}: expected a dict, got {type(actual).__name__}')
        keys = [k for k, _ in expected['__dict__']]
        if list(actual.keys()) != keys:
            return fail(f'{where}: keys {list(actual.keys())!r}, expected {keys!r}')
        for k, v in expected['__dict__']:
            compare(actual[k], v, f'{where}[{k!r}]')
        return None
    if isinstance(expected, dict) and '__int__' in expected:
        if type(actual) is not int or actual != int(expected['__int__']):
            return fail(f'{where}: {actual!r}, expected the int {expected["__int__"]}')
        counts['values'] += 1
        return None
    if isinstance(expected, list):
        if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
            return fail(f'{where}: {type(actual).__name__} {actual!r}, expected a list of {len(expected)}')
        for i, (a, e) in enumerate(zip(actual, expected)):
            compare(a, e, f'{where}[{i}]')
        return None
    if isinstance(expected, dict) and '__float__' not in expected:
        return fail(f'{where}: unknown mirror entry {expected!r}')
    if expected is None or isinstance(expected, (bool, str)):
        if type(actual) is not type(expected) or actual != expected:
            return fail(f'{where}: {actual!r}, expected {expected!r}')
    elif isinstance(expected, int):
        if type(actual) is not int or actual != expected:
            return fail(f'{where}: {actual!r} ({type(actual).__name__}), expected the int {expected}')
    elif isinstance(expected, float) or (isinstance(expected, dict) and '__float__' in expected):
        want = decode(expected['__float__']) if isinstance(expected, dict) else expected
        if type(actual) is not float or not (actual == want or (math.isnan(want) and math.isnan(actual))):
            return fail(f'{where}: {actual!r} ({type(actual).__name__}), expected the float {want!r}')
    counts['values'] += 1
    return None


def read_safetensors(path):
    with open(path, 'rb') as f:
        buf = f.read()
    n = struct.unpack('<Q', buf[:8])[0]
    if 8 + n > len(buf):
        raise ValueError('header length beyond the file')
    header = json.loads(buf[8:8 + n].decode('utf-8'))
    data = buf[8 + n:]
    out, spans = {}, []
    for name, info in header.items():
        if name == '__metadata__':
            continue
        dtype = ST[info['dtype']]
        begin, end = info['data_offsets']
        numel = math.prod(info['shape'])
        if end > len(data) or end - begin != numel * torch.empty(0, dtype=dtype).element_size():
            raise ValueError(f'{name}: bad data_offsets {info["data_offsets"]}')
        spans.append((begin, end))
        raw = bytearray(data[begin:end])
        t = torch.frombuffer(raw, dtype=dtype) if numel else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info['shape'])
    spans.sort()
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        raise ValueError('tensors overlap')
    return out


def check_zip_layout(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    with zipfile.ZipFile(path) as z, open(path, 'rb') as f:
        raw = f.read()
        names = z.namelist()
        folders = {n.split('/', 1)[0] for n in names}
        if folders != {stem}:
            fail(f'{path}: entries in folders {sorted(folders)}, expected only "{stem}/" (torch.save names it after the file)')
        if z.read(f'{stem}/version') != b'3\n':
            fail(f'{path}: version record {z.read(f"{stem}/version")!r}, expected b"3\\n"')
        for info in z.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                fail(f'{path}: {info.filename} is compressed')
            h = info.header_offset
            name_len, extra_len = struct.unpack('<HH', raw[h + 26:h + 30])
            start = h + 30 + name_len + extra_len
            if start % 64 != 0:
                fail(f'{path}: {info.filename} data starts at byte {start}, not a multiple of 64')
        if z.testzip() is not None:
            fail(f'{path}: CRC mismatch in {z.testzip()}')
        print(f'  ok zip layout: {len(names)} entries in {stem}/, version 3, data 64-byte aligned, CRCs valid')


def build_module(spec):
    kind = spec['kind']
    if kind in ('LSTM', 'GRU', 'RNN'):
        return getattr(torch.nn, kind)(**spec['kwargs'])
    layers = []
    for layer in spec['layers']:
        if layer[0] == 'linear':
            layers.append(torch.nn.Linear(layer[1], layer[2]))
        elif layer[0] == 'tanh':
            layers.append(torch.nn.Tanh())
        else:
            raise ValueError(layer)
    return torch.nn.Sequential(*layers)


def check_module(sd, spec, where):
    m = build_module(spec).eval()
    m.load_state_dict(sd, strict=True)
    with torch.no_grad():
        r = m(expected_tensor(spec['input']))
    flat = [r] if isinstance(r, torch.Tensor) else [r[0]] + (list(r[1]) if isinstance(r[1], tuple) else [r[1]])
    if len(flat) != len(spec['outputs']):
        return fail(f'{where}: {len(flat)} outputs, expected {len(spec["outputs"])}')
    for i, (a, e) in enumerate(zip(flat, spec['outputs'])):
        want = expected_tensor(e)
        if list(a.shape) != e['shape'] or not torch.allclose(a.double(), want.double(), rtol=1e-5, atol=1e-6):
            return fail(f'{where}: output {i} differs (max |diff| {(a.double() - want.double()).abs().max().item():.3g})')
    print(f'  ok torch.nn.{spec["kind"]}.load_state_dict(strict=True) and forward: {len(flat)} outputs match torchrnn\'s')
    return None


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    folder = sys.argv[1]
    spec_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(folder, 'expected.json')
    with open(spec_path) as f:
        spec = json.load(f)
    print(f'check-interop: torch {torch.__version__}, {len(spec["files"])} files in {folder}')
    for name, entry in spec['files'].items():
        path = os.path.join(folder, name)
        global counts
        counts = {'tensors': 0, 'values': 0}
        print(f'{name}:')
        try:
            if name.endswith('.safetensors'):
                obj = read_safetensors(path)
                how = 'hand-written safetensors reader'
            else:
                check_zip_layout(path)
                try:
                    # torch 2.6 loads with weights_only=True by default: the file must load as
                    # written, torch.load(path), with no fallback
                    obj = torch.load(path) if TORCH2 else torch.load(path, weights_only=True)
                    how = 'torch.load(path) (weights_only=True by default)' if TORCH2 else 'torch.load(weights_only=True)'
                except Exception as err:  # noqa: BLE001 (reported below)
                    if TORCH2 or entry.get('weightsOnly', True):
                        fail(f'{name}: torch.load failed: {err}')
                        continue
                    obj = torch.load(path, weights_only=False)
                    how = 'torch.load(weights_only=False): it holds floats, which weights_only cannot read in torch 1.13'
            before = len(problems)
            compare(obj, entry['value'], name)
            for a, b in entry.get('identical', []):
                if obj[a] is not obj[b]:
                    fail(f'{name}: [{a!r}] and [{b!r}] are not the same tensor object')
            if len(problems) == before:
                print(f'  ok {how}: {counts["tensors"]} tensors and {counts["values"]} other values as expected')
            if 'module' in entry:
                check_module(obj, entry['module'], name)
        except Exception as err:  # noqa: BLE001 (a file Python cannot read is a mismatch)
            fail(f'{name}: {type(err).__name__}: {err}')
    if problems:
        print(f'check-interop: {len(problems)} mismatch(es)')
        return 1
    print(f'check-interop: all {len(spec["files"])} files OK')
    return 0


counts = {'tensors': 0, 'values': 0}
if __name__ == '__main__':
    sys.exit(main())
