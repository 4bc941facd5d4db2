/**
 * One of two processes racing to create the same results stores, as two `eval --out` runs do: for
 * each path it opens the store or creates it, adds its own run and closes. Prints `ok I`, or
 * `refused I CODE MESSAGE` for a typed refusal; anything else is a bug (exit 1).
 * `node --import tsx test/robust/store-child.ts ID DIR N`
 */
import { join } from 'node:path';
import { LaborLlmError, NotFoundError } from '../../src/errors.js';
import { ResultsStore } from '../../src/results/results-store.js';
import { testStoreMeta } from './store-meta.js';

const [id, dir, n] = process.argv.slice(2);
const meta = testStoreMeta({ creator: id! });
const workers = [{ workerId: 'w', ord: 0, dataset: 'NLSY79', gender: 'female', ethnicity: 'x', region: 'South', birthYear: 1960, shard: 0, transitions: 1 }];

for (let i = 0; i < Number(n); i++) {
  const path = join(dir!, `s${i}.duckdb`);
  try {
    let store: ResultsStore;
    try {
      store = await ResultsStore.open(path);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      store = await ResultsStore.create(path, meta, workers);
    }
    await store.addRun({ name: `run-${id}`, kind: 'model', config: {}, info: {}, createdAt: 'now' });
    await store.close();
    process.stdout.write(`ok ${i}\n`);
  } catch (err) {
    if (!(err instanceof LaborLlmError)) {
      process.stdout.write(`bug ${i} ${String(err)}\n`);
      process.exit(1);
    }
    process.stdout.write(`refused ${i} ${err.code} ${err.message.replace(/\s+/g, ' ')}\n`);
  }
}
