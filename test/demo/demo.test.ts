/**
 * `labor-llm demo` end to end at a small size (about a minute on 2 cores): the command's JSON summary,
 * the files it writes, and the report's numbers checked against a recomputation from the results store
 * the run wrote (so they come from this run, not from anywhere else). The HTML report is opened in
 * headless Chromium when one is installed; a screenshot goes to test-artifacts/demo/.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_FILES, DEMO_RUNS, runDemo, type DemoResult } from '../../src/demo/index.js';
import { CancelledError, EXIT_CODES, InputError } from '../../src/errors.js';
import { readPanelDir } from '../../src/data/io/index.js';
import { accuracy, perplexity, type TransitionResult } from '../../src/metrics/index.js';
import { formatEstimate } from '../../src/report/markdown.js';
import type { Report } from '../../src/report/types.js';
import { ResultsStore } from '../../src/results/index.js';
import { artifactPath, findChromium, NO_CHROMIUM_MESSAGE, openReport } from '../helpers/browser.js';
import { runCli as run } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-demo-'));
const out = join(dir, 'demo');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ARGS = ['demo', '--out', out, '--workers', '80', '--epochs', '1', '--test-workers', '4', '--bootstrap', '50', '--seed', '3'];

let summary: DemoResult;
let report: Report;
let stored: Map<string, TransitionResult[]>;

beforeAll(async () => {
  const r = await run([...ARGS, '--json']);
  if (r.code !== 0) throw new Error(`demo failed with exit code ${r.code}: ${r.stderr}`);
  expect(r.stderr).toBe(''); // --json: nothing but the JSON document
  summary = JSON.parse(r.stdout) as DemoResult;
  report = JSON.parse(readFileSync(join(out, DEMO_FILES.reportJson), 'utf8')) as Report;
  const store = await ResultsStore.open(join(out, DEMO_FILES.results), { readOnly: true });
  try {
    stored = new Map();
    for (const name of DEMO_RUNS) {
      stored.set(
        name,
        (await store.results(name)).map((x) => ({
          ...x,
          logProb: x.logProb!,
          rawLogProb: x.rawLogProb ?? undefined,
          rank: x.rank!,
          ties: x.ties ?? undefined,
          topK: x.topK ?? [],
          pSame: x.pSame ?? undefined,
          pLaborForce: x.pLaborForce ?? undefined,
          validMass: x.validMass ?? undefined,
        })),
      );
    }
  } finally {
    await store.close();
  }
}, 600_000);

describe('labor-llm demo', () => {
  it('writes every file it names, and its summary says where the report is', () => {
    for (const [key, rel] of Object.entries(DEMO_FILES)) {
      expect(existsSync(join(out, rel)), key).toBe(true);
      expect(summary.files[key as keyof typeof DEMO_FILES]).toBe(join(out, rel));
    }
    expect(summary.options).toMatchObject({ workers: 80, epochs: 1, testWorkers: 4, seed: 3, profile: 'psid81' });
    expect(summary.steps.map((s) => s.step)).toEqual([
      'panel',
      'training texts',
      'tiny model',
      'fine-tuning',
      'career',
      ...DEMO_RUNS.map((r) => `evaluate ${r}`),
      'report',
      'report files',
    ]);
    expect(summary.training.history).toHaveLength(1);
    expect(summary.training.bestValLoss).toBeLessThan(summary.training.initialValLoss);
  });

  it('evaluates every run on the same test records: the first 4 test workers of the panel it wrote', async () => {
    const panel = await readPanelDir(join(out, DEMO_FILES.panel));
    expect(panel.panel.workers).toHaveLength(80);
    expect(panel.meta.oracle).toBe(true);
    const firstTest = panel.panel.workers.filter((w) => panel.splits.get(w.id) === 'test').slice(0, 4);
    // Every record, the first of each worker included (the paper's t = 1..T).
    const expected = firstTest.flatMap((w) => w.records.map((_, i) => `${w.id}/${i}`)).sort();
    for (const name of DEMO_RUNS) {
      expect(stored.get(name)!.map((r) => `${r.workerId}/${r.index}`).sort(), name).toEqual(expected);
    }
    expect(report.runs.map((r) => r.name)).toEqual([...DEMO_RUNS]);
    expect(report.runs.every((r) => r.complete && r.hasDistribution)).toBe(true);
  });

  it("report perplexities and accuracies are the store's results recomputed", () => {
    const pooled = report.datasets[report.datasets.length - 1]!;
    for (const name of DEMO_RUNS) {
      const cell = report.perplexity.find((c) => c.run === name && c.dataset === pooled)!;
      const results = stored.get(name)!;
      // Relative: an untrained model's perplexity is astronomically large.
      expect(cell.perplexity.estimate / perplexity(results, 'raw'), name).toBeCloseTo(1, 12);
      expect(cell.perplexity.transitions).toBe(results.length);
      expect(cell.perplexity.se).toBeGreaterThanOrEqual(0);
      const acc = report.accuracy.find((c) => c.run === name && c.dataset === pooled)!;
      expect(acc.top1, name).toBeCloseTo(accuracy(results).top1, 12);
      const s = summary.runs.find((r) => r.run === name)!;
      expect(s.perplexity).toBe(cell.perplexity.estimate);
    }
  });

  it('the oracle beats uniform, uniform is the number of titles, and fine-tuning beats no training', () => {
    const ppl = (name: string) => perplexity(stored.get(name)!);
    expect(ppl('uniform')).toBeCloseTo(334, 9);
    expect(ppl('oracle')).toBeLessThan(ppl('uniform'));
    expect(ppl('oracle')).toBeLessThan(ppl('empirical'));
    expect(ppl('tiny-finetuned')).toBeLessThan(ppl('tiny-untrained'));
  });

  it('the Markdown report shows the same numbers', () => {
    const md = readFileSync(join(out, DEMO_FILES.reportMarkdown), 'utf8');
    for (const c of report.perplexity) expect(md).toContain(formatEstimate(c.perplexity));
    expect(md).toContain('## About this demo');
  });

  it('refuses to write over an earlier demo without --force', async () => {
    const r = await run([...ARGS, '--quiet']);
    expect(r.code).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('--force');
  });

  it('stops at once when cancelled, and rejects bad options before writing anything', async () => {
    const controller = new AbortController();
    controller.abort();
    const cancelled = join(dir, 'cancelled');
    await expect(runDemo({ out: cancelled }, { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
    expect(existsSync(join(cancelled, DEMO_FILES.panel))).toBe(false);
    const bad = join(dir, 'bad');
    await expect(runDemo({ out: bad, workers: 5 })).rejects.toThrow(/`workers` must be an integer in \[20, /);
    await expect(runDemo({ out: bad, epochs: 0 })).rejects.toBeInstanceOf(InputError);
    expect(existsSync(bad)).toBe(false);
  });

  const chromium = findChromium();
  it.skipIf(!chromium)(`the HTML report draws every plot in headless Chromium${chromium ? '' : ` (skipped: ${NO_CHROMIUM_MESSAGE})`}`, async () => {
    const page = await openReport(join(out, DEMO_FILES.reportHtml), artifactPath('demo', 'report.png'), chromium!);
    expect(page.pageErrors).toEqual([]);
    expect(page.consoleMessages.filter((m) => m.type === 'error')).toEqual([]);
    expect(page.externalRequests).toEqual([]);
    expect(page.status.failed).toEqual([]);
    expect(page.status.rendered).toBe(page.plots.length);
    expect(page.plots.map((p) => p.id)).toEqual([
      'plot-perplexity',
      'plot-calibration-sameOccupation',
      'plot-calibration-laborForce',
      'plot-sample-1',
      'plot-sample-2',
      'plot-sample-3',
    ]);
    for (const p of page.plots) expect(p.marks, p.id).toBeGreaterThan(0);
    // One point per run and perplexity variant (raw and normalized, each labelled on its row).
    const points = report.perplexity.reduce((n, c) => n + (c.raw ? 1 : 0) + (c.normalized ? 1 : 0), 0);
    expect(points).toBe(2 * DEMO_RUNS.length);
    expect(page.plots[0]!.markTypes.symbol).toBe(points);
  });
});
