/**
 * `labor-llm report`: the tables' numbers against direct computations on the stored rows, the paired
 * differences against the metrics' own comparison, datasets as columns, one or several stores, partial
 * runs, raw vs normalized, Markdown/JSON output and the Parquet export.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BaselineScorer } from '../../src/eval/baseline.js';
import { evaluate, type EvaluateOptions } from '../../src/eval/evaluate.js';
import { ModelScorer } from '../../src/eval/model-scorer.js';
import { readPanelDir, writePanelDir } from '../../src/data/io/index.js';
import { bootstrapPerplexity, compareModels, type TransitionResult } from '../../src/metrics/index.js';
import { buildReport } from '../../src/report/build.js';
import { formatEstimate, renderMarkdown } from '../../src/report/markdown.js';
import { ALL_DATASETS, type Report } from '../../src/report/types.js';
import { ResultsStore } from '../../src/results/results-store.js';
import type { StoredResult } from '../../src/results/types.js';
import { tinyModelPath } from '../helpers/models.js';
import { type PanelFixture, removeTempDirs, tempDir, writeSyntheticPanel } from '../helpers/eval-fixtures.js';
import { runCli } from '../helpers/run-cli.js';

afterAll(removeTempDirs);

let fx: PanelFixture;
let model: string;
let store: string;
const B = 60;
const seed = 7;

function baseline(out: string, baseline: 'uniform' | 'empirical' | 'oracle', data = fx.dir): EvaluateOptions {
  return { data, out, scorer: new BaselineScorer(baseline) };
}

beforeAll(async () => {
  fx = await writeSyntheticPanel({ workers: 30, profiles: ['nlsy79', 'psid81'], maxRecords: 5 });
  model = await tinyModelPath('llama-spm', 1);
  store = join(await tempDir(), 'r.duckdb');
  const engine = { threads: 2 };
  await evaluate({ data: fx.dir, out: store, name: 'llm', scorer: new ModelScorer({ model, template: 'resume', mode: 'distribution', engine }) });
  await evaluate({ data: fx.dir, out: store, name: 'llm-ppl', scorer: new ModelScorer({ model, template: 'resume', mode: 'perplexity', engine }) });
  for (const b of ['empirical', 'uniform', 'oracle'] as const) await evaluate(baseline(store, b));
});

async function rowsOf(path: string, run: string): Promise<StoredResult[]> {
  const s = await ResultsStore.open(path, { readOnly: true });
  try {
    return await s.results(run);
  } finally {
    await s.close();
  }
}

function asResults(rows: StoredResult[]): TransitionResult[] {
  return rows.map((r) => ({ workerId: r.workerId, index: r.index, year: r.year, from: r.from, to: r.to, logProb: r.logProb!, rank: r.rank!, ties: r.ties!, topK: r.topK!, rawLogProb: r.rawLogProb! }));
}

/** Relative closeness: the random tiny LLM has perplexities around 1e29. */
function expectClose(a: number, b: number, rel = 1e-9): void {
  expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(a), Math.abs(b)));
}

function cellOf(report: Report, run: string, dataset: string) {
  return report.perplexity.find((c) => c.run === run && c.dataset === dataset);
}

