#!/usr/bin/python3
"""PyTorch's side of bench/rnn.ts: the same models, sizes, thread count and timing loop.
Usage: /usr/bin/python3 bench/rnn.py '<json config>'  ->  JSON rows on stdout."""
import json
import sys
import time

import torch


def measure(fn, min_time, min_iters):
    warm, i = time.perf_counter(), 0
    while i < 3 or time.perf_counter() - warm < 0.3 * min_time:
        fn()
        i += 1
    iters, start = 0, time.perf_counter()
    while True:
        fn()
        iters += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time and iters >= min_iters:
            return elapsed / iters


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg['threads'])
    torch.manual_seed(0)
    rows = []
    for case in cfg['cases']:
        ctor = {'lstm': torch.nn.LSTM, 'gru': torch.nn.GRU, 'rnn': torch.nn.RNN}[case['cell']]
        m = ctor(case['input'], case['hidden'], num_layers=case['layers'], batch_first=True)
        x = torch.randn(case['batch'], case['seq'], case['input'])

        def forward():
            with torch.no_grad():
                m(x)

        def train():
            out, _ = m(x)
            out.mean().backward()
            for p in m.parameters():
                p.grad = None

        for mode, fn in (('forward', forward), ('forward+backward', train)):
            t = measure(fn, cfg['minTime'], cfg['minIters'])
            rows.append({'id': case['id'], 'mode': mode, 'secondsPerIter': t, 'seqPerSec': case['batch'] / t})
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'rows': rows}))


main()
