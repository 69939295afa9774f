"""How the fixture generators (scripts/gen-fixtures*.py) write tensors into JSON for
test/helpers.ts: {data, shape, dtype}, data flat in row-major order, non-finite floats as the
strings "NaN", "Infinity", "-Infinity", float16/bfloat16 through float32; and where they write:
one folder per PyTorch line, test/fixtures/torch-<major>.<minor>/ of the torch that runs them
(each libtorch line's tests compare with its own PyTorch)."""
import math
import os

import torch

LINE = '.'.join(torch.__version__.split('+')[0].split('.')[:2])
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch-' + LINE)

NAMES = {torch.float32: 'float32', torch.float64: 'float64', torch.int64: 'int64', torch.int32: 'int32',
         torch.bool: 'bool', torch.uint8: 'uint8', torch.float16: 'float16', torch.bfloat16: 'bfloat16',
         torch.int8: 'int8', torch.int16: 'int16'}


def num(v):
    if isinstance(v, float) and not math.isfinite(v):
        return 'NaN' if math.isnan(v) else ('Infinity' if v > 0 else '-Infinity')
    return v


def enc(t):
    if t is None:
        return None
    t = t.detach()
    flat = t.reshape(-1)
    if t.dtype in (torch.float16, torch.bfloat16):
        flat = flat.float()
    return {'data': [num(v) for v in flat.tolist()], 'shape': list(t.shape), 'dtype': NAMES[t.dtype]}
