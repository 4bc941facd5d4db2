/**
 * `eval --sample`: a seeded random sample of the records, the same for every run of one panel and
 * seed (so rows compare record by record), of the exact size the paper's ICL tables use; and the
 * check of prompts against the model's context.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureCli } from '../helpers/run-cli.js';
import { InputError } from '../../src/errors.js';
import { BaselineScorer } from '../../src/eval/baseline.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { ImportedScorer } from '../../src/eval/imported-scorer.js';
import { ModelScorer } from '../../src/eval/model-scorer.js';
import { sampleRecords } from '../../src/eval/sample.js';
import type { Worker } from '../../src/data/panel/types.js';
import type { StoredResult } from '../../src/results/types.js';
import { tinyModelPath } from '../helpers/models.js';
import { type PanelFixture, readRun, removeTempDirs, tempDir, writeSyntheticPanel } from '../helpers/eval-fixtures.js';

afterAll(removeTempDirs);

let fx: PanelFixture;
let spm: string;
beforeAll(async () => {
  fx = await writeSyntheticPanel({ workers: 40, maxRecords: 6 });
  spm = await tinyModelPath('llama-spm', 1);
});

const ENGINE = { threads: 2, kvCache: 'f32', flashAttention: 'off' } as const;

const keys = (rs: readonly StoredResult[]) => rs.map((r) => `${r.workerId}#${r.index}`);

function workersWith(records: number, each: number, dataset = 'PSID81'): Worker[] {
  const out: Worker[] = [];
  for (let i = 0; records > 0; i++) {
    const n = Math.min(each, records);
    records -= n;
    out.push({ id: String(i), dataset, birthYear: null, gender: 'male', ethnicity: 'white', region: 'south', records: Array.from({ length: n }, (_, t) => ({ year: 1980 + t, code: '4', education: 'college' })) });
  }
  return out;
}

describe('sampleRecords', () => {
  it("keeps floor(fraction * records): the talk's 10% samples of the three test sets", () => {
    // Test records of the talk's Table 6 (line 358) and its ICL sample sizes (lines 223-224).
    for (const [records, want] of [[61_772, 6_177], [51_593, 5_159], [29_951, 2_995]] as const) {
      const workers = workersWith(records, 10);
      const s = sampleRecords(workers, { fraction: 0.1, seed: 0 });
      expect(s.size).toBe(want);
      let n = 0;
      for (const w of workers) for (let i = 0; i < w.records.length; i++) if (s.has(w, i)) n++;
      expect(n).toBe(want);
    }
  });

  it('is a function of the workers and the seed: order-free, nested in the fraction, other with another seed', () => {
    const workers = workersWith(3000, 7);
    const picked = (ws: readonly Worker[], fraction: number, seed: number) => {
      const s = sampleRecords(ws, { fraction, seed });
      return new Set(ws.flatMap((w) => w.records.map((_, i) => i).filter((i) => s.has(w, i)).map((i) => `${w.id}#${i}`)));
    };
    const a = picked(workers, 0.1, 4);
    expect(picked([...workers].reverse(), 0.1, 4)).toEqual(a);
    const larger = picked(workers, 0.3, 4);
    expect([...a].every((k) => larger.has(k))).toBe(true);
    expect(picked(workers, 0.1, 5)).not.toEqual(a);
    // Every record position can be drawn, the first one included.
    expect([...a].some((k) => k.endsWith('#0'))).toBe(true);
    expect(() => sampleRecords(workers, { fraction: 0, seed: 0 })).toThrow(/`sample.fraction` must be a fraction in \(0, 1\]/);
    expect(() => sampleRecords(workers, { fraction: 1.5, seed: 0 })).toThrow(InputError);
    expect(() => sampleRecords(workers, { fraction: 0.1, seed: 0.5 })).toThrow(/`sample.seed` must be an integer/);
  });
});

describe('evaluate --sample', () => {
  it('scores exactly the sampled records, the same ones for every scorer, template and mode', async () => {
    const dir = await tempDir();
    const out = join(dir, 'r.duckdb');
    const sample = { fraction: 0.25, seed: 7 };
    const base = { data: fx.dir, out, sample };
    const e = await evaluate({ ...base, name: 'empirical', scorer: new BaselineScorer('empirical') });
    await evaluate({ ...base, name: 'uniform', scorer: new BaselineScorer('uniform') });
    await evaluate({ ...base, limit: undefined, name: 'ppl', scorer: new ModelScorer({ model: spm, template: 'resume', mode: 'perplexity', engine: ENGINE }) });
    await evaluate({ ...base, name: 'ots', scorer: new ModelScorer({ model: spm, template: 'off-the-shelf-titles', mode: 'distribution', engine: ENGINE }) });
    expect(e.complete).toBe(true);
    const ref = keys(await readRun(out, 'empirical'));
    for (const run of ['uniform', 'ppl', 'ots']) expect(keys(await readRun(out, run)), run).toEqual(ref);

    // They are the sampled records among those every run scores, and the store counts exactly them.
    const full = join(dir, 'full.duckdb');
    await evaluate({ data: fx.dir, out: full, name: 'empirical', scorer: new BaselineScorer('empirical') });
    const all = await readRun(full, 'empirical');
    const test = fx.panel.workers.filter((w) => all.some((r) => r.workerId === w.id));
    const s = sampleRecords(test, sample);
    const byId = new Map(test.map((w) => [w.id, w]));
    const want = all.filter((r) => s.has(byId.get(r.workerId)!, r.index));
    expect(want.length).toBeGreaterThan(10);
    expect(want.length).toBeLessThan(all.length * 0.4);
    expect(ref).toEqual(keys(want));
    expect(e.transitions.total).toBe(want.length);
    // Same records, same numbers as the unsampled run.
    const sampledRows = await readRun(out, 'empirical');
    sampledRows.forEach((r, i) => expect(r.logProb).toBe(want[i]!.logProb));

    // An outside model's scores of every record (CAREER's, say) come in on the same sample.
    const csv = join(dir, 'outside.csv');
    writeFileSync(csv, `worker_id,year,log_prob\n${all.map((r) => `${r.workerId},${r.year},${r.logProb}`).join('\n')}\n`);
    await evaluate({ ...base, name: 'outside', scorer: new ImportedScorer(csv) });
    expect(keys(await readRun(out, 'outside'))).toEqual(ref);

    // A sampled store is another evaluation than an unsampled or otherwise sampled one.
    await expect(evaluate({ data: fx.dir, out, name: 'x', scorer: new BaselineScorer('uniform') })).rejects.toThrow(/another evaluation \(sample: store has \{"fraction":0.25,"seed":7\}, now \(absent\)/);
    await expect(evaluate({ ...base, sample: { fraction: 0.25, seed: 8 }, name: 'x', scorer: new BaselineScorer('uniform') })).rejects.toThrow(/sample\.seed: store has 7, now 8/);
  });
});

describe('eval --sample through the CLI', () => {
  const { out, run } = captureCli();
  it('passes --sample and --sample-seed on, and names the flag when the fraction is bad', async () => {
    const dir = await tempDir();
    const argv = ['eval', '--baseline', 'empirical', '--data', fx.dir, '--sample', '0.25', '--sample-seed', '7', '--json', '--quiet'];
    expect(await run(...argv, '--out', join(dir, 'cli.duckdb'))).toBe(0);
    const cli = JSON.parse(out.stdout);
    const lib = await evaluate({ data: fx.dir, out: join(dir, 'lib.duckdb'), sample: { fraction: 0.25, seed: 7 }, scorer: new BaselineScorer('empirical') });
    expect(cli.transitions.total).toBe(lib.transitions.total);
    expect(keys(await readRun(join(dir, 'cli.duckdb'), 'empirical'))).toEqual(keys(await readRun(join(dir, 'lib.duckdb'), 'empirical')));
    expect(await run('eval', '--baseline', 'empirical', '--data', fx.dir, '--sample', '10', '--out', join(dir, 'bad.duckdb'))).toBe(2);
    expect(out.stderr).toMatch(/--sample must be a fraction in \(0, 1\] \(0\.1 for the paper's 10%\), got 10/);
    expect(await run('eval', '--baseline', 'empirical', '--data', fx.dir, '--sample-seed', '3', '--out', join(dir, 'bad.duckdb'))).toBe(2);
    expect(out.stderr).toMatch(/--sample-seed needs --sample FRACTION/);
  });
});

describe('prompts against the context', () => {
  it('refuses before scoring when a prompt cannot fit --context-size, and warns past the training context', async () => {
    const dir = await tempDir();
    const small = { ...ENGINE, contextSize: 128 };
    const err = await evaluate({ data: fx.dir, out: join(dir, 'a.duckdb'), limit: 3, scorer: new ModelScorer({ model: spm, template: 'icl-titles', mode: 'perplexity', engine: small }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/template "icl-titles": worker "[^"]+" has a text of \d+ tokens, which with the longest title \(\d+ tokens\) does not fit the context of \d+ tokens; raise `engine.contextSize` to at least \d+ \(beyond the 2048 tokens the model was trained on/);
    // The tiny model was trained on 2,048 tokens; ten examples with the title list run past that.
    const logs: string[] = [];
    const r = await evaluate(
      { data: fx.dir, out: join(dir, 'b.duckdb'), limit: 2, scorer: new ModelScorer({ model: spm, template: 'icl-titles', mode: 'perplexity', engine: { ...ENGINE, contextSize: 8192 } }) },
      { onLog: (m) => logs.push(m) },
    );
    expect(r.complete).toBe(true);
    expect(logs.join('\n')).toMatch(/WARNING: template "icl-titles": prompts run to \d+ tokens .* more than the 2048 tokens of context the model was trained on/);
    const quiet: string[] = [];
    await evaluate({ data: fx.dir, out: join(dir, 'c.duckdb'), limit: 2, scorer: new ModelScorer({ model: spm, template: 'resume', mode: 'perplexity', engine: ENGINE }) }, { onLog: (m) => quiet.push(m) });
    expect(quiet.join('\n')).not.toMatch(/WARNING/);
  });
});
