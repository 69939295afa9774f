#!/usr/bin/env python3
"""Reference learning-rate schedules from PyTorch 1.13 for test/41.optim.lr-scheduler.test.ts.

Usage: /usr/bin/python3 scripts/gen-fixtures-sched.py   (writes test/fixtures/torch-<line>/lr-scheduler.json)

Each case builds a torch.optim optimizer (SGD, Adam or Adagrad) over dummy parameters, one
param group per entry of `groups`, attaches the scheduler with the case's options (torchrnn's
camelCase names, translated below) and records the lr of every group after construction and
after each of STEPS calls of scheduler.step() (optimizer.step() first, as PyTorch asks), plus
the momentum (SGD) or betas[0] (Adam) of every group for OneCycleLR. ReduceLROnPlateau is fed
the case's fixed metric sequence. The scheduler's state_dict at the end is recorded under
torchrnn's key names:
  - snake_case keys become camelCase (`_step_count` -> `_stepCount`, `T_max` -> `tMax`);
  - `_get_lr_called_within_step` (always False between calls) is left out;
  - MultiStepLR's `milestones` Counter is a plain object {"epoch": count};
  - OneCycleLR's `anneal_func` (a bound method, not data) becomes `_annealFuncType` ('cos' or
    'linear'), the key PyTorch 2 stores instead, and the group key names inside
    `_schedule_phases` are camelCased ('initial_lr' -> 'initialLr');
  - LambdaLR's `lr_lambdas` is a list of None (plain functions are not saved);
  - non-finite numbers are written as the strings "Infinity", "-Infinity", "NaN".
Lambdas of LambdaLR are named here and in the test (LAMBDAS).
"""
import json
import math
import os
import re
import warnings
from collections import Counter

import torch
from torch.optim import lr_scheduler as L

from fixture_encoding import OUT

STEPS = 60

