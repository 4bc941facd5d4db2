/**
 * The CAREER baseline end to end on a tiny configuration (2 layers, width 32) and a small synthetic
 * panel: training lowers the validation loss; one optimizer step changes every tensor; every record,
 * the first included, gets a normalized distribution; one forward pass over a worker (and a padded
 * batch of workers) equals scoring its prefixes one by one (the causal mask); one seed on one thread
 * gives identical files; a cancelled run and a bad panel leave no file; the native forward pass
 * agrees with one written in TypeScript from the file's tensors; eval --baseline career
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
import { readPanelDir } from '../../src/data/io/index.js';
import { readGguf, readTensorData } from '../../src/models/gguf/index.js';
import type { Worker } from '../../src/data/panel/types.js';
import { ResultsStore } from '../../src/results/results-store.js';
import type { Taxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { runCli } from '../helpers/run-cli.js';
import { removeTempDirs, tempDir, writeSyntheticPanel } from '../helpers/eval-fixtures.js';

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
    const long = { ...train[0]!, records: Array.from({ length: 513 }, (_, i) => ({ ...train[0]!.records[0]!, year: 1500 + i })) };
    await expect(trainCareer(opts(out, { train: [long, ...train] }))).rejects.toThrow(/513 records; CAREER takes at most 512/);
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

/**
 * An independent forward pass in plain TypeScript from the file's tensors (GELU in its
 * tanh form, layer norm written out, attention by loops): the log-probabilities of every record.
 */
async function referenceLogProbs(path: string, worker: Worker): Promise<number[][]> {
  const m = CareerModel.load(path);
  const { config, vocab } = { config: m.info.config, vocab: m.vocabulary };
  m.free();
  const file = await readGguf(path);
  const t = async (name: string) => Array.from(await readTensorData(file, name));
  const d = config.width;
  const H = config.heads;
  const hd = d / H;
  const K = config.nCodes;
  const data = encodeWorkers(vocab, [worker]);
  const F = config.covariateNames.length;
  const T = worker.records.length;
  const code = await t('code_embd.weight');
  const covTables = await Promise.all(config.covariateNames.map((n) => t(`cov.${n}.weight`)));
  const row = (table: number[], r: number) => table.slice(r * d, r * d + d);
  const matvec = (w: number[], b: number[], x: number[], nOut: number) =>
    Array.from({ length: nOut }, (_, o) => x.reduce((s, xi, i) => s + w[o * x.length + i]! * xi, b[o]!));
  const norm = (x: number[], w: number[], b: number[]) => {
    const mean = x.reduce((a, v) => a + v, 0) / x.length;
    const c = x.map((v) => v - mean);
    const rms = Math.sqrt(c.reduce((a, v) => a + v * v, 0) / x.length + 1e-5);
    return c.map((v, i) => (v / rms) * w[i]! + b[i]!);
  };
  const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  const half = d / 2;
  let xs = Array.from({ length: T }, (_, s) => {
    const e = row(code, s === 0 ? K : data.codes[s - 1]!);
    for (let f = 0; f < F; f++) row(covTables[f]!, data.covs[s * F + f]!).forEach((v, i) => (e[i]! += v));
    return e.map((v, i) => {
      const j = i < half ? i : i - half;
      const angle = s * Math.exp((-Math.log(10000) * j) / Math.max(1, half - 1));
      return Math.sqrt(d) * v + (i < half ? Math.sin(angle) : Math.cos(angle));
    });
  });
  for (let l = 0; l < config.layers; l++) {
    const p = async (n: string) => t(`blk.${l}.${n}`);
    const [nw, nb, wq, bq, wk, bk, wv, bv, wo, bo, fw, fb, wu, bu, wd, bd] = await Promise.all(
      ['attn_norm.weight', 'attn_norm.bias', 'attn_q.weight', 'attn_q.bias', 'attn_k.weight', 'attn_k.bias', 'attn_v.weight', 'attn_v.bias',
        'attn_output.weight', 'attn_output.bias', 'ffn_norm.weight', 'ffn_norm.bias', 'ffn_up.weight', 'ffn_up.bias', 'ffn_down.weight', 'ffn_down.bias'].map(p),
    );
    const h = xs.map((x) => norm(x, nw!, nb!));
    const q = h.map((x) => matvec(wq!, bq!, x, d));
    const k = h.map((x) => matvec(wk!, bk!, x, d));
    const v = h.map((x) => matvec(wv!, bv!, x, d));
    xs = xs.map((x, s) => {
      const o = new Array<number>(d).fill(0);
      for (let hh = 0; hh < H; hh++) {
        const dims = Array.from({ length: hd }, (_, i) => hh * hd + i);
        const scores = Array.from({ length: s + 1 }, (_, r) => dims.reduce((a, i) => a + q[s]![i]! * k[r]![i]!, 0) / Math.sqrt(hd));
        const mx = Math.max(...scores);
        const ex = scores.map((z) => Math.exp(z - mx));
        const z = ex.reduce((a, b) => a + b, 0);
        for (const i of dims) o[i] = ex.reduce((a, e, r) => a + (e / z) * v[r]![i]!, 0);
      }
      const y = x.map((xi, i) => xi + matvec(wo!, bo!, o, d)[i]!);
      const u = matvec(wu!, bu!, norm(y, fw!, fb!), config.ff).map(gelu);
      return y.map((yi, i) => yi + matvec(wd!, bd!, u, d)[i]!);
    });
  }
  const [ow, ob, outB] = [await t('output_norm.weight'), await t('output_norm.bias'), await t('output.bias')];
  return xs.map((x) => {
    const h = norm(x, ow, ob);
    const logits = Array.from({ length: K }, (_, c) => row(code, c).reduce((a, e, i) => a + e * h[i]!, outB[c]!));
    const mx = Math.max(...logits);
    const lse = mx + Math.log(logits.reduce((a, z) => a + Math.exp(z - mx), 0));
    return logits.map((z) => z - lse);
  });
}

