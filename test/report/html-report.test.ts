/**
 * The HTML report: page structure and escaping (string checks), then the real thing in headless Chromium:
 * a report built from baseline results on synthetic panels must draw every plot, with exactly one mark per
 * data point, no console errors or warnings and no network requests; a screenshot is kept in test-artifacts/.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmpiricalTransitionModel, OracleModel, UniformModel, scoreBaseline } from '../../src/baselines/index.js';
import { binaryTaskReport, bootstrapPerplexity, perplexity, type TransitionResult } from '../../src/metrics/index.js';
import { panelTransitions } from '../../src/data/panel/validate.js';
import {
  calibrationPointsOfReport,
  inlineJson,
  inlineScript,
  perplexityPoint,
  perplexityRows,
  plotLibraries,
  plotSpecs,
  renderHtmlReport,
  sampleWorkers,
  writeHtmlReportView,
  Z_95,
  type HtmlReportView,
} from '../../src/report/html/index.js';
import { splitPanel } from '../../src/data/split/index.js';
import { synthesizePanel } from '../../src/data/synth/index.js';
import { loadTaxonomy } from '../../src/data/taxonomy/index.js';
import { artifactPath, findChromium, NO_CHROMIUM_MESSAGE, openReport } from '../helpers/browser.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const taxonomy = loadTaxonomy('occ1990dd');

/** Baselines scored on the test split of two small synthetic panels, turned into a report view. */
function buildView(): { view: HtmlReportView; results: Map<string, TransitionResult[]> } {
  const view: HtmlReportView = {
    title: 'labor-llm report <test & check>',
    intro: ['Baselines on synthetic panels.'],
    facts: [{ label: 'taxonomy', value: taxonomy.name }],
    perplexity: [],
    calibration: [],
    samples: [],
    tables: [],
  };
  const results = new Map<string, TransitionResult[]>();
  for (const [profile, workers] of [['nlsy79', 240], ['psid81', 160]] as const) {
    const synth = synthesizePanel({ profile, workers, seed: 5, taxonomy });
    const { train, valid, test } = splitPanel(synth.panel, { seed: 5 });
    const empirical = new EmpiricalTransitionModel(taxonomy);
    empirical.fit(train, valid);
    const transitions = panelTransitions(test);
    const runs = [new OracleModel(synth.model), empirical, new UniformModel(taxonomy)].map((m) => ({
      name: m.name,
      results: scoreBaseline(m, test, transitions, { topK: 6 }),
    }));
    const dataset = synth.profile.dataset;
    for (const r of runs) {
      results.set(`${r.name}/${dataset}`, r.results);
      view.perplexity.push(perplexityPoint(r.name, dataset, bootstrapPerplexity(r.results, { B: 100, seed: 1 })));
      view.calibration.push(...calibrationPointsOfReport(r.name, dataset, binaryTaskReport(r.results, 'sameOccupation', { bins: 8 })));
      view.calibration.push(
        ...calibrationPointsOfReport(r.name, dataset, binaryTaskReport(r.results, 'laborForce', { bins: 8, among: 'previousInLaborForce' })),
      );
    }
    if (profile === 'nlsy79') view.samples = sampleWorkers(test.workers, taxonomy, runs.slice(0, 2), { count: 2, topK: 6 });
  }
  view.tables.push({
    id: 'perplexity',
    title: 'Test perplexity </script><b>bold</b>',
    columns: [{ label: 'model' }, { label: 'dataset' }, { label: 'perplexity', digits: 2 }, { label: 'SE', digits: 2 }],
    rows: view.perplexity.map((p) => [p.model, p.dataset, p.perplexity, p.se]),
    notes: ['Worker-level bootstrap, 100 draws.'],
  });
  return { view, results };
}

let built: ReturnType<typeof buildView>;
beforeAll(() => {
  built = buildView();
});