LAMBDAS = {
    'pow95': lambda e: 0.95 ** e,
    'warmup10': lambda e: min(1.0, (e + 1) / 10),
    'halfEvery20': lambda e: 0.5 ** (e // 20),
}

# Python keyword for each camelCase option
SPECIAL = {'tMax': 'T_max', 'etaMin': 'eta_min'}


def snake(name):
    return SPECIAL.get(name) or re.sub(r'([A-Z])', lambda m: '_' + m.group(1).lower(), name)


def camel(name):
    for k, v in SPECIAL.items():
        if v == name:
            return k
    lead = '_' if name.startswith('_') else ''
    parts = name.lstrip('_').split('_')
    return lead + parts[0] + ''.join(p[:1].upper() + p[1:] for p in parts[1:])


def enc(v):
    if isinstance(v, float) and not math.isfinite(v):
        return 'NaN' if math.isnan(v) else ('Infinity' if v > 0 else '-Infinity')
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return v
    if isinstance(v, (list, tuple)):
        return [enc(x) for x in v]
    if isinstance(v, dict):
        return {str(k): enc(x) for k, x in v.items()}
    raise TypeError(f'cannot encode {v!r}')


def state_dict_for_torchrnn(kind, sched, options):
    sd = dict(sched.state_dict())
    sd.pop('_get_lr_called_within_step', None)
    out = {}
    for k, v in sd.items():
        if k == 'anneal_func':
            out['_annealFuncType'] = options.get('annealStrategy', 'cos')
            continue
        if k == 'milestones':
            v = {str(e): c for e, c in sorted(Counter(v).items())}
        if k == '_schedule_phases':
            v = [{camel(pk): (camel(pv) if isinstance(pv, str) else pv) for pk, pv in ph.items()} for ph in v]
        out[camel(k)] = enc(v)
    return out


def make_optimizer(kind, groups):
    pgs = []
    for g in groups:
        pg = {'params': [torch.zeros(2, requires_grad=True)], 'lr': g['lr']}
        if 'momentum' in g:
            pg['momentum'] = g['momentum']
        if 'betas' in g:
            pg['betas'] = tuple(g['betas'])
        pgs.append(pg)
    if kind == 'SGD':
        opt = torch.optim.SGD(pgs, lr=groups[0]['lr'])
    elif kind == 'Adam':
        opt = torch.optim.Adam(pgs, lr=groups[0]['lr'])
    elif kind == 'Adagrad':
        opt = torch.optim.Adagrad(pgs, lr=groups[0]['lr'])
    else:
        raise ValueError(kind)
    for pg, g in zip(opt.param_groups, groups):
        if 'initialLr' in g:  # resuming (lastEpoch >= 0) needs initial_lr on every group
            pg['initial_lr'] = g['initialLr']
    return opt


def momentum_of(group):
    return group['betas'][0] if 'betas' in group else group['momentum']


def run(case):
    kind = case['scheduler']
    opt = make_optimizer(case.get('optimizer', 'SGD'), case['groups'])
    kwargs = {}
    for k, v in case['options'].items():
        if k == 'lrLambda':
            v = [LAMBDAS[n] for n in v] if isinstance(v, list) else LAMBDAS[v]
        kwargs[snake(k)] = v
    sched = getattr(L, kind)(opt, **kwargs)
    cycle = kind == 'OneCycleLR' and case['options'].get('cycleMomentum', True)
    lrs = [[g['lr'] for g in opt.param_groups]]
    moms = [[momentum_of(g) for g in opt.param_groups]] if cycle else None
    metrics = case.get('metrics')
    for i in range(STEPS):
        opt.step()
        if metrics is not None:
            sched.step(metrics[i])
        else:
            sched.step()
        lrs.append([g['lr'] for g in opt.param_groups])
        assert kind == 'ReduceLROnPlateau' or sched.get_last_lr() == lrs[-1]
        if cycle:
            moms.append([momentum_of(g) for g in opt.param_groups])
    out = dict(case)
    out['lrs'] = lrs
    if moms is not None:
        out['momentums'] = moms
    out['stateDict'] = state_dict_for_torchrnn(kind, sched, case['options'])
    out['groupsAfter'] = [enc({camel(k): v for k, v in g.items() if k != 'params' and (k in ('lr', 'momentum', 'betas') or k.endswith('_lr') or k.endswith('_momentum'))}) for g in opt.param_groups]
    return out


def plateau_metrics(pattern):
    """Fixed metric sequences (60 values) with plateaus, tiny changes and recoveries."""
    if pattern == 'down':
        seq = [10.0, 9.0, 8.0, 8.0, 8.0, 8.0, 8.0, 7.9995, 7.9995, 7.99, 7.0, 7.0, 7.0, 7.0, 7.0, 7.0,
               6.9999, 6.9998, 6.5, 6.5, 6.5, 6.5, 6.49, 6.49, 6.49, 6.49, 6.49, 6.49, 6.0, 6.1, 6.2, 6.3,
               6.4, 5.99, 5.98, 5.97, 5.97, 5.97, 5.97, 5.97, 5.97, 5.97, 5.97, 5.97, 5.0, 5.0, 5.0, 5.0,
               5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0, 4.95, 4.95, 4.95, 4.95, 4.95]
    else:  # 'up': accuracy-like, for mode 'max'
        seq = [0.1, 0.2, 0.3, 0.3, 0.3, 0.30001, 0.305, 0.31, 0.31, 0.31, 0.31, 0.5, 0.5, 0.5, 0.5, 0.5,
               0.5, 0.55, 0.56, 0.56, 0.56, 0.56, 0.56, 0.56, 0.56, 0.6, 0.59, 0.58, 0.57, 0.7, 0.7, 0.7,
               0.7, 0.71, 0.71, 0.71, 0.72, 0.72, 0.72, 0.72, 0.72, 0.72, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8,
               0.8, 0.8, 0.8, 0.8, 0.8, 0.81, 0.81, 0.81, 0.81, 0.81, 0.81, 0.81]
    assert len(seq) == STEPS
    return seq


def cases():
    sgd = lambda *lrs, momentum=None: [dict(lr=lr, **({'momentum': momentum} if momentum is not None else {})) for lr in lrs]
    c = [
        # StepLR
        dict(name='step_size7_gamma0.5', scheduler='StepLR', options={'stepSize': 7, 'gamma': 0.5}, groups=sgd(0.1)),
        dict(name='step_size3_default_gamma_3groups', scheduler='StepLR', options={'stepSize': 3}, groups=sgd(0.1, 0.02, 1.0)),
        dict(name='step_resume_lastEpoch9', scheduler='StepLR', options={'stepSize': 4, 'gamma': 0.8, 'lastEpoch': 9},
             groups=[{'lr': 0.05, 'initialLr': 0.1}]),
        # MultiStepLR
        dict(name='multistep_repeated_milestone_2groups', scheduler='MultiStepLR', options={'milestones': [10, 25, 25, 40], 'gamma': 0.5},
             groups=sgd(0.1, 0.3)),
        dict(name='multistep_unsorted_default_gamma', scheduler='MultiStepLR', options={'milestones': [5, 3, 50]}, groups=sgd(1.0)),
        # ExponentialLR
        dict(name='exponential_0.95_2groups', scheduler='ExponentialLR', options={'gamma': 0.95}, groups=sgd(0.1, 0.01)),
        dict(name='exponential_0.7', scheduler='ExponentialLR', options={'gamma': 0.7}, groups=sgd(3.0)),
        # CosineAnnealingLR (T_max below 60 crosses the minimum and climbs again: the recursive branch)
        dict(name='cosine_tmax10', scheduler='CosineAnnealingLR', options={'tMax': 10}, groups=sgd(0.1)),
        dict(name='cosine_tmax25_etamin_2groups', scheduler='CosineAnnealingLR', options={'tMax': 25, 'etaMin': 1e-3},
             groups=sgd(0.1, 0.05)),
        dict(name='cosine_tmax7_etamin', scheduler='CosineAnnealingLR', options={'tMax': 7, 'etaMin': 0.01}, groups=sgd(0.5)),
        dict(name='cosine_tmax60', scheduler='CosineAnnealingLR', options={'tMax': 60, 'etaMin': 1e-4}, groups=sgd(0.02)),
        dict(name='cosine_resume_lastEpoch4', scheduler='CosineAnnealingLR', options={'tMax': 12, 'etaMin': 0.001, 'lastEpoch': 4},
             groups=[{'lr': 0.07, 'initialLr': 0.1}, {'lr': 0.2, 'initialLr': 0.3}]),
        # LinearLR
        dict(name='linear_defaults_2groups', scheduler='LinearLR', options={}, groups=sgd(0.1, 0.5)),
        dict(name='linear_decay_40', scheduler='LinearLR', options={'startFactor': 1.0, 'endFactor': 0.1, 'totalIters': 40}, groups=sgd(0.1)),
        dict(name='linear_quarter_to_three_quarters_60', scheduler='LinearLR',
             options={'startFactor': 0.25, 'endFactor': 0.75, 'totalIters': 60}, groups=sgd(0.2)),
        # LambdaLR
        dict(name='lambda_pow95', scheduler='LambdaLR', options={'lrLambda': 'pow95'}, groups=sgd(0.1, 0.4)),
        dict(name='lambda_per_group', scheduler='LambdaLR', options={'lrLambda': ['warmup10', 'halfEvery20']}, groups=sgd(0.1, 0.4)),
        # OneCycleLR
        dict(name='onecycle_cos_sgd_momentum', scheduler='OneCycleLR', options={'maxLr': 0.1, 'totalSteps': 60},
             groups=sgd(0.01, momentum=0.9)),
        dict(name='onecycle_linear_2groups_epochs', scheduler='OneCycleLR',
             options={'maxLr': [0.1, 0.05], 'epochs': 10, 'stepsPerEpoch': 7, 'pctStart': 0.25, 'annealStrategy': 'linear'},
             groups=sgd(0.01, 0.02, momentum=0.9)),
        dict(name='onecycle_threephase_cos_adam', scheduler='OneCycleLR', optimizer='Adam',
             options={'maxLr': 0.01, 'totalSteps': 60, 'threePhase': True, 'baseMomentum': 0.8, 'maxMomentum': 0.9},
             groups=[{'lr': 0.001, 'betas': [0.9, 0.999]}, {'lr': 0.002, 'betas': [0.85, 0.99]}]),
        dict(name='onecycle_threephase_linear_adam', scheduler='OneCycleLR', optimizer='Adam',
             options={'maxLr': [0.01, 0.003], 'totalSteps': 75, 'threePhase': True, 'annealStrategy': 'linear',
                      'divFactor': 10.0, 'finalDivFactor': 100.0, 'pctStart': 0.4,
                      'baseMomentum': [0.8, 0.85], 'maxMomentum': [0.9, 0.95]},
             groups=[{'lr': 0.001, 'betas': [0.9, 0.999]}, {'lr': 0.002, 'betas': [0.9, 0.98]}]),
        dict(name='onecycle_cos_adam_pct0.5', scheduler='OneCycleLR', optimizer='Adam',
             options={'maxLr': 0.02, 'totalSteps': 80, 'pctStart': 0.5},
             groups=[{'lr': 0.001, 'betas': [0.9, 0.999]}]),
        dict(name='onecycle_no_cycle_momentum_adagrad', scheduler='OneCycleLR', optimizer='Adagrad',
             options={'maxLr': 0.5, 'totalSteps': 61, 'cycleMomentum': False}, groups=sgd(0.01)),
        dict(name='onecycle_linear_sgd_pct0', scheduler='OneCycleLR',
             options={'maxLr': 0.3, 'totalSteps': 60, 'pctStart': 0.0, 'annealStrategy': 'linear'}, groups=sgd(0.01, momentum=0.5)),
        # ReduceLROnPlateau
        dict(name='plateau_min_rel_2groups_minlr', scheduler='ReduceLROnPlateau',
             options={'patience': 3, 'factor': 0.5, 'minLr': [1e-3, 0.0]}, groups=sgd(0.1, 0.01), metrics=plateau_metrics('down')),
        dict(name='plateau_min_abs_cooldown', scheduler='ReduceLROnPlateau',
             options={'patience': 2, 'thresholdMode': 'abs', 'threshold': 0.1, 'cooldown': 3, 'factor': 0.7},
             groups=sgd(0.1), metrics=plateau_metrics('down')),
        dict(name='plateau_min_defaults', scheduler='ReduceLROnPlateau', options={}, groups=sgd(0.1), metrics=plateau_metrics('down')),
        dict(name='plateau_max_rel', scheduler='ReduceLROnPlateau',
             options={'mode': 'max', 'patience': 4, 'factor': 0.3, 'threshold': 1e-2}, groups=sgd(0.1, 0.2), metrics=plateau_metrics('up')),
        dict(name='plateau_max_abs_eps_minlr', scheduler='ReduceLROnPlateau',
             options={'mode': 'max', 'thresholdMode': 'abs', 'threshold': 0.005, 'patience': 0, 'cooldown': 1,
                      'factor': 0.5, 'minLr': 0.01, 'eps': 1e-3},
             groups=sgd(0.1), metrics=plateau_metrics('up')),
    ]
    return c


def main():
    warnings.simplefilter('error')  # no scheduler warning may fire (optimizer.step() comes first)
    out = {'torch': torch.__version__, 'steps': STEPS, 'cases': [run(c) for c in cases()]}
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, 'lr-scheduler.json')
    with open(path, 'w') as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write('\n')
    print(f'wrote {len(out["cases"])} cases to {os.path.normpath(path)}')


if __name__ == '__main__':
    main()
