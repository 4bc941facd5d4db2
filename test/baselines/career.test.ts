/**
 * The CAREER baseline end to end on a tiny configuration (2 layers, width 32) and a small synthetic
 * panel: training lowers the validation loss; one optimizer step changes every tensor; every record,
 * the first included, gets a normalized distribution; one forward pass over a worker (and a padded
 * batch of workers) equals scoring its prefixes one by one (the causal mask); one seed on one thread
 * gives identical files; a cancelled run and a bad panel leave no file; eval --baseline career
 * writes its rows next to the other baselines'.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CareerModel, trainCareer, type CareerTrainOptions } from '../../src/baselines/career/index.js';
import { careerAddon } from '../../src/baselines/career/native.js';
import { encodeWorkers } from '../../src/baselines/career/vocabulary.js';
import { CancelledError, InputError } from '../../src/errors.js';
import { BaselineScorer } from '../../src/eval/baseline.js';
import { CareerScorer } from '../../src/eval/career.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { readPanelDir } from '../../src/io/index.js';
import { readGguf, readTensorData } from '../../src/gguf/index.js';
import type { Worker } from '../../src/panel/types.js';
import { ResultsStore } from '../../src/store/results-store.js';
import type { Taxonomy } from '../../src/taxonomy/taxonomy.js';
import { removeTempDirs, tempDir, writeSyntheticPanel } from '../eval/fixtures.js';

const TINY = { layers: 2, width: 32, heads: 2, ff: 64, batch: 8, threads: 1 } as const;

let dir: string;
let panelDir: string;
let taxonomy: Taxonomy;
let train: Worker[];
let valid: Worker[];
let test: Worker[];
let trained: string;
let trainedResult: Awaited<ReturnType<typeof trainCareer>>;

function opts(out: string, extra: Partial<CareerTrainOptions> = {}): CareerTrainOptions {
  return { taxonomy, train, valid, out, ...TINY, epochs: 1, seed: 1, ...extra };
}

beforeAll(async () => {
  dir = await tempDir('labor-llm-career-');
  const fx = await writeSyntheticPanel({ workers: 120, seed: 4, profile: 'psid81', maxRecords: 8 });
  panelDir = fx.dir;
  taxonomy = fx.taxonomy;
  const store = await readPanelDir(panelDir);
  const of = (s: string) => store.panel.workers.filter((w) => store.splits.get(w.id) === s);
  train = of('train');
  valid = of('valid');
  test = of('test');
  trained = join(dir, 'trained.gguf');
  trainedResult = await trainCareer(opts(trained, { epochs: 4, learningRate: 3e-3 }));
});

afterAll(removeTempDirs);

describe('career train', () => {
  it('lowers the validation loss and keeps the best epoch', () => {
    expect(trainedResult.history).toHaveLength(4);
    expect(trainedResult.bestValLoss).toBeLessThan(trainedResult.initialValLoss - 0.1);
    const best = Math.min(...trainedResult.history.map((h) => h.valLoss));
    expect(trainedResult.bestValLoss).toBe(best);
    expect(trainedResult.history[trainedResult.bestEpoch - 1]!.valLoss).toBe(best);
    expect(trainedResult.trainRecords).toBe(train.reduce((s, w) => s + w.records.length, 0));
    expect(trainedResult.config).toMatchObject({ layers: 2, width: 32, heads: 2, ff: 64, nCodes: taxonomy.size });
  });

  it('changes every tensor in one optimizer step (gradients reach all weights)', async () => {
    const init = join(dir, 'init.gguf');
    const stepped = join(dir, 'stepped.gguf');
    await trainCareer(opts(init, { epochs: 0 }));
    // No weight decay and no dropout: a tensor changes only if its gradient is not zero.
    await trainCareer(opts(stepped, { init, epochs: 1, maxSteps: 1, weightDecay: 0, dropout: 0, learningRate: 1e-3, warmup: 0 }));
    const a = await readGguf(init);
    const b = await readGguf(stepped);
    expect(b.tensors.map((t) => t.name)).toEqual(a.tensors.map((t) => t.name));
    expect(a.tensors.length).toBe(1 + 5 + 16 * TINY.layers + 3);
    const unchanged: string[] = [];
    for (const t of a.tensors) {
      const x = await readTensorData(a, t.name);
      const y = await readTensorData(b, t.name);
      if (x.every((v, i) => v === y[i])) unchanged.push(t.name);
    }
    expect(unchanged).toEqual([]);
  });

  it('gives identical files for one seed on one thread, other files for another seed', async () => {
    const p1 = join(dir, 'det1.gguf');
    const p2 = join(dir, 'det2.gguf');
    const p3 = join(dir, 'det3.gguf');
    await trainCareer(opts(p1, { seed: 7, maxSteps: 4 }));
    await trainCareer(opts(p2, { seed: 7, maxSteps: 4 }));
    await trainCareer(opts(p3, { seed: 8, maxSteps: 4 }));
    expect(readFileSync(p1).equals(readFileSync(p2))).toBe(true);
    expect(readFileSync(p1).equals(readFileSync(p3))).toBe(false);
  });

  it('leaves no file when cancelled', async () => {
    const out = join(dir, 'cancelled.gguf');
    const ac = new AbortController();
    const before = readdirSync(dir);
    await expect(
      trainCareer(
        opts(out, {
          epochs: 3,
          signal: ac.signal,
          onProgress: (p) => {
            if (p.phase === 'train' && p.step === 2) ac.abort();
          },
        }),
      ),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(before.sort());
  });

  it('refuses a panel without a valid split or with a single code, writing nothing', async () => {
    const out = join(dir, 'bad.gguf');
    await expect(trainCareer(opts(out, { valid: [] }))).rejects.toThrow(/no workers in the valid split/);
    const oneCode = train.map((w) => ({ ...w, records: w.records.map((r) => ({ ...r, code: train[0]!.records[0]!.code })) }));
    const err = await trainCareer(opts(out, { train: oneCode })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/single occupation code/);
    await expect(trainCareer(opts(out, { train: [] }))).rejects.toThrow(/no workers in the train split/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('career covariates', () => {
  it('trains on a chosen covariate set (age included) and scores with the file\'s vocabularies', async () => {
    const out = join(dir, 'age.gguf');
    await trainCareer(opts(out, { covariates: ['year', 'age'], maxSteps: 2 }));
    const m = CareerModel.load(out);
    try {
      expect(m.info.config.covariateNames).toEqual(['year', 'age']);
      expect(m.vocabulary.covariates.map((c) => c.name)).toEqual(['year', 'age']);
      expect(m.vocabulary.covariates[1]!.values[0]).toBe('(unknown)');
      const [rows] = await m.distributions([test[0]!]);
      expect(rows).toHaveLength(test[0]!.records.length);
    } finally {
      m.free();
    }
    await expect(trainCareer(opts(join(dir, 'x.gguf'), { covariates: ['year', 'shoe size'] }))).rejects.toThrow(/unknown covariate "shoe size"/);
  });
});

describe('CareerModel scoring', () => {
  it('gives every record, the first included, a normalized distribution (log-sum-exp 0)', async () => {
    const m = CareerModel.load(trained, { threads: 1 });
    try {
      const workers = test.slice(0, 10);
      const data = encodeWorkers(m.vocabulary, workers);
      const native = careerAddon().careerLoad(trained, 1);
      const lp = await native.logProbs(data, 4);
      native.free();
      const K = taxonomy.size;
      expect(lp.length).toBe(data.codes.length * K);
      for (let r = 0; r < data.codes.length; r++) {
        let max = -Infinity;
        for (let j = 0; j < K; j++) max = Math.max(max, lp[r * K + j]!);
        let s = 0;
        for (let j = 0; j < K; j++) s += Math.exp(lp[r * K + j]! - max);
        expect(Math.abs(max + Math.log(s))).toBeLessThan(1e-5);
      }
      const dists = await m.distributions(workers);
      dists.forEach((rows, i) => {
        expect(rows).toHaveLength(workers[i]!.records.length);
        for (const p of rows) expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
      });
    } finally {
      m.free();
    }
  });

  it('scores a worker in one pass exactly as its prefixes one by one, alone or in a padded batch', async () => {
    const m = CareerModel.load(trained, { threads: 1 });
    try {
      const workers = test.filter((w) => w.records.length >= 3).slice(0, 4);
      expect(workers.length).toBeGreaterThan(1);
      const batched = await m.distributions(workers, { batch: 4 });
      for (const [i, w] of workers.entries()) {
        const [whole] = await m.distributions([w]);
        for (let t = 0; t < w.records.length; t++) {
          const [prefix] = await m.distributions([{ ...w, records: w.records.slice(0, t + 1) }]);
          const a = prefix![t]!;
          const b = whole![t]!;
          const c = batched[i]![t]!;
          for (let j = 0; j < a.length; j++) {
            expect(Math.abs(a[j]! - b[j]!)).toBeLessThan(1e-6);
            expect(Math.abs(c[j]! - b[j]!)).toBeLessThan(1e-6);
          }
        }
        // The next record's covariates matter to it, not to earlier records.
        const changed: Worker = { ...w, records: w.records.map((r, t) => (t === 2 ? { ...r, year: r.year + 7 } : r)) };
        const [c2] = await m.distributions([changed]);
        expect(c2![1]).toEqual(whole![1]);
        expect(c2![2]).not.toEqual(whole![2]);
      }
    } finally {
      m.free();
    }
  });

  it('refuses another taxonomy and a file that is not a CAREER model', async () => {
    const m = CareerModel.load(trained);
    const { Taxonomy: T } = await import('../../src/taxonomy/taxonomy.js');
    expect(() => m.checkTaxonomy(new T('other', taxonomy.entries.slice(1)))).toThrow(InputError);
    m.free();
    expect(() => CareerModel.load(join(dir, 'missing.gguf'))).toThrow(/not found/);
    expect(() => CareerModel.load(join(panelDir, 'meta.json'))).toThrow(/not a GGUF file/);
  });
});

describe('eval --baseline career', () => {
  it('stores one row per scored record, like the other baselines', async () => {
    const store = join(dir, 'results.duckdb');
    const r = await evaluate({ data: panelDir, out: store, scorer: new CareerScorer({ model: trained, threads: 1 }) });
    expect(r.complete).toBe(true);
    const e = await evaluate({ data: panelDir, out: store, scorer: new BaselineScorer('empirical') });
    expect(r.transitions.total).toBe(e.transitions.total);
    const s = await ResultsStore.open(store);
    try {
      const runs = await s.runs();
      const rows = await s.results("career");
      expect(rows).toHaveLength(r.transitions.total);
      for (const row of rows) expect(row.logProb).toBeLessThan(0);
      expect(rows.filter((x) => x.index === 0)).toHaveLength(r.workers.total);
      expect(runs.map((x) => x.name).sort()).toEqual(['career', 'empirical']);
    } finally {
      await s.close();
    }
    expect(() => new CareerScorer({ model: '' })).toThrow(/--career-model/);
    // A model trained on another taxonomy is refused before anything is written.
    const other = join(dir, 'r2.duckdb');
    await expect(evaluate({ data: panelDir, out: other, scorer: new CareerScorer({ model: join(dir, 'missing.gguf') }) })).rejects.toThrow();
    expect(existsSync(other)).toBe(false);
  });
});