describe('HTML report page', () => {
  it('error bars: exp(log perplexity ± 1.96 SE of the log) when known, else perplexity ± 1.96 SE clipped at 1', () => {
    const rows = perplexityRows([
      { model: 'a', dataset: 'd', perplexity: 10, se: 2, transitions: 5 },
      { model: 'b', dataset: 'd', perplexity: 1.5, se: 1, transitions: 5 },
      { model: 'c', dataset: 'd', perplexity: 3, se: null, transitions: 5 },
      { model: 'e', dataset: 'd', perplexity: 1e12, se: 5e13, logSe: 0.5, transitions: 5 },
    ]);
    expect(rows[0]!.lower).toBeCloseTo(10 - 2 * Z_95, 12);
    expect(rows[0]!.upper).toBeCloseTo(10 + 2 * Z_95, 12);
    expect(rows[1]!.lower).toBe(1);
    expect([rows[2]!.lower, rows[2]!.upper]).toEqual([3, 3]);
    expect(Math.log(rows[3]!.lower as number)).toBeCloseTo(Math.log(1e12) - 0.5 * Z_95, 9);
    expect(Math.log(rows[3]!.upper as number)).toBeCloseTo(Math.log(1e12) + 0.5 * Z_95, 9);
  });

  it('points carry the bootstrap SEs of the perplexity and of its log', () => {
    const p = built.view.perplexity[0]!;
    const est = bootstrapPerplexity(built.results.get(`${p.model}/${p.dataset}`)!, { B: 100, seed: 1 });
    expect([p.perplexity, p.se, p.logSe]).toEqual([est.estimate, est.se, est.logPerplexity.se]);
  });

  it('inlined scripts and JSON cannot close their <script> element', () => {
    expect(inlineScript('a="</script><script>";b="<!--"')).toBe('a="<\\/script><script>";b="<\\!--"');
    const value = { s: '</script><!-- \u2028 \u2029 &' };
    const text = inlineJson(value);
    expect(text).not.toMatch(/<|\u2028|\u2029/);
    expect(JSON.parse(text)).toEqual(value);
  });

  it('is one self-contained page: the three libraries inlined once, no external reference, text escaped', () => {
    const html = renderHtmlReport(built.view);
    for (const lib of plotLibraries()) {
      expect(html.split(`data-library="${lib.name}"`)).toHaveLength(2);
      expect(lib.source.length).toBeGreaterThan(50_000);
    }
    expect(html).not.toMatch(/<script[^>]*\ssrc=/i);
    expect(html).not.toMatch(/<link[^>]*\shref=/i);
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//i);
    // Every <script> element closes exactly once: inlined code has no stray "</script".
    expect(html.match(/<script\b/g)!.length).toBe(html.match(/<\/script>/g)!.length);
    expect(html).toContain('<title>labor-llm report &#60;test &#38; check&#62;</title>');
    expect(html).toContain('Test perplexity &#60;/script&#62;&#60;b&#62;bold&#60;/b&#62;');
    expect(html).not.toContain('<b>bold</b>');
    // Table numbers are the view's numbers with the column's digits.
    const first = built.view.perplexity[0]!;
    expect(html).toContain(`<td class="num">${first.perplexity.toFixed(2)}</td>`);
  });

  it('has one plot per section with data: perplexity, each binary task, each sample worker', () => {
    const ids = plotSpecs(built.view).map((p) => p.id);
    expect(ids).toEqual([
      'plot-perplexity',
      'plot-calibration-sameOccupation',
      'plot-calibration-laborForce',
      'plot-sample-1',
      'plot-sample-2',
    ]);
    const empty = plotSpecs({ ...built.view, calibration: [], samples: [] }).map((p) => p.id);
    expect(empty).toEqual(['plot-perplexity']);
    const html = renderHtmlReport({ ...built.view, perplexity: [], calibration: [], samples: [], tables: [] });
    expect(html).toContain('No perplexities in this report.');
    expect(html).not.toContain('class="plot"');
  });

  it('sample workers show the stored top-k of their last transition with titles and the observed rank', () => {
    const s = built.view.samples[0]!;
    const oracle = built.results.get(`oracle/${s.dataset}`)!;
    const stored = oracle.find((r) => r.workerId === s.workerId && r.index === s.history.length - 1)!;
    const shown = s.predictions.find((p) => p.model === 'oracle')!;
    expect(shown.rank).toBe(stored.rank);
    expect(shown.topK.map((t) => t.code)).toEqual(stored.topK.map((t) => t.code));
    expect(shown.topK[0]!.title).toBe(taxonomy.titleOf(stored.topK[0]!.code));
    expect(shown.trueTitle).toBe(taxonomy.titleOf(stored.to));
    expect(s.predictions.map((p) => p.model)).toEqual(['oracle', 'empirical']);
  });

  it('orders models as the oracle < empirical < uniform in perplexity (sanity of the inputs)', () => {
    for (const d of ['NLSY79', 'PSID81']) {
      const p = (m: string) => perplexity(built.results.get(`${m}/${d}`)!);
      expect(p('oracle')).toBeLessThan(p('empirical'));
      expect(p('empirical')).toBeLessThan(p('uniform'));
      expect(p('uniform')).toBeCloseTo(taxonomy.size, 6);
    }
  });
});

