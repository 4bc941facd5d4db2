/**
 * `labor-llm report --format html` through the CLI entry: a results store made by `labor-llm eval` with
 * three baselines on a small synthetic panel (no LLM), then the page: one self-contained file whose run
 * names, table numbers and plot data are the store's (checked against buildReport on the same store with
 * the same bootstrap), with the sample workers asked for, and a --json summary of what was written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { buildReport } from '../../src/report/build.js';
import { escapeHtml, plotLibraries } from '../../src/report/html/index.js';
import { formatEstimate } from '../../src/report/markdown.js';
import type { Report } from '../../src/report/types.js';
import { type PanelFixture, removeTempDirs, tempDir, writeSyntheticPanel } from '../helpers/eval-fixtures.js';
import { runCli } from '../helpers/run-cli.js';

afterAll(removeTempDirs);

/** Substring and pattern checks that name what is missing instead of printing the whole page on failure. */
function expectIn(html: string, needle: string): void {
  expect(html.includes(needle), `the page has ${JSON.stringify(needle)}`).toBe(true);
}
function expectNoMatch(html: string, re: RegExp): void {
  expect(re.exec(html)?.[0] ?? null, `the page matches ${re}`).toBeNull();
}

const BASELINES = ['oracle', 'empirical', 'uniform'] as const;
const B = 40;
const SEED = 3;

let fx: PanelFixture;
let dir: string;
let store: string;
/** The report of the store, computed without the CLI. */
let expected: Report;

beforeAll(async () => {
  fx = await writeSyntheticPanel({ workers: 30, profiles: ['nlsy79', 'psid81'], maxRecords: 5 });
  dir = await tempDir();
  store = join(dir, 'results.duckdb');
  for (const baseline of BASELINES) {
    const r = await runCli(['eval', '--baseline', baseline, '--data', fx.dir, '--out', store, '--quiet']);
    expect(r.code, r.stderr).toBe(EXIT_CODES.OK);
  }
  expected = await buildReport([store], { B, seed: SEED });
});

describe('labor-llm report --format html', () => {
  it('writes one self-contained page with the store\'s runs and numbers, and prints a summary with --json', async () => {
    const out = join(dir, 'report.html');
    const r = await runCli(['report', store, '--format', 'html', '--out', out, '--bootstrap', String(B), '--seed', String(SEED), '--samples', '2', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT_CODES.OK);
    const html = readFileSync(out, 'utf8');

    // The summary describes the file that was written.
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(summary).toEqual({
      out,
      format: 'html',
      bytes: Buffer.byteLength(html, 'utf8'),
      plots: html.match(/<div class="plot" id=/g)!.length,
      samples: 2,
      runs: [...BASELINES],
      datasets: expected.datasets,
    });
    // Perplexity, the two calibration plots (binary tasks), one per sample worker.
    expect(summary.plots).toBe(5);

    // Self-contained: the plotting libraries inlined, nothing fetched.
    expect(html.slice(0, 15).toLowerCase()).toBe('<!doctype html>');
    for (const lib of plotLibraries()) expectIn(html, `data-library="${lib.name}"`);
    expectNoMatch(html, /<script[^>]*\ssrc=/i);
    expectNoMatch(html, /<link[^>]*\shref=/i);
    expectNoMatch(html, /(src|href)=["']?(https?:)?\/\//i);

    // Every run of the store, and every perplexity cell as the Markdown report writes it.
    expect(expected.perplexity.length).toBe(BASELINES.length * expected.datasets.length);
    for (const name of BASELINES) expectIn(html, `<td>${escapeHtml(name)}</td>`);
    for (const cell of expected.perplexity) {
      expectIn(html, escapeHtml(formatEstimate(cell.perplexity)));
      // The plot's data carries the unrounded estimate.
      expectIn(html, JSON.stringify(cell.perplexity.estimate));
    }
    // On a synthetic panel the oracle is the floor and uniform is the number of titles.
    const pooled = (run: string) => expected.perplexity.find((c) => c.run === run && c.dataset === expected.datasets.at(-1))!.perplexity.estimate;
    expect(pooled('oracle')).toBeLessThan(pooled('uniform'));
    expect(pooled('uniform')).toBeCloseTo(fx.taxonomy.size, 9);

    // Sample workers: workers of the panel, with the predictions of a run that has a distribution.
    const sampled = [...html.matchAll(/<div class="sample" id="sample-([^"]+)">/g)].map((m) => m[1]!);
    expect(sampled).toHaveLength(2);
    const ids = new Set(fx.panel.workers.map((w) => escapeHtml(w.id)));
    for (const id of sampled) expect(ids.has(id)).toBe(true);
  });

  it('without --json, logs where the page is on stderr and prints nothing on stdout', async () => {
    const out = join(dir, 'plain.html');
    const r = await runCli(['report', store, '--format', 'html', '--out', out, '--bootstrap', String(B), '--samples', '0']);
    expect(r.code).toBe(EXIT_CODES.OK);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`wrote the HTML report to ${out} (3 plots)`);
    expectNoMatch(readFileSync(out, 'utf8'), /<div class="sample"/);
  });

  it('asks for --out (exit code 2) and names the fix when the panel of the sample workers is missing (exit code 3)', async () => {
    const noOut = await runCli(['report', store, '--format', 'html']);
    expect(noOut.code).toBe(EXIT_CODES.INPUT);
    expect(noOut.stdout).toBe('');
    expect(noOut.stderr).toMatch(/--format html writes a file: name it with --out/);

    const out = join(dir, 'missing-panel.html');
    const gone = await runCli(['report', store, '--format', 'html', '--out', out, '--bootstrap', String(B), '--panel', join(dir, 'no-such-panel')]);
    expect(gone.code).toBe(EXIT_CODES.NOT_FOUND);
    expect(gone.stderr).toMatch(/--samples 0/);
    expect(existsSync(out)).toBe(false);
  });
});
