#!/usr/bin/python3
"""PyTorch's side of the benchmark suite: the same models, data (same seed: the same libtorch
gives the same numbers), thread count and timing loop, in Python's own training loop.
A worker process: JSON requests on stdin, answers on file descriptor 3 (see bench/common.ts).
The reference for every ratio the suite reports."""
import asyncio
import concurrent.futures
import ctypes
import json
import os
import sys
import time
import traceback

import torch
import torch.nn.functional as F

GATES = {'lstm': 4, 'gru': 3, 'rnn': 1}


def rss_kb():
    try:
        with open('/proc/self/status') as f:
            s = f.read()
        get = lambda k: int(s.split(k + ':')[1].split()[0])
        return get('VmRSS'), get('VmHWM')
    except OSError:
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak, peak


def blas_info():
    try:
        with open('/proc/self/maps') as f:
            libs = sorted({l.split()[5] for l in f if len(l.split()) > 5 and any(k in l.lower() for k in ('blas', 'lapack', 'mkl'))})
    except OSError:
        return None, None
    threads = None
    for lib in libs:
        if 'openblas' in lib:
            try:
                threads = ctypes.CDLL(lib).openblas_get_num_threads()
            except (OSError, AttributeError):
                pass
    return ', '.join(libs) or None, threads


class Classifier(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        ctor = {'lstm': torch.nn.LSTM, 'gru': torch.nn.GRU, 'rnn': torch.nn.RNN}[c['cell']]
        extra = {'proj_size': c['proj']} if c.get('proj') else {}
        self.rnn = ctor(c['input'], c['hidden'], num_layers=c['layers'], batch_first=True, dropout=c.get('dropout') or 0, **extra)
        self.head = torch.nn.Linear(c.get('proj') or c['hidden'], c['classes'])

    def forward(self, x, lengths=None):
        if lengths is not None:
            packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, state = self.rnn(packed)
            h = state[0] if isinstance(state, tuple) else state
            return self.head(h[-1])
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class CharLM(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.vocab = c['classes']
        self.embed = torch.nn.Embedding(c['classes'], c['embed'])
        self.rnn = torch.nn.LSTM(c['embed'], c['hidden'], num_layers=c['layers'], batch_first=True)
        self.head = torch.nn.Linear(c['hidden'], c['classes'])

    def forward(self, x):
        out, _ = self.rnn(self.embed(x))
        return self.head(out).reshape(-1, self.vocab)


def model_runner(c):
    torch.manual_seed(0)
    lengths = None
    if c['kind'] == 'charlm':
        model = CharLM(c)
        x = torch.randint(0, c['classes'], (c['batch'], c['seq']))
        y = torch.randint(0, c['classes'], (c['batch'] * c['seq'],))
    else:
        model = Classifier(c)
        x = torch.randn(c['batch'], c['seq'], c['input'])
        y = torch.randint(0, c['classes'], (c['batch'],))
        if c.get('lengths'):
            lengths = torch.tensor(c['lengths'], dtype=torch.int64)
            x = x * (torch.arange(c['seq']).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2).float()
    args = (x,) if lengths is None else (x, lengths)
    if c['mode'] == 'train':
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(*args), y)
            loss.backward()
            opt.step()
            return loss.item()
        return step
    model.eval()

    def infer():
        with torch.no_grad():
            model(*args).numpy()
    return infer


class TimedInLoop:
    """An async case timed call by call inside one coroutine on the event loop: what `fn` is for
    time_runner, without starting the loop again for every call (run_until_complete costs more
    than the call's own awaiting)."""

    def __init__(self, loop, call):
        self.loop, self.call = loop, call

    def timed(self, o):
        async def run():
            times, start = [], time.perf_counter()
            while True:
                t0 = time.perf_counter()
                await self.call()
                times.append(time.perf_counter() - t0)
                if len(times) >= o['maxIters'] or (len(times) >= o['minIters'] and time.perf_counter() - start >= o['minTime']):
                    return {'times': times}
        return self.loop.run_until_complete(run())


def serve_runner(c):
    """Serving: the recurrent module alone on one sequence (batch 1) under inference_mode, as a
    Python server runs it. Async: awaited from asyncio through loop.run_in_executor on a thread
    pool (one thread, or asyncio's default size when c['pool'] is 0); inference_mode is set inside
    the call because it is per thread. 'concurrent': c['inflight'] coroutines, each awaiting one
    call after another, until c['requests'] calls are done."""
    torch.manual_seed(0)
    ctor = torch.nn.LSTM if c['cell'] == 'lstm' else torch.nn.GRU
    rnn = ctor(c['input'], c['hidden'], num_layers=c['layers'], batch_first=True).eval()
    x = torch.randn(1, c['seq'], c['input'])

    def call():
        with torch.inference_mode():
            return rnn(x)
    if c['mode'] == 'sync':
        return call
    loop = asyncio.new_event_loop()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=c['pool'] or None)

    async def one():
        await loop.run_in_executor(pool, call)
    if c['mode'] == 'async':
        return TimedInLoop(loop, one)

    async def many():
        left = [c['requests']]

        async def client():
            while left[0] > 0:
                left[0] -= 1
                await one()
        await asyncio.gather(*[client() for _ in range(c['inflight'])])
    return lambda: loop.run_until_complete(many())


