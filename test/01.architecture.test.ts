import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { checkImports, formatReport } from '../scripts/check-imports';
import { tmpDir } from './helpers';

// scripts/check-imports.ts: lib/'s module graph (every relative import, type-only ones too).
describe('architecture', () => {
  let r: ReturnType<typeof checkImports>;
  before(() => { r = checkImports(); });

  it('lib/ has no import cycles', () => {
    assert.deepStrictEqual(r.cycles, [], formatReport(r));
  });

  it('lib/ imports only downward (no room imports a higher one), and every file has a room', () => {
    assert.deepStrictEqual(r.upward.map((e) => `${e.from}:${e.line} (${e.fromRoom}) -> ${e.to} (${e.toRoom})`), [], formatReport(r));
    assert.deepStrictEqual(r.unplaced, []);
  });

  it('the checker finds a cycle, type-only links included', () => {
    const dir = tmpDir('torchrnn-imports-');
    try {
      fs.writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b';\nexport const a = b + 1;\n");
      fs.writeFileSync(path.join(dir, 'b.ts'), "import type { C } from './c/index';\nexport const b = 1; export type B = C;\n");
      fs.mkdirSync(path.join(dir, 'c'));
      fs.writeFileSync(path.join(dir, 'c', 'index.ts'), "export type C = typeof import('../a').a;\n");
      assert.deepStrictEqual(checkImports(dir).cycles, [['a.ts', 'b.ts', 'c/index.ts', 'a.ts']]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