describe('buildReport', () => {
  it('computes perplexity per dataset and pooled, with bootstrap SEs and paired differences', async () => {
    const report = await buildReport([store], { B, seed, reference: 'empirical', variant: 'normalized' });
    expect(report.datasets).toEqual(['PSID81', 'NLSY79', ALL_DATASETS]);
    expect(report.runs.map((r) => r.name)).toEqual(['llm', 'llm-ppl', 'empirical', 'uniform', 'oracle']);
    // The perplexity-mode run has no normalized log-probs: not led by them, with a note.
    expect(report.perplexity.some((c) => c.run === 'llm-ppl')).toBe(false);
    expect(report.notes.join('\n')).toMatch(/"llm-ppl" \(perplexity mode\) stored raw log-probs only/);

    for (const dataset of ['PSID81', 'NLSY79', ALL_DATASETS]) {
      const byRun: Record<string, TransitionResult[]> = {};
      for (const run of ['llm', 'empirical', 'uniform', 'oracle']) {
        const rows = (await rowsOf(store, run)).filter((r) => dataset === ALL_DATASETS || r.dataset === dataset);
        byRun[run] = asResults(rows);
        // The point estimate straight from the rows.
        const direct = Math.exp(-rows.reduce((a, r) => a + r.logProb!, 0) / rows.length);
        expectClose(cellOf(report, run, dataset)!.perplexity.estimate, direct);
        expect(cellOf(report, run, dataset)!.perplexity.transitions).toBe(rows.length);
        // The SE is the worker bootstrap of this run's transitions in this column.
        expectClose(cellOf(report, run, dataset)!.perplexity.se, bootstrapPerplexity(byRun[run]!, { B, seed }).se);
      }
      expect(cellOf(report, 'uniform', dataset)!.perplexity.estimate).toBeCloseTo(18, 9);
      // Differences against the reference: the metrics' paired comparison on the same draws.
      const cmp = compareModels(
        ['empirical', 'llm', 'uniform', 'oracle'].map((name) => ({ name, results: byRun[name]! })),
        { B, seed, reference: 'empirical' },
      );
      for (const d of cmp.differences) {
        const got = report.differences.find((x) => x.run === d.name && x.dataset === dataset)!;
        expect(got.reference).toBe('empirical');
        // Written as the paper does: reference (baseline) minus run.
        expectClose(got.difference.estimate, -d.difference.estimate);
        expectClose(got.difference.ci[0], -d.difference.ci[1]);
        expectClose(got.difference.se, d.difference.se);
        expect(got.transitions).toBe(byRun.empirical!.length);
      }
    }
    // On synthetic data the oracle beats the empirical model, which beats uniform.
    const all = (run: string) => cellOf(report, run, ALL_DATASETS)!.perplexity.estimate;
    expect(all('oracle')).toBeLessThan(all('empirical'));
    expect(all('empirical')).toBeLessThan(all('uniform'));
  });

  it('reports accuracy and the binary tasks of runs with the full distribution', async () => {
    const report = await buildReport([store], { B, seed });
    // The differences are against a baseline by default (the paper's "baseline - model").
    expect(report.options.reference).toBe('empirical');
    const rows = await rowsOf(store, 'uniform');
    const acc = report.accuracy.find((a) => a.run === 'uniform' && a.dataset === ALL_DATASETS)!;
    // Uniform: every code ties, so top-k accuracy is k / 18 exactly.
    expect(acc.top1).toBeCloseTo(1 / 18, 12);
    expect(acc.top5).toBeCloseTo(5 / 18, 12);
    expect(acc.transitions).toBe(rows.length);
    const emp = await rowsOf(store, 'empirical');
    const top1 = emp.filter((r) => r.rank === 1 && r.ties === 1).length / emp.length;
    expect(report.accuracy.find((a) => a.run === 'empirical' && a.dataset === ALL_DATASETS)!.top1).toBeCloseTo(top1, 12);
    expect(report.accuracy.some((a) => a.run === 'llm-ppl')).toBe(false);

    const same = report.binary.find((b) => b.run === 'empirical' && b.dataset === ALL_DATASETS && b.task === 'sameOccupation')!;
    // A first record has no previous state: the binary tasks are about transitions.
    const moves = emp.filter((r) => r.from !== null);
    expect(moves.length).toBeLessThan(emp.length);
    expect(emp.filter((r) => r.index === 0).every((r) => r.pSame === null)).toBe(true);
    expect(same.n).toBe(moves.length);
    expect(same.rate).toBeCloseTo(moves.filter((r) => r.from === r.to).length / moves.length, 12);
    expect(same.brier).toBeCloseTo(moves.reduce((a, r) => a + (r.pSame! - (r.from === r.to ? 1 : 0)) ** 2, 0) / moves.length, 12);
    const stay = report.binary.find((b) => b.run === 'empirical' && b.dataset === ALL_DATASETS && b.task === 'laborForce')!;
    // The official definition: the unemployed (9002) are in the labor force.
    const fromLf = moves.filter((r) => !['9001', '9003'].includes(r.from!));
    expect(stay.laborForce).toBe('official');
    expect(stay.among).toBe('previousInLaborForce');
    expect(stay.n).toBe(fromLf.length);
  });

  it('leads with the raw perplexity (the paper\'s) and puts the normalized one beside it', async () => {
    const report = await buildReport([store], { B, seed });
    expect(report.options.variant).toBe('raw');
    const llm = await rowsOf(store, 'llm');
    const cell = cellOf(report, 'llm', ALL_DATASETS)!;
    expect(cell.variant).toBe('raw');
    expect(cell.perplexity).toEqual(cell.raw);
    expectClose(cell.raw.estimate, Math.exp(-llm.reduce((a, r) => a + r.rawLogProb!, 0) / llm.length));
    expectClose(cell.normalized!.estimate, Math.exp(-llm.reduce((a, r) => a + r.logProb!, 0) / llm.length));
    expect(cell.normalized!.estimate).toBeLessThan(cell.raw.estimate);
    // A perplexity-mode run has the raw one only.
    expect(cellOf(report, 'llm-ppl', ALL_DATASETS)!.normalized).toBeNull();
  });

  it('uses raw log-probs with --variant raw, so perplexity-mode runs compare with the others', async () => {
    const report = await buildReport([store], { B, seed, variant: 'raw', reference: 'llm-ppl' });
    const d = report.differences.find((x) => x.run === 'llm' && x.dataset === ALL_DATASETS)!;
    // Both modes store the same raw log-probs: the difference is float noise.
    expect(Math.abs(d.difference.estimate)).toBeLessThan(1e-3 * cellOf(report, 'llm', ALL_DATASETS)!.perplexity.estimate);
    expect(cellOf(report, 'llm-ppl', 'NLSY79')).toBeDefined();
  });

  it('covers every record by default, records 2..T with transitionsOnly', async () => {
    const all = await buildReport([store], { B, seed, reference: 'empirical' });
    const moves = await buildReport([store], { B, seed, reference: 'empirical', transitionsOnly: true });
    const rows = await rowsOf(store, 'empirical');
    const later = rows.filter((r) => r.index > 0);
    expect(all.runs.find((r) => r.name === 'empirical')!.transitions).toBe(rows.length);
    expect(moves.runs.find((r) => r.name === 'empirical')!.transitions).toBe(later.length);
    expect(later.length).toBeLessThan(rows.length);
    expect(moves.options.transitionsOnly).toBe(true);
    expectClose(cellOf(moves, 'empirical', ALL_DATASETS)!.perplexity.estimate, bootstrapPerplexity(asResults(later), { B, seed }).estimate);
  });

  it('counts the unemployed in the labor force by default, out of it with the employed definition, one per store', async () => {
    const out = join(await tempDir(), 'employed.duckdb');
    await evaluate({ ...baseline(out, 'empirical'), laborForce: 'employed' });
    const official = await rowsOf(store, 'empirical');
    const employed = await rowsOf(out, 'empirical');
    // Moving the unemployed out of the labor force takes their probability off pLaborForce.
    employed.forEach((r, i) => {
      const unemployed = r.topK!.find((e) => e.code === '9002');
      expect(r.pLaborForce!).toBeLessThanOrEqual(official[i]!.pLaborForce! + 1e-12);
      if (unemployed) expect(official[i]!.pLaborForce! - r.pLaborForce!).toBeCloseTo(unemployed.prob, 9);
    });
    const report = await buildReport([out], { B, seed });
    expect(renderMarkdown(report)).toContain('definition "employed": only those at work are in the labor force');
    await expect(evaluate({ ...baseline(out, 'uniform') })).rejects.toThrow(/uses the employed definition, this evaluation the official one/);
  });

  it('combines stores of different panels by run name, one column per dataset', async () => {
    const panel = await readPanelDir(fx.dir);
    const dirs: string[] = [];
    for (const ds of ['NLSY79', 'PSID81']) {
      const dir = join(await tempDir(), ds);
      await writePanelDir(dir, { panel: { ...panel.panel, workers: panel.panel.workers.filter((w) => w.dataset === ds) }, splits: panel.splits, taxonomy: panel.taxonomy });
      dirs.push(dir);
    }
    const outs = [join(await tempDir(), 'nlsy.duckdb'), join(await tempDir(), 'psid.duckdb')];
    for (let i = 0; i < 2; i++) {
      await evaluate(baseline(outs[i]!, 'uniform', dirs[i]));
      await evaluate(baseline(outs[i]!, 'oracle', dirs[i]));
    }
    const report = await buildReport(outs, { B, seed, reference: 'uniform' });
    expect(report.datasets).toEqual(['PSID81', 'NLSY79', ALL_DATASETS]);
    expect(report.runs.find((r) => r.name === 'oracle')!.stores).toEqual(outs);
    // The oracle's numbers do not depend on the store split: same as in the combined store.
    const whole = await buildReport([store], { B, seed });
    for (const ds of ['PSID81', 'NLSY79']) {
      expect(cellOf(report, 'oracle', ds)!.perplexity.estimate).toBeCloseTo(cellOf(whole, 'oracle', ds)!.perplexity.estimate, 12);
    }
    expect(cellOf(report, 'oracle', ALL_DATASETS)!.perplexity.estimate).toBeCloseTo(cellOf(whole, 'oracle', ALL_DATASETS)!.perplexity.estimate, 12);
    // The same evaluation given twice is refused.
    await expect(buildReport([store, store], { B, seed })).rejects.toThrow(/in both/);
  });

  it('refuses incomplete runs unless asked, and unknown references', async () => {
    const out = join(await tempDir(), 'partial.duckdb');
    await evaluate(baseline(out, 'uniform'));
    const ac = new AbortController();
    await expect(
      evaluate({ ...baseline(out, 'empirical'), commitIntervalMs: 0 }, { signal: ac.signal, onProgress: (p) => p.workersDone >= 5 && ac.abort() }),
    ).rejects.toThrow(/cancelled/);
    await expect(buildReport([out], { B, seed })).rejects.toThrow(/incomplete runs: "empirical" \(5 of \d+ workers\)/);
    const report = await buildReport([out], { B, seed, allowPartial: true, reference: 'uniform' });
    const diff = report.differences.find((d) => d.run === 'empirical' && d.dataset === ALL_DATASETS)!;
    const emp = await rowsOf(out, 'empirical');
    expect(diff.transitions).toBe(emp.length);
    expect(report.notes.join('\n')).toMatch(/Incomplete runs/);
    await expect(buildReport([store], { B, seed, reference: 'nope' })).rejects.toThrow(/`reference` "nope" is not a run/);
    await expect(buildReport([store], { B, seed, reference: 'llm-ppl', variant: 'normalized' })).rejects.toThrow(/raw log-probs only/);
  });
});