const chromiumPath = findChromium();
if (!chromiumPath) console.warn(`skipping the Chromium rendering test: ${NO_CHROMIUM_MESSAGE}`);

describe.skipIf(!chromiumPath)('HTML report in headless Chromium', () => {
  it('draws every plot with one mark per data point, offline, with no console errors or warnings', async () => {
    const { view } = built;
    const path = join(dir, 'report.html');
    const written = await writeHtmlReportView(view, path);
    expect(written.bytes).toBe(statSync(path).size);
    expect(readFileSync(path, 'utf8')).toBe(renderHtmlReport(view));

    const page = await openReport(path, artifactPath('report-html', 'baselines-report.png'), chromiumPath!);
    expect(page.pageErrors).toEqual([]);
    expect(page.consoleMessages.filter((m) => m.type === 'error' || m.type === 'warning')).toEqual([]);
    expect(page.externalRequests).toEqual([]);
    const ids = plotSpecs(view).map((p) => p.id);
    expect(page.status).toEqual({ total: ids.length, rendered: ids.length, failed: [], done: true });
    expect(page.plots.map((p) => p.id)).toEqual(ids);
    for (const plot of page.plots) {
      expect(plot.svgs, plot.id).toBeGreaterThanOrEqual(1);
      expect(plot.marks, plot.id).toBeGreaterThan(0);
    }
    const byId = new Map(page.plots.map((p) => [p.id, p]));
    // Perplexity: one dot and one error bar per (model, dataset).
    expect(byId.get('plot-perplexity')!.markTypes.symbol).toBe(view.perplexity.length);
    expect(byId.get('plot-perplexity')!.markTypes.rule).toBe(view.perplexity.length);
    // Calibration: one point per non-empty bin; one line per (model, dataset) plus one diagonal per dataset.
    for (const task of ['sameOccupation', 'laborForce'] as const) {
      const points = view.calibration.filter((c) => c.task === task);
      const plot = byId.get(`plot-calibration-${task}`)!;
      expect(plot.markTypes.symbol, task).toBe(points.length);
      const series = new Set(points.map((c) => `${c.model}/${c.dataset}`)).size;
      const datasets = new Set(points.map((c) => c.dataset)).size;
      expect(plot.markTypes.line, task).toBe(series + datasets);
    }
    // Samples: one bar per shown title.
    view.samples.forEach((s, i) => {
      const bars = s.predictions.reduce((n, p) => n + p.topK.length, 0);
      expect(byId.get(`plot-sample-${i + 1}`)!.markTypes.rect).toBe(bars);
    });
    expect(existsSync(page.screenshot)).toBe(true);
    expect(statSync(page.screenshot).size).toBeGreaterThan(10_000);
  });

  it('shows a failed plot in place and reports it on the console', async () => {
    const broken = { ...built.view, samples: [], calibration: [] };
    // A spec whose data has no field the encoding names still renders; an invalid mark type does not.
    const html = renderHtmlReport(broken).replace('"mark":{"type":"point"', '"mark":{"type":"no-such-mark"');
    const path = join(dir, 'broken.html');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path, html);
    const page = await openReport(path, join(dir, 'broken.png'), chromiumPath!);
    expect(page.status.failed).toEqual(['plot-perplexity']);
    expect(page.consoleMessages.some((m) => m.type === 'error' && m.text.includes('plot-perplexity'))).toBe(true);
  });
});
