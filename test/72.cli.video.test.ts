// The `video` CLI task: the Moving-MNIST clip generator (lib/cli/tasks/video-data.ts) and the
// task end to end on a --limit slice through the built bin (as test/70).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import {
  CLEAR_STEPS, DIRECTIONS, directionClass, FRAME, FRAMES, loadDigits, makeClips, MAX_POS, MIN_GAP, renderClip, trajectory,
} from '../lib/cli/tasks/video-data';
import { mnistSplit } from '../lib/cli/tasks/common';
import { CLI_BIN as BIN, runCli, suiteTmpDir } from './helpers';

const cli = (args: string[]) => runCli(args);

/** The smallest box around the pixels above 0 of one frame: [x0, y0, x1, y1], or null for an empty frame. */
function box(pixels: Float32Array, t: number): [number, number, number, number] | null {
  let b: [number, number, number, number] | null = null;
  for (let y = 0; y < FRAME; y++) {
    for (let x = 0; x < FRAME; x++) {
      if (pixels[t * FRAME * FRAME + y * FRAME + x] > 0) b = b ? [Math.min(b[0], x), Math.min(b[1], y), Math.max(b[2], x), Math.max(b[3], y)] : [x, y, x, y];
    }
  }
  return b;
}

describe('video task: the clip generator', () => {
  const images = loadDigits();
  const split = mnistSplit(images.labels.length);

  it('training and test clips take their digits from disjoint images', () => {
    assert.strictEqual(split.train.length + split.test.length, images.labels.length);
    const test = new Set(split.test);
    assert.ok(split.train.every((i) => !test.has(i)));
    const clips = makeClips(images, split.test, 200, 1);
    assert.ok(clips.every((c) => c.images.every((i) => test.has(i))));
  });

  it('the same seed gives the same clips, another seed other clips; a shorter list is a prefix', () => {
    const a = makeClips(images, split.train, 30, 7);
    assert.deepStrictEqual(makeClips(images, split.train, 30, 7), a);
    assert.deepStrictEqual(makeClips(images, split.train, 10, 7), a.slice(0, 10));
    const b = makeClips(images, split.train, 30, 8);
    assert.ok(a.filter((c, i) => JSON.stringify(c) === JSON.stringify(b[i])).length === 0);
    assert.deepStrictEqual(renderClip(images, a[3]), renderClip(images, makeClips(images, split.train, 30, 7)[3]));
  });

  it('bouncing keeps both digits inside the frame in every frame', () => {
    const clips = makeClips(images, split.train, 300, 3);
    let bounced = 0;
    for (const c of clips) {
      for (const d of [0, 1]) {
        const path = trajectory(c.start[d], c.velocity[d]);
        assert.strictEqual(path.length, FRAMES);
        for (const [x, y] of path) assert.ok(x >= 0 && x <= MAX_POS && y >= 0 && y <= MAX_POS, JSON.stringify({ c, d, x, y }));
        // a bounce: the step's sign changes in x or y
        if (path.some(([x], t) => t > 1 && Math.sign(x - path[t - 1][0]) !== Math.sign(path[1][0] - path[0][0]))) bounced++;
      }
    }
    assert.ok(bounced > 100, `digits bounce (${bounced} of 600 paths)`);
    // the drawn pixels: each frame's ink lies inside the frame and near the digits' corners
    for (const c of clips.slice(0, 20)) {
      const pixels = renderClip(images, c);
      assert.strictEqual(pixels.length, FRAMES * FRAME * FRAME);
      const paths = [trajectory(c.start[0], c.velocity[0]), trajectory(c.start[1], c.velocity[1])];
      for (let t = 0; t < FRAMES; t++) {
        const b = box(pixels, t);
        assert.ok(b, `frame ${t} has ink`);
        const xs = paths.map((p) => Math.round(p[t][0]));
        const ys = paths.map((p) => Math.round(p[t][1]));
        assert.ok(b[0] >= Math.min(...xs) && b[2] <= Math.max(...xs) + 27 && b[1] >= Math.min(...ys) && b[3] <= Math.max(...ys) + 27, JSON.stringify({ t, b, xs, ys }));
      }
    }
  });

  it('bounces reflect at the edges (a hand-made path)', () => {
    assert.deepStrictEqual(trajectory([30, 2], [3, -2], 5), [[30, 2], [33, 0], [36, 2], [33, 4], [30, 6]]);
    const p = trajectory([34.5, 10], [2.5, 0], 3);
    assert.deepStrictEqual(p.map(([x]) => x), [34.5, 35, 32.5]);
  });

  it('direction classes: compass directions in screen coordinates (y down)', () => {
    assert.deepStrictEqual(DIRECTIONS, ['right', 'down-right', 'down', 'down-left', 'left', 'up-left', 'up', 'up-right']);
    const cases: [number, number, string][] = [[3, 0, 'right'], [2, 2, 'down-right'], [0, 2.5, 'down'], [-2, 2, 'down-left'], [-3.5, 0, 'left'],
      [-2, -2, 'up-left'], [0, -3, 'up'], [2, -2, 'up-right'], [3, 0.4, 'right'], [-0.3, -3, 'up']];
    for (const [vx, vy, name] of cases) assert.strictEqual(DIRECTIONS[directionClass(vx, vy)], name, `${vx}, ${vy}`);
    // a hand-made clip: the first digit moves up-left; its path goes up and left for CLEAR_STEPS steps
    const path = trajectory([20, 20], [-2, -2], CLEAR_STEPS + 1);
    assert.deepStrictEqual(path, [[20, 20], [18, 18], [16, 16], [14, 14]]);
  });

  it("the label is the first (leftmost) digit's direction, visible in its first steps", () => {
    const clips = makeClips(images, split.train, 400, 5);
    const counts = new Array<number>(8).fill(0);
    for (const c of clips) {
      assert.ok(c.start[1][0] - c.start[0][0] >= MIN_GAP, 'the first digit starts leftmost');
      assert.notStrictEqual(c.labels[0], c.labels[1], 'two different digits');
      assert.deepStrictEqual(c.labels, [images.labels[c.images[0]], images.labels[c.images[1]]]);
      const p = trajectory(c.start[0], c.velocity[0], CLEAR_STEPS + 1);
      for (let t = 1; t <= CLEAR_STEPS; t++) {
        assert.strictEqual(directionClass(p[t][0] - p[t - 1][0], p[t][1] - p[t - 1][1]), c.direction, JSON.stringify(c));
      }
      counts[c.direction]++;
    }
    assert.ok(counts.every((n) => n > 25), `every direction occurs: ${counts}`);
  });
});

