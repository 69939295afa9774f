/**
 * Step 1 of generating torchrnn's tensor API (step 2: scripts/gen-api/generate.ts).
 *
 * Writes scripts/gen-api/data/api-<line>.json for the libtorch line the addon runs on: PyTorch's
 * public names (scripts/gen-api/surface.py, run with the same line's /usr/bin/python3) and the
 * dispatcher schemas of the aten operators they can map to (native `schemas()`), so that the
 * generator sees both lines without running either. Run it once per line:
 *
 *   npx tsx scripts/gen-api/dump.ts                                          (this machine's line)
 *   bash scripts/test-in-debian.sh trixie --no-setup -- npx tsx scripts/gen-api/dump.ts   (2.6)
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../../lib/binding';
import { libtorchLine } from '../../lib/compat';

const here = __dirname;
const surface = JSON.parse(execFileSync('/usr/bin/python3', [path.join(here, 'surface.py')], { encoding: 'utf8', maxBuffer: 64 << 20 }));
const schemas = native.schemas().filter(([name]) => name.startsWith('aten::') || name.startsWith('torchrnn::'));
// The schemas are kept whole (every aten operator): torch.ops reaches them all, and the
// generator maps public names onto them.
const out = { line: libtorchLine, torch: surface.torch, surface, schemas };
const dir = path.join(here, 'data');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `api-${libtorchLine}.json`);
fs.writeFileSync(file, JSON.stringify(out) + '\n');
console.log(`${file}: ${schemas.length} schemas, ${fs.statSync(file).size} bytes`);
