import { Worker } from './suite-workers';
import { entries } from './suite-cases';
import './suite-cases';
(async () => {
  const id = process.argv[2];
  const e = entries.get(id);
  if (!e) { console.log([...entries.keys()].filter((k) => k.includes('h512'))); return; }
  console.log(JSON.stringify(e.c));
  const w = new Worker('torchrnn');
  console.log(await w.request({ op: 'hello', threads: 1 }, 120e3));
  await w.request({ op: 'setup', case: e.c });
  console.log('after setup', await w.request({ op: 'mem' }));
  for (let i = 0; i < 4; i++) { await w.request({ op: 'run', minTime: 0, minIters: 1, maxIters: 1 }); console.log('iter', i, await w.request({ op: 'mem' })); }
  w.kill();
})();
