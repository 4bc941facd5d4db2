/**
 * evaluate() with tiny models and baselines: what distribution mode stores (against brute force),
 * perplexity mode = distribution mode's raw log-probs, shared preambles evaluated once, baselines in the
 * same store, cancellation, and every bad input refused before anything is lost.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Model, TitleScores } from '../../src/engine/model.js';
import { CancelledError, InputError, ModelError, NotFoundError } from '../../src/errors.js';
import { BaselineScorer } from '../../src/eval/baseline.js';
import { evaluate, type EvaluateOptions } from '../../src/eval/evaluate.js';
import { ModelScorer } from '../../src/eval/model-scorer.js';
import { distributionResult, inexpressibleTitles } from '../../src/eval/llm.js';
import { completeSplits, readPanelDir, writePanelDir } from '../../src/data/io/index.js';
import { ResultsStore } from '../../src/results/results-store.js';
import type { StoredResult } from '../../src/results/types.js';
import { getTemplate } from '../../src/data/template/index.js';
import { tinyModelPath } from '../helpers/models.js';
import { lowercasingModelPath, type PanelFixture, readRun, removeTempDirs, smallTaxonomy, tempDir, writeSyntheticPanel } from '../helpers/eval-fixtures.js';

afterAll(removeTempDirs);

let fx: PanelFixture;
let spm: string;

beforeAll(async () => {
  fx = await writeSyntheticPanel({ workers: 40, maxRecords: 6 });
  spm = await tinyModelPath('llama-spm', 1);
});

const ENGINE = { threads: 2, kvCache: 'f32', flashAttention: 'off' } as const;

function modelOpts(out: string, extra: Partial<EvaluateOptions> & { template?: string; mode?: 'distribution' | 'perplexity'; model?: string } = {}): EvaluateOptions {
  const { template, mode, model, ...rest } = extra;
  return {
    data: fx.dir,
    out,
    scorer: new ModelScorer({ model: model ?? spm, template: template ?? 'resume', mode: mode ?? 'distribution', engine: ENGINE }),
    ...rest,
  };
}

describe('distributionResult', () => {
  it('matches a brute-force computation, ties included', () => {
    const tax = smallTaxonomy();
    const codes = tax.codes();
    const K = codes.length;
    // Raw log-probs with a tie between the true code and another, total mass below 1.
    const raw = new Float64Array(K).map((_, j) => -2 - ((j * 7) % 5) * 0.75);
    const truth = 3;
    const tied = codes.findIndex((_, j) => j !== truth && raw[j] === raw[truth]);
    expect(tied).toBeGreaterThanOrEqual(0);
    let m = -Infinity;
    for (const v of raw) m = Math.max(m, v);
    let s = 0;
    for (const v of raw) s += Math.exp(v - m);
    const logTotal = m + Math.log(s);
    const scores = new TitleScores(tax.titles(), raw, logTotal, {} as TitleScores['stats']);
    const from = codes[5]!;
    const r = distributionResult(tax, scores, { workerId: 'w', index: 2, year: 2000, from, to: codes[truth]!, dataset: 'D' }, 4, ['9001', '9002', '9003']);

    const probs = Array.from(raw, (v) => Math.exp(v - logTotal));
    expect(r.rawLogProb).toBe(raw[truth]);
    expect(r.logProb).toBeCloseTo(Math.log(probs[truth]!), 12);
    expect(r.validMass).toBeCloseTo(s * Math.exp(m), 12);
    expect(r.rank).toBe(1 + probs.filter((p) => p > probs[truth]!).length);
    expect(r.ties).toBe(probs.filter((p) => p === probs[truth]).length);
    const order = probs.map((p, j) => ({ p, j })).sort((a, b) => b.p - a.p || a.j - b.j);
    expect(r.topK!.map((e) => e.code)).toEqual(order.slice(0, 4).map((o) => codes[o.j]));
    expect(r.pSame).toBeCloseTo(probs[5]!, 12);
    const outside = new Set(['9001', '9002', '9003']);
    expect(r.pLaborForce).toBeCloseTo(probs.filter((_, j) => !outside.has(codes[j]!)).reduce((a, b) => a + b, 0), 12);
  });
});

describe('evaluate with a tiny model', () => {
  it('perplexity mode equals distribution mode raw log-probs (resume and icl templates)', async () => {
    const dir = await tempDir();
    for (const template of ['resume', 'icl']) {
      const limit = template === 'icl' ? 5 : undefined;
      const d = await evaluate(modelOpts(join(dir, `${template}.duckdb`), { template, mode: 'distribution', name: 'd', ...(limit ? { limit } : {}) }));
      const p = await evaluate(modelOpts(join(dir, `${template}.duckdb`), { template, mode: 'perplexity', name: 'p', ...(limit ? { limit } : {}) }));
      expect(d.complete && p.complete).toBe(true);
      const rd = await readRun(join(dir, `${template}.duckdb`), 'd');
      const rp = await readRun(join(dir, `${template}.duckdb`), 'p');
      expect(rd.length).toBeGreaterThan(20);
      expect(rp.map((r) => [r.workerId, r.index, r.from, r.to])).toEqual(rd.map((r) => [r.workerId, r.index, r.from, r.to]));
      // Every record is scored, the first of each worker included (from = null).
      const workers = new Set(rd.map((r) => r.workerId));
      expect(rd.filter((r) => r.index === 0 && r.from === null).length).toBe(workers.size);
      let maxDiff = 0;
      rd.forEach((r, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(r.rawLogProb! - rp[i]!.rawLogProb!));
      });
      expect(maxDiff).toBeLessThan(1e-4);
      // Perplexity mode stores the raw log-prob only.
      expect(rp.every((r) => r.logProb === null && r.rank === null && r.topK === null)).toBe(true);
      // Distribution mode: normalized = raw - log(total mass), probabilities of the top-k sum to at most 1.
      for (const r of rd) {
        expect(r.logProb!).toBeCloseTo(r.rawLogProb! - Math.log(r.validMass!), 9);
        expect(r.topK!.length).toBe(10);
        expect(r.topK!.reduce((a, e) => a + e.prob, 0)).toBeLessThanOrEqual(1 + 1e-12);
      }
    }
  });

  it('stores what the engine computes for each prompt of the template', async () => {
    const out = join(await tempDir(), 'r.duckdb');
    await evaluate(modelOpts(out, { limit: 3, name: 'd' }));
    const rows = await readRun(out, 'd');
    // A worker's transitions three at a time in shared decodes: the same numbers.
    const crossed = new ModelScorer({ model: spm, template: 'resume', mode: 'distribution', engine: { ...ENGINE, crossBatch: 3 } });
    await evaluate({ data: fx.dir, out: join(await tempDir(), 'c.duckdb'), scorer: crossed, limit: 3, name: 'c' }).then(async (r) => {
      const c = await readRun(r.store, 'c');
      expect(c.map((x) => [x.workerId, x.index])).toEqual(rows.map((x) => [x.workerId, x.index]));
      c.forEach((x, i) => expect(Math.abs(x.rawLogProb! - rows[i]!.rawLogProb!)).toBeLessThan(1e-4));
    });
    const store = await readPanelDir(fx.dir);
    const template = getTemplate('resume', { taxonomy: store.taxonomy });
    const model = await Model.load(spm, ENGINE);
    try {
      const set = await model.titleSet(store.taxonomy.titles());
      const tested = store.panel.workers.filter((w) => store.splits.get(w.id) === 'test').slice(0, 3);
      const expected = tested.flatMap((w) => template.prompts(w).map((p) => ({ w, p })));
      expect(rows.length).toBe(expected.length);
      for (const [i, { w, p }] of expected.entries()) {
        const s = await model.scoreTitles(p.prompt, set, { reusePrefix: false, mode: 'sequential' });
        const j = store.taxonomy.indexOf(p.code);
        expect(rows[i]!.workerId).toBe(w.id);
        expect(rows[i]!.index).toBe(p.index);
        expect(rows[i]!.rawLogProb!).toBeCloseTo(s.logProbs[j]!, 4);
        expect(rows[i]!.logProb!).toBeCloseTo(s.logProbs[j]! - s.logTotal, 4);
      }
    } finally {
      await model.free();
    }
  });

  it('evaluates a shared preamble (the titles list) once, not once per worker', async () => {
    const out = join(await tempDir(), 'r.duckdb');
    const limit = 6;
    const r = await evaluate(modelOpts(out, { template: 'off-the-shelf-titles', limit }));
    const store = await readPanelDir(fx.dir);
    const template = getTemplate('off-the-shelf-titles', { taxonomy: store.taxonomy });
    const model = await Model.load(spm, ENGINE);
    try {
      const preamble = `Every occupation below is one of these titles:\n${store.taxonomy.titles().join('\n')}\n\n`;
      const preambleTokens = model.tokenize(preamble).length;
      expect(preambleTokens).toBeGreaterThan(60);
      // Without reuse across workers, each worker would evaluate at least its longest prompt.
      const tested = store.panel.workers.filter((w) => store.splits.get(w.id) === 'test').slice(0, limit);
      const longest = tested.map((w) => model.tokenize(template.prompts(w).at(-1)!.prompt).length).reduce((a, b) => a + b, 0);
      expect(r.stats!.promptTokensEvaluated).toBeLessThan(longest - (limit - 1) * (preambleTokens - 2));
      // The time outside the decodes is reported too: tokenizing and checking the titles' tokens.
      expect(r.stats!.msTokenize).toBeGreaterThan(0);
    } finally {
      await model.free();
    }
  });

  it('cancels between workers, keeps what is complete, and resumes to the same results', async () => {
    const dir = await tempDir();
    const full = join(dir, 'full.duckdb');
    await evaluate(modelOpts(full, { limit: 8 }));
    const out = join(dir, 'cancelled.duckdb');
    const ac = new AbortController();
    let seen = 0;
    await expect(
      evaluate(modelOpts(out, { limit: 8, commitIntervalMs: 0 }), {
        signal: ac.signal,
        onProgress: (p) => {
          seen = p.workersDone;
          if (p.workersDone >= 3) ac.abort();
        },
      }),
    ).rejects.toBeInstanceOf(CancelledError);
    expect(seen).toBe(3);
    const s = await ResultsStore.open(out, { readOnly: true });
    const run = (await s.runs())[0]!.name;
    expect((await s.progress(run)).workersDone).toBe(3);
    await s.close();
    const resumed = await evaluate(modelOpts(out, { limit: 8 }));
    expect(resumed.workers.alreadyDone).toBe(3);
    expect(resumed.complete).toBe(true);
    expect(await readRun(out, run)).toEqual(await readRun(full, run));
    // Once complete, the same command is a no-op that does not even load the model.
    const again = await evaluate(modelOpts(out, { limit: 8 }));
    expect(again.workers).toEqual({ total: resumed.workers.total, alreadyDone: resumed.workers.total, scored: 0 });
    expect(again.stats).toBeNull();
  });
});

describe('baselines in the same store', () => {
  it('scores uniform, empirical, logit and oracle on the transitions of the model run', async () => {
    const out = join(await tempDir(), 'r.duckdb');
    await evaluate(modelOpts(out, { mode: 'perplexity', name: 'llm' }));
    const llm = await readRun(out, 'llm');
    const ppl: Record<string, number> = {};
    for (const baseline of ['uniform', 'empirical', 'logit', 'oracle'] as const) {
      const r = await evaluate({ data: fx.dir, out, scorer: new BaselineScorer(baseline) });
      expect(r.run).toBe(baseline);
      const rows = await readRun(out, baseline);
      expect(rows.map((x) => [x.workerId, x.index, x.to])).toEqual(llm.map((x) => [x.workerId, x.index, x.to]));
      ppl[baseline] = Math.exp(-rows.reduce((a, x) => a + x.logProb!, 0) / rows.length);
      expect(rows.every((x) => x.rawLogProb === x.logProb && x.validMass === 1)).toBe(true);
    }
    expect(ppl.uniform).toBeCloseTo(smallTaxonomy().size, 9);
    // The oracle stores the generator's own probabilities.
    const store = await readPanelDir(fx.dir);
    const byId = new Map(store.panel.workers.map((w) => [w.id, w]));
    for (const x of await readRun(out, 'oracle')) {
      expect(Math.exp(x.logProb!)).toBeCloseTo(byId.get(x.workerId)!.records[x.index]!.trueProbability!, 9);
    }
  });
});

describe('bad input is refused before anything is written or lost', () => {
  async function rowsOf(path: string): Promise<number> {
    const s = await ResultsStore.open(path, { readOnly: true });
    try {
      let n = 0;
      for (const r of await s.runs()) n += (await s.results(r.name)).length;
      return n;
    } finally {
      await s.close();
    }
  }

  it('an unknown template', async () => {
    const out = join(await tempDir(), 'r.duckdb');
    await expect(evaluate(modelOpts(out, { template: 'resumee' }))).rejects.toThrow(NotFoundError);
    await expect(evaluate(modelOpts(out, { template: 'resumee' }))).rejects.toThrow(/valid templates are resume/);
    expect(existsSync(out)).toBe(false);
  });

  it('a data folder without a test split', async () => {
    const store = await readPanelDir(fx.dir);
    const dir = join(await tempDir(), 'nosplit');
    const splits = completeSplits(store.panel, new Map(), { seed: 1, fractions: { train: 0.9, valid: 0.1, test: 0 } }).splits;
    await writePanelDir(dir, { panel: store.panel, splits, taxonomy: store.taxonomy });
    const out = join(await tempDir(), 'r.duckdb');
    const err = await evaluate({ ...modelOpts(out), data: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(dir);
    expect((err as Error).message).toMatch(/no test split \(train \d+, valid \d+, test 0/);
    expect(existsSync(out)).toBe(false);
  });

  it('a model whose vocabulary cannot express the titles', async () => {
    const bert = await lowercasingModelPath();
    const model = await Model.load(bert, ENGINE);
    try {
      const bad = inexpressibleTitles(model, smallTaxonomy().titles());
      expect(bad.length).toBeGreaterThan(10);
      expect(bad[0]!.readsAs).not.toBe(` ${bad[0]!.title}\n`);
    } finally {
      await model.free();
    }
    // The real vocabularies round-trip every title of both taxonomies.
    const llama = await Model.load(spm, ENGINE);
    try {
      const { loadTaxonomy } = await import('../../src/data/taxonomy/taxonomy.js');
      expect(inexpressibleTitles(llama, [...loadTaxonomy('occ1990dd').titles(), ...loadTaxonomy('soc2018').titles()])).toEqual([]);
    } finally {
      await llama.free();
    }
    // In an existing store: refused, the store's results untouched.
    const out = join(await tempDir(), 'r.duckdb');
    await evaluate({ data: fx.dir, out, scorer: new BaselineScorer('uniform') });
    const before = await rowsOf(out);
    const err = await evaluate(modelOpts(out, { model: bert })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/cannot express \d+ of 18 titles/);
    expect(await rowsOf(out)).toBe(before);
    const s = await ResultsStore.open(out, { readOnly: true });
    expect((await s.runs()).map((r) => r.name)).toEqual(['uniform']);
    await s.close();
  });

  it('a results store from another run', async () => {
    const dir = await tempDir();
    const out = join(dir, 'r.duckdb');
    await evaluate(modelOpts(out, { limit: 4, mode: 'perplexity', name: 'm' }));
    const before = await rowsOf(out);
    // Same run name, other template: the run's configuration differs.
    await expect(evaluate(modelOpts(out, { limit: 4, mode: 'perplexity', name: 'm', template: 'resume-birth-year' }))).rejects.toThrow(
      /run "m" was made with another configuration \(template: store has "resume", now "resume-birth-year"\)/,
    );
    // Another model file under the same name.
    const bpe = await tinyModelPath('llama-spm', 2);
    await expect(evaluate(modelOpts(out, { limit: 4, mode: 'perplexity', name: 'm', model: bpe }))).rejects.toThrow(/model\.(file|sha256)/);
    // Other transitions: another limit, another shard, another panel.
    await expect(evaluate(modelOpts(out, { limit: 5, mode: 'perplexity', name: 'm' }))).rejects.toThrow(/another evaluation \(dataset|limit/);
    await expect(evaluate(modelOpts(out, { limit: 4, mode: 'perplexity', name: 'm', shard: '0/2' }))).rejects.toThrow(/use one store per shard/);
    const other = await writeSyntheticPanel({ workers: 40, maxRecords: 6, seed: 99 });
    const err = await evaluate({ ...modelOpts(out, { limit: 4, mode: 'perplexity', name: 'm' }), data: other.dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toContain(out);
    expect((err as Error).message).toMatch(/fingerprint/);
    expect(await rowsOf(out)).toBe(before);
    // A new name is another run in the same store.
    const r = await evaluate(modelOpts(out, { limit: 4, mode: 'perplexity', name: 'm2', template: 'resume-birth-year' }));
    expect(r.runCreated).toBe(true);
    expect(await rowsOf(out)).toBe(2 * before);
    rmSync(out);
  });

  it('the oracle on a panel that is not synthetic', async () => {
    const store = await readPanelDir(fx.dir);
    const real = { ...store.panel, workers: store.panel.workers.map((w) => ({ ...w, records: w.records.map(({ trueProbability: _, ...r }) => r) })) };
    const dir = join(await tempDir(), 'real');
    await writePanelDir(dir, { panel: real, splits: store.splits, taxonomy: store.taxonomy });
    const out = join(await tempDir(), 'r.duckdb');
    await expect(evaluate({ data: dir, out, scorer: new BaselineScorer('oracle') })).rejects.toThrow(/oracle baseline needs a synthetic panel/);
    expect(existsSync(out)).toBe(false);
  });
});