def setup(c):
    if c['kind'] in ('classifier', 'charlm'):
        return model_runner(c)
    if c['kind'] == 'serve':
        return serve_runner(c)
    if c['kind'] == 'matmul':
        a, b = torch.randn(c['n'], c['n']), torch.randn(c['n'], c['n'])
        return lambda: torch.matmul(a, b)
    if c['kind'] == 'tiny':
        lin, x, calls = torch.nn.Linear(4, 4), torch.randn(1, 4), c['calls']
        if c['op'] == 'add':
            def add():
                for _ in range(calls):
                    x.add(x)
            return add

        if not c['async']:
            def linear():
                for _ in range(calls):
                    lin(x)
            return linear
        # The asynchronous form a Python program that keeps its event loop free uses: the call
        # runs on a worker thread and the coroutine awaits it (forwardAsync's counterpart).
        loop, pool = asyncio.new_event_loop(), concurrent.futures.ThreadPoolExecutor(max_workers=1)

        async def many():
            for _ in range(calls):
                await loop.run_in_executor(pool, lin, x)
        return lambda: loop.run_until_complete(many())
    raise ValueError('no runner for ' + c['kind'])


def time_runner(fn, o, per_call):
    times, start = [], time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) / per_call)
        if len(times) >= o['maxIters'] or (len(times) >= o['minIters'] and time.perf_counter() - start >= o['minTime']):
            return {'times': times}


def main():
    out = os.fdopen(3, 'w')
    # idle: the library loaded and the first request answered (as bench/common.ts's servePeer)
    baseline = rss_kb()[0]
    helloed = False
    current = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req['op']
            if op == 'exit':
                break
            if op == 'hello':
                if isinstance(req.get('threads'), int):
                    torch.set_num_threads(req['threads'])
                blas, blas_threads = blas_info()
                result = {'peer': 'pytorch', 'version': 'PyTorch %s (Python %s)' % (torch.__version__, sys.version.split()[0]),
                          'threads': torch.get_num_threads(), 'blas': blas,
                          'notes': ['interop threads %d' % torch.get_num_interop_threads()] +
                                   (['OpenBLAS threads %d' % blas_threads] if blas_threads else [])}
                if not helloed:
                    baseline, helloed = rss_kb()[0], True
            elif op == 'setup':
                t0 = time.perf_counter()
                current = (req['case'], setup(req['case']))
                result = {'seconds': time.perf_counter() - t0}
            elif op == 'run':
                c, fn = current
                result = fn.timed(req) if isinstance(fn, TimedInLoop) else time_runner(fn, req, c['calls'] if c['kind'] == 'tiny' else 1)
            elif op == 'dispose':
                current = None
                result = None
            elif op == 'mem':
                rss, peak = rss_kb()
                result = {'baselineKB': baseline, 'rssKB': rss, 'peakKB': peak}
            else:
                raise ValueError('unknown op ' + op)
            answer = {'ok': True, 'result': result}
        except Exception as err:  # noqa: BLE001 -- every failure goes back to the orchestrator
            answer = {'ok': False, 'error': ' | '.join(traceback.format_exception_only(type(err), err)).strip()}
        out.write(json.dumps(answer) + '\n')
        out.flush()


main()