describe('CareerModel scoring', () => {
  it('agrees with an independent forward pass written in TypeScript', async () => {
    const m = CareerModel.load(trained, { threads: 1 });
    try {
      for (const w of test.slice(0, 3)) {
        const ref = await referenceLogProbs(trained, w);
        const [got] = await m.distributions([w]);
        ref.forEach((lp, r) => lp.forEach((x, j) => expect(Math.abs(Math.log(got![r]![j]!) - x)).toBeLessThan(1e-4)));
      }
    } finally {
      m.free();
    }
  });

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
    const { Taxonomy: T } = await import('../../src/data/taxonomy/taxonomy.js');
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
    expect(() => new CareerScorer({ model: '' })).toThrow(/give `model`/);
    // A model trained on another taxonomy is refused before anything is written.
    const other = join(dir, 'r2.duckdb');
    await expect(evaluate({ data: panelDir, out: other, scorer: new CareerScorer({ model: join(dir, 'missing.gguf') }) })).rejects.toThrow();
    expect(existsSync(other)).toBe(false);
  });
});

describe('labor-llm career train and eval --baseline career', () => {
  it('trains from the command line, evaluates the file, and refuses a panel without splits (exit 2, no file)', async () => {
    const out = join(dir, 'cli.gguf');
    const tiny = ['--layers', '1', '--width', '16', '--heads', '2', '--ff', '32', '--epochs', '1', '--threads', '1', '-q'];
    const r = await runCli(['career', 'train', '--data', panelDir, '--out', out, ...tiny, '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { out: string; bestEpoch: number; config: { layers: number } };
    expect(summary).toMatchObject({ out, bestEpoch: 1, config: { layers: 1 } });
    const again = await runCli(['career', 'train', '--data', panelDir, '--out', out, ...tiny]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/exists/);
    const e = await runCli(['eval', '--baseline', 'career', '--career-model', out, '--data', panelDir, '--out', join(dir, 'cli.duckdb'), '-q']);
    expect(e.code).toBe(0);
    const missing = await runCli(['eval', '--baseline', 'career', '--data', panelDir, '--out', join(dir, 'cli2.duckdb'), '-q']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--career-model/);
    const unsplit = await writeSyntheticPanel({ workers: 10, seed: 1, splits: false });
    const bad = await runCli(['career', 'train', '--data', unsplit.dir, '--out', join(dir, 'unsplit.gguf'), ...tiny]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no workers in the train split/);
    expect(existsSync(join(dir, 'unsplit.gguf'))).toBe(false);
  });
});
