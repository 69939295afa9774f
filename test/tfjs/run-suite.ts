/**
 * Runs tfjs-core's own shared backend test suite (`@tensorflow/tfjs-core/dist/tests`, shipped in
 * the installed npm package) against torchrnn's `torch` backend: `npm run test:tfjs`.
 *
 * The suite's files are extension-less ES modules that import tfjs-core through relative paths,
 * so they are bundled first (esbuild, into build/tfjs-suite/) together with lib/tfjs, with
 * `@tensorflow/tfjs-core` aliased to the same dist/index.js: one copy of tfjs-core, one engine.
 * torchrnn's core (lib/binding.ts and friends, which find the addon relative to their own file)
 * stays outside the bundle and loads through tsx.
 *
 * Options:  --backend torch|cpu  (cpu: tfjs's own CPU backend, for reference)
 *           --grep <regexp>      (only specs whose full name matches)
 *           --list-failures      (print every failing spec name with its first message)
 *           --no-ignore          (run the specs that test/tfjs/ignore.ts excludes too)
 * Exit code: 0 when no spec failed and at least 97 % of all specs passed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { build, Plugin } from 'esbuild';
import { IGNORE } from './ignore';

const ROOT = path.join(__dirname, '..', '..');
const OUT_DIR = path.join(ROOT, 'build', 'tfjs-suite');
const TARGET = 0.97;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const backend = arg('--backend') ?? 'torch';
const grep = arg('--grep');
const listFailures = process.argv.includes('--list-failures');
const useIgnore = !process.argv.includes('--no-ignore');

/** Keeps torchrnn's core (everything in lib/ outside lib/tfjs) out of the bundle. */
const torchrnnCoreExternal: Plugin = {
  name: 'torchrnn-core-external',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const libDir = path.join(ROOT, 'lib');
      const tfjsDir = path.join(libDir, 'tfjs');
      if (!args.importer.startsWith(tfjsDir + path.sep)) return undefined;
      const target = path.resolve(path.dirname(args.importer), args.path);
      if (target.startsWith(tfjsDir + path.sep) || target === tfjsDir) return undefined;
      if (!target.startsWith(libDir + path.sep)) return undefined;
      return { path: target + '.ts', external: true };
    });
  },
};

async function bundle(): Promise<string> {
  fs.mkdirSync(OUT_DIR, { recursive: true });
  const entry = path.join(OUT_DIR, `entry-${backend}.ts`);
  const core = path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-core', 'dist');
  const lines = [
    `import ${JSON.stringify(path.join(core, 'index.js'))};`,
    `import ${JSON.stringify(path.join(core, 'public', 'chained_ops', 'register_all_chained_ops.js'))};`,
    `import ${JSON.stringify(path.join(core, 'register_all_gradients.js'))};`,
    backend === 'torch'
      ? `import ${JSON.stringify(path.join(ROOT, 'lib', 'tfjs', 'index.ts'))};`
      : `import '@tensorflow/tfjs-backend-cpu/dist/index.js';`,
    // ES imports are hoisted: the test environment is set in a module of its own, before the tests.
    `import ${JSON.stringify(path.join(OUT_DIR, `env-${backend}.ts`))};`,
    `import ${JSON.stringify(path.join(core, 'tests.js'))};`,
  ];
  fs.writeFileSync(path.join(OUT_DIR, `env-${backend}.ts`), [
    `import { setTestEnvs } from ${JSON.stringify(path.join(core, 'jasmine_util.js'))};`,
    `setTestEnvs([{ name: 'test-${backend}', backendName: '${backend}', flags: {}, isDataSync: true }]);`,
  ].join('\n') + '\n');
  fs.writeFileSync(entry, lines.join('\n') + '\n');
  const outfile = path.join(OUT_DIR, `suite-${backend}.js`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: 'inline',
    // tfjs-core's package.json lists the files with side effects; the *_test.js files are not
    // among them, so without this esbuild would drop every test.
    ignoreAnnotations: true,
    logLevel: 'error',
    // One tfjs-core: the backend's `import '@tensorflow/tfjs-core'` is the suite's dist/index.js.
    alias: { '@tensorflow/tfjs-core': path.join(core, 'index.js') },
    plugins: [torchrnnCoreExternal],
    // Other packages (jasmine-core, seedrandom, node-fetch, the cpu backend's own deps) load from
    // node_modules at run time. The cpu backend itself is bundled so that it uses the same tfjs-core.
    external: ['jasmine', 'jasmine-core', 'jasmine-core/*', 'seedrandom', 'long', 'node-fetch', 'fs', 'path', 'crypto', 'util'],
  });
  return outfile;
}

interface SpecResult { fullName: string; status: string; failedExpectations: { message: string }[] }

async function main(): Promise<void> {
  const started = Date.now();
  const file = await bundle();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Jasmine = require('jasmine');
  const runner = new Jasmine({ projectBaseDir: ROOT });
  runner.exitOnCompletion = false;
  runner.loadConfig({ random: false, stopOnSpecFailure: false });
  const env = runner.env;
  env.configure({ random: false });

  const grepRe = grep ? new RegExp(grep) : null;
  const ignoreHits = new Map<string, number>();
  env.configure({
    specFilter: (spec: { getFullName(): string }) => {
      const name = spec.getFullName();
      if (grepRe && !grepRe.test(name)) return false;
      if (useIgnore) {
        for (const entry of IGNORE) {
          if (name.includes(entry.spec.replace('{backend}', `test-${backend}`))) {
            ignoreHits.set(entry.spec, (ignoreHits.get(entry.spec) ?? 0) + 1);
            return false;
          }
        }
      }
      return true;
    },
  });

  const counts = { passed: 0, failed: 0, excluded: 0, pending: 0 };
  const failures: SpecResult[] = [];
  runner.clearReporters();
  runner.addReporter({
    specDone(r: SpecResult) {
      if (r.status === 'passed') counts.passed++;
      else if (r.status === 'failed') { counts.failed++; failures.push(r); }
      else if (r.status === 'excluded') counts.excluded++;
      else counts.pending++;
      const done = counts.passed + counts.failed;
      if (done > 0 && done % 500 === 0) process.stderr.write(`  ... ${done} specs run (${counts.failed} failed)\n`);
    },
  });

  process.on('unhandledRejection', (e) => { console.error('unhandled rejection', e); });
  require(file);
  const topSuites = env.topSuite().children.length;
  if (topSuites === 0) throw new Error(`the bundled suite registered no tests (${file})`);
  const result = await runner.execute();

  const total = counts.passed + counts.failed + counts.excluded + counts.pending;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (listFailures || failures.length <= 40) {
    for (const f of failures) console.log(`FAILED: ${f.fullName}\n    ${(f.failedExpectations[0]?.message ?? '').split('\n')[0].slice(0, 300)}`);
  }
  if (useIgnore && !grep) {
    const unused = IGNORE.filter((e) => !ignoreHits.has(e.spec));
    for (const e of unused) console.log(`note: ignore entry matched no spec: ${e.spec}`);
  }
  const rate = total === 0 ? 0 : counts.passed / total;
  console.log(`tfjs-core ${require(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-core', 'package.json')).version} suite on backend '${backend}': ` +
    `${total} specs, ${counts.passed} passed, ${counts.failed} failed, ${counts.excluded} excluded, ${counts.pending} pending ` +
    `(${(rate * 100).toFixed(2)} % passed) in ${seconds} s [${result.overallStatus}]`);
  const ok = counts.failed === 0 && (grep !== undefined || rate >= TARGET);
  process.exit(ok ? 0 : 1);
}

main().catch((err) => { console.error(err); process.exit(1); });