describe('report output', () => {
  it('renders Markdown tables with estimates and SEs, and JSON of the same data', async () => {
    const report = await buildReport([store], { B, seed, reference: 'empirical' });
    const md = renderMarkdown(report);
    expect(md).toContain('| Run | PSID81 raw | PSID81 normalized | NLSY79 raw | NLSY79 normalized | All raw | All normalized |');
    expect(md).toContain(`| uniform | ${Array(6).fill('18.00 (0.00)').join(' | ')} |`);
    expect(md).toMatch(/\| llm-ppl \| [^|]+ \| \u2014 \|/);
    const oracle = cellOf(report, 'oracle', 'NLSY79')!.perplexity;
    expect(md).toContain(formatEstimate(oracle));
    expect(md).toContain('## Difference in raw perplexity: empirical \u2212 run');
    // The oracle beats the empirical baseline: a positive difference, as the paper writes them.
    expect(md).toMatch(/\| oracle \| \+\d+\.\d+ \(\d+\.\d+\)/);
    expect(md).toContain('### Staying in the labor force (transitions from a labor-force state), official definition: the unemployed are in the labor force');
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({ format: 'labor-llm-report', datasets: report.datasets });
  });

  it('formats estimates by the size of their SE', () => {
    expect(formatEstimate({ estimate: 12.3456, se: 0.56 })).toBe('12.35 (0.56)');
    expect(formatEstimate({ estimate: 1.23456, se: 0.0042 })).toBe('1.2346 (0.0042)');
    expect(formatEstimate({ estimate: -0.5, se: 0.1 }, { signed: true })).toBe('\u22120.50 (0.10)');
    expect(formatEstimate({ estimate: 0.5, se: 0.1 }, { signed: true })).toBe('+0.50 (0.10)');
    expect(formatEstimate({ estimate: 2.5e26, se: 9.9e34 })).toBe('2.50e+26 (9.9e+34)');
  });

  it('labor-llm report: --format json to a file, and --export to Parquet', async () => {
    const dir = await tempDir();
    const out = join(dir, 'report.json');
    const parquet = join(dir, 'rows.parquet');
    const { code } = await runCli(['report', store, '--format', 'json', '--bootstrap', String(B), '--seed', String(seed), '--out', out, '--export', parquet]);
    expect(code).toBe(0);
    const fromCli = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const direct = await buildReport([store], { B, seed });
    expect(fromCli.perplexity).toEqual(JSON.parse(JSON.stringify(direct.perplexity)));
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const rows = (await conn.runAndReadAll(`SELECT run, count(*) AS n FROM '${parquet}' GROUP BY run ORDER BY run`)).getRowObjectsJS();
    conn.closeSync();
    db.closeSync();
    const n = (await rowsOf(store, 'llm')).length;
    expect(rows).toEqual(['empirical', 'llm', 'llm-ppl', 'oracle', 'uniform'].map((run) => ({ run, n: BigInt(n) })));
    const { code: bad, stderr: message } = await runCli(['report', store, '--reference', 'nope']);
    expect(bad).toBe(2);
    expect(message).toMatch(/--reference "nope" is not a run of these stores \(llm, llm-ppl, empirical, uniform, oracle\)/);
  });
});