describe('video task: train, evaluate and predict through the CLI', () => {
  const tmp = suiteTmpDir('torchrnn-video-');
  before(() => assert.ok(fs.existsSync(BIN), 'run npm run compile first'));

  it('train on a slice: metrics.json holds the model and the one-frame baseline, SVG plots; predict and evaluate use the run', () => {
    const out = path.join(tmp(), 'run');
    const r = cli(['train', 'video', '--limit', '96', '--epochs', '1', '--hidden', '16', '--batch', '16', '--out', out, '--quiet']);
    assert.strictEqual(r.status, 0, r.stderr);
    for (const f of ['config.json', 'metrics.json', 'model.safetensors', 'checkpoint.safetensors', 'loss.svg', 'metric.svg']) assert.ok(fs.existsSync(path.join(out, f)), f);
    for (const f of ['loss.svg', 'metric.svg']) assert.match(fs.readFileSync(path.join(out, f), 'utf8'), /^<svg[\s\S]*<\/svg>$/);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as {
      metric: string; baseline: { name: string; value: number }; final: { metric: number; extra: Record<string, number> };
    };
    assert.strictEqual(report.metric, 'test direction accuracy (%)');
    assert.strictEqual(report.baseline.name, 'the CNN on one frame');
    const { extra } = report.final;
    const keys = ['digits right (%)', 'clip accuracy (%)', 'one-frame baseline direction right (%)', 'one-frame baseline digits right (%)', 'one-frame baseline clip accuracy (%)'];
    assert.deepStrictEqual(Object.keys(extra).sort(), [...keys].sort());
    for (const v of [report.final.metric, ...Object.values(extra)]) assert.ok(v >= 0 && v <= 100, String(v));
    assert.strictEqual(report.baseline.value, extra['one-frame baseline direction right (%)']);
    assert.match(fs.readFileSync(path.join(out, 'metric.svg'), 'utf8'), /the CNN on one frame/);
    const lines = r.stdout.trim().split('\n');
    assert.strictEqual(lines.length, 5, 'predictions for the five example clips');
    // the state dict holds both models
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8')) as { task: string; meta: { directions: string[] } };
    assert.strictEqual(config.task, 'video');
    assert.deepStrictEqual(config.meta.directions, DIRECTIONS);

    const svg = path.join(tmp(), 'clips.svg');
    const p = cli(['predict', out, '0', '3', '--svg', svg]);
    assert.strictEqual(p.status, 0, p.stderr);
    const pl = p.stdout.trim().split('\n');
    assert.strictEqual(pl.length, 3);
    const dir = DIRECTIONS.join('|');
    pl.slice(0, 2).forEach((l, i) => assert.match(l, new RegExp(`^test clip ${[0, 3][i]}: \\d and \\d, (${dir}) \\(p [01]\\.\\d{3}\\); true \\d and \\d, (${dir})(  ✗)?; one frame: \\d and \\d, (${dir})$`), l));
    assert.strictEqual(pl[2], `wrote ${svg}`);
    const drawing = fs.readFileSync(svg, 'utf8');
    assert.match(drawing, /^<svg[\s\S]*<\/svg>$/);
    assert.strictEqual((drawing.match(/<polyline/g) ?? []).length, 4, "two digits' paths per clip");
    assert.ok(drawing.includes('test clip 3: '));
    assert.ok(drawing.length < 200000, `a small file (${drawing.length} bytes)`);

    const e = cli(['evaluate', out]);
    assert.strictEqual(e.status, 0, e.stderr);
    assert.match(e.stdout, /^test direction accuracy \(%\): \d+\.\d{4} \(validation loss \d+\.\d{4}\)$/m);
    assert.match(e.stdout, /^one-frame baseline direction right \(%\): \d+\.\d{4}$/m);

    for (const [args, line] of [
      [['predict', out, '19'], '"19" is not a test-clip index (0 to 18)'],
      [['predict', out, 'x'], '"x" is not a test-clip index (0 to 18)'],
      [['predict', out, '0', '--svg', '/nonexistent/dir/c.svg'], 'cannot write --svg /nonexistent/dir/c.svg (ENOENT)'],
      [['sample', out], `the video task does not sample: use torchrnn predict ${out} [test-clip index…] (default 0 to 4) [--svg file]`],
    ] as [string[], string][]) {
      const b = cli(args);
      assert.strictEqual(b.status, 2, `${args.join(' ')}: ${b.stderr}`);
      assert.strictEqual(b.stderr.trim(), `torchrnn: ${line}`);
    }
  });
});
