#!/usr/bin/python3
"""PyTorch's side of bench/train.ts: the LSTM classifier's training step in Python's own loop.
Usage: /usr/bin/python3 bench/train.py '<json config>' -> JSON on stdout."""
import json
import sys
import time

import torch
import torch.nn.functional as F


class Classifier(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.lstm = torch.nn.LSTM(c['input'], c['hidden'], num_layers=c['layers'], batch_first=True)
        self.head = torch.nn.Linear(c['hidden'], c['classes'])

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def main():
    c = json.loads(sys.argv[1])
    torch.set_num_threads(c['threads'])
    torch.manual_seed(0)
    model = Classifier(c)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(c['batch'], c['seq'], c['input'])
    y = torch.randint(0, c['classes'], (c['batch'],))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    warm = time.perf_counter()
    while time.perf_counter() - warm < 0.3 * c['minTime']:
        step()
    n, start = 0, time.perf_counter()
    while n < 5 or time.perf_counter() - start < c['minTime']:
        step()
        n += 1
    print(json.dumps({'stepsPerSec': n / (time.perf_counter() - start)}))


main()
