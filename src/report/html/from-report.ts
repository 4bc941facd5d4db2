/**
 * The HTML report of a Report (report/build.ts) and its results stores: perplexities and calibration bins
 * come from the Report as they are (the Markdown and JSON formats show the same numbers), sample workers
 * from the stores' top-k and the panel store the evaluation read.
 */
import { writeFile } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { writeFileAtomic } from '../../data/io/atomic.js';
import { readPanelDir } from '../../data/io/panel-store.js';
import type { Worker } from '../../data/panel/types.js';
import { ResultsStore } from '../../results/results-store.js';
import type { StoredResult } from '../../results/types.js';
import { recordsText, VARIANT_TEXT } from '../format.js';
import type { Report } from '../types.js';
import { renderHtmlReport } from './render.js';
import { reportTables } from '../tables.js';
import type { BinaryTask, CalibrationPoint, HtmlReportView, PerplexityPoint, SampleWorker } from './types.js';
import { calibrationPoints, sampleWorkers, type SampleOptions } from './view.js';

export interface HtmlReportOptions {
  title?: string;
  /** Paragraphs under the title. */
  intro?: string[];
  /** Label/value pairs shown under the title (what was run). */
  facts?: { label: string; value: string }[];
  /** Sample workers (see sampleWorkersFromStores); none by default. */
  samples?: SampleWorker[];
  /** Timestamp shown in the footer (default: now). */
  generatedAt?: string;
}

/** The binary task a report cell is plotted as; tasks the HTML page has no plot for give null. */
function plottedTask(task: string, among: string): BinaryTask | null {
  if (task === 'sameOccupation' && among === 'all') return 'sameOccupation';
  if (task === 'laborForce' && among === 'previousInLaborForce') return 'laborForce';
  return null;
}

/** The page's content for a Report: numbers taken from the Report, never recomputed. */
export function htmlViewFromReport(report: Report, opts: HtmlReportOptions = {}): HtmlReportView {
  const order = new Map(report.runs.map((r, i) => [r.name, i] as const));
  const datasetOrder = new Map(report.datasets.map((d, i) => [d, i] as const));
  const rank = (run: string, dataset: string) => (order.get(run) ?? 1e9) * 1000 + (datasetOrder.get(dataset) ?? 999);
  // Both perplexities of a run, each labelled on its row: the leading variant first.
  const variants = [report.options.variant, report.options.variant === 'raw' ? 'normalized' : 'raw'] as const;
  const perplexity: PerplexityPoint[] = [...report.perplexity]
    .sort((a, b) => rank(a.run, a.dataset) - rank(b.run, b.dataset))
    .flatMap((c) =>
      variants.flatMap((v) => {
        const e = c[v];
        if (!e) return [];
        return [{ model: `${c.run} (${v})`, dataset: c.dataset, perplexity: e.estimate, se: e.se, logSe: e.logPerplexity.se, transitions: e.transitions, workers: e.workers }];
      }),
    );
  const calibration: CalibrationPoint[] = [];
  for (const b of [...report.binary].sort((x, y) => rank(x.run, x.dataset) - rank(y.run, y.dataset))) {
    const task = plottedTask(b.task, b.among);
    if (task) calibration.push(...calibrationPoints(b.run, b.dataset, task, b.calibration));
  }
  const o = report.options;
  const facts = opts.facts ?? [
    { label: 'results stores', value: report.stores.map((s) => s.path).join(', ') },
    { label: 'runs', value: report.runs.map((r) => r.name).join(', ') },
    { label: 'datasets', value: report.datasets.join(', ') },
    { label: 'bootstrap', value: `B = ${o.B}, seed ${o.seed}; differences from ${o.variant} log-probabilities` },
    { label: 'perplexity', value: `${VARIANT_TEXT.raw}; ${VARIANT_TEXT.normalized}; over ${recordsText(o.transitionsOnly)}` },
  ];
  return {
    title: opts.title ?? 'labor-llm evaluation report',
    intro: [...(opts.intro ?? []), ...report.notes.map((n) => `Note: ${n}`)],
    facts,
    perplexity,
    calibration,
    samples: opts.samples ?? [],
    tables: reportTables(report),
    generatedAt: opts.generatedAt ?? new Date().toISOString(),
  };
}

/** Writes the HTML report of `report` to `path` (atomically, replacing an existing file). */
export async function writeHtmlReport(
  report: Report,
  path: string,
  opts: HtmlReportOptions = {},
): Promise<{ path: string; bytes: number; plots: number }> {
  const view = htmlViewFromReport(report, opts);
  const html = renderHtmlReport(view);
  await writeFileAtomic(path, (tmp) => writeFile(tmp, html, 'utf8'), { overwrite: true });
  const plots = html.match(/<div class="plot" id=/g)?.length ?? 0;
  return { path, bytes: Buffer.byteLength(html, 'utf8'), plots };
}

export interface StoreSampleOptions extends SampleOptions {
  /** Panel store folder (default: the one recorded in each results store by `eval`). */
  panel?: string;
  /**
   * Runs whose predictions are shown (default: the report's LLM runs with distributions; without any,
   * every distribution run except the uniform baseline, whose top titles are ties).
   */
  runs?: readonly string[];
}

/** Sample workers of the report's stores with their histories and the stored top-k of their last record. */
export async function sampleWorkersFromStores(report: Report, opts: StoreSampleOptions = {}): Promise<SampleWorker[]> {
  const withDist = report.runs.filter((r) => r.hasDistribution);
  let runs = opts.runs ? [...opts.runs] : withDist.filter((r) => r.kind === 'model').map((r) => r.name);
  if (!opts.runs && runs.length === 0) runs = withDist.filter((r) => r.scorer !== 'uniform').map((r) => r.name);
  for (const name of runs) {
    if (!report.runs.some((r) => r.name === name)) throw new InputError(`run "${name}" is not in the report (${report.runs.map((r) => r.name).join(', ')})`);
  }
  if (runs.length === 0) return [];
  const count = opts.count ?? 3;
  const out: SampleWorker[] = [];
  for (const s of report.stores) {
    if (out.length >= count) break;
    const store = await ResultsStore.open(s.path, { readOnly: true });
    let results: { name: string; results: StoredResult[] }[];
    let panelDir: string;
    try {
      const recorded = (store.meta.source as { data?: unknown }).data;
      panelDir = opts.panel ?? (typeof recorded === 'string' ? recorded : '');
      if (panelDir === '') throw new InputError('the store does not record its panel store; pass the panel folder', { file: s.path });
      results = [];
      for (const name of runs.filter((r) => s.runs.includes(r))) results.push({ name, results: await store.results(name) });
    } finally {
      await store.close();
    }
    if (results.length === 0) continue;
    const panel = await readPanelDir(panelDir);
    const evaluated = new Set(results.flatMap((r) => r.results.map((x) => x.workerId)));
    const workers: Worker[] = panel.panel.workers.filter((w) => evaluated.has(w.id));
    out.push(...sampleWorkers(workers, panel.taxonomy, results, { ...opts, count: count - out.length }));
  }
  return out;
}
