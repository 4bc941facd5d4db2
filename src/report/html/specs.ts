/**
 * Vega-Lite specifications of the report's plots. Each takes display-ready rows (types.ts) and returns a
 * complete spec with its data inlined, so the page needs no fetch.
 */
import type { TopLevelSpec } from 'vega-lite';
import { BINARY_TASK_LABELS, type BinaryTask, type CalibrationPoint, type PerplexityPoint, type SampleWorker } from './types.js';

/** Error bars span estimate ± Z_95 · bootstrap SE. */
export const Z_95 = 1.959963984540054;

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

const CONFIG = {
  font: FONT,
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  view: { stroke: '#ddd' },
};

/**
 * Perplexity rows with their error-bar ends: exp(log perplexity ± 1.96 SE of the log) when the log's SE
 * is known, else perplexity ± 1.96 SE clipped at 1 (the least possible perplexity).
 */
export function perplexityRows(points: readonly PerplexityPoint[]): Record<string, string | number | null>[] {
  return points.map((p) => {
    const half = p.se === null ? 0 : Z_95 * p.se;
    const logHalf = p.logSe === undefined || p.logSe === null ? null : Z_95 * p.logSe;
    return {
      model: p.model,
      dataset: p.dataset,
      perplexity: p.perplexity,
      se: p.se,
      lower: logHalf === null ? Math.max(1, p.perplexity - half) : Math.max(1, p.perplexity * Math.exp(-logHalf)),
      upper: logHalf === null ? p.perplexity + half : p.perplexity * Math.exp(logHalf),
      transitions: p.transitions,
      workers: p.workers ?? null,
    };
  });
}

/**
 * Dot plot: one row per model (in the given order), one dot per dataset with a 95% interval from the
 * bootstrap SE. Log scale, because the uniform baseline (hundreds) and good models (tens) share the axis.
 */
export function perplexitySpec(points: readonly PerplexityPoint[]): TopLevelSpec {
  const models = [...new Set(points.map((p) => p.model))];
  const datasets = [...new Set(points.map((p) => p.dataset))];
  const x = {
    type: 'quantitative' as const,
    scale: { type: 'log' as const, nice: false },
    // Plain numbers up to 10^5, then powers of ten (an untrained model's perplexity can be 1e20).
    axis: { labelExpr: "datum.value >= 1e5 ? format(datum.value, '.0e') : format(datum.value, '~g')", labelOverlap: 'greedy' as const },
    title: 'test perplexity, raw and normalized as each row says (log scale; bars: 95% intervals from the bootstrap SE)',
  };
  return {
    config: CONFIG,
    width: 560,
    height: { step: Math.max(16, 10 * datasets.length) },
    data: { values: perplexityRows(points) },
    encoding: {
      y: { field: 'model', type: 'nominal', sort: models, title: null },
      yOffset: { field: 'dataset', type: 'nominal', sort: datasets },
      color: { field: 'dataset', type: 'nominal', sort: datasets, title: 'dataset' },
    },
    layer: [
      { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: { field: 'lower', ...x }, x2: { field: 'upper' } } },
      {
        mark: { type: 'point', filled: true, size: 60, opacity: 1 },
        encoding: {
          x: { field: 'perplexity', ...x },
          tooltip: [
            { field: 'model', type: 'nominal' },
            { field: 'dataset', type: 'nominal' },
            { field: 'perplexity', type: 'quantitative', format: '.3f' },
            { field: 'se', type: 'quantitative', format: '.3f', title: 'bootstrap SE' },
            { field: 'transitions', type: 'quantitative' },
            { field: 'workers', type: 'quantitative' },
          ],
        },
      },
    ],
  };
}

function calibrationPanel(points: readonly CalibrationPoint[], dataset: string, models: string[], titled: boolean) {
  const axis = { type: 'quantitative' as const, scale: { domain: [0, 1] } };
  return {
    width: 300,
    height: 300,
    ...(titled ? { title: dataset } : {}),
    layer: [
      {
        data: { values: [{ p: 0 }, { p: 1 }] },
        mark: { type: 'line' as const, strokeDash: [4, 4], color: '#999' },
        encoding: {
          x: { field: 'p', ...axis, title: 'predicted probability' },
          y: { field: 'p', ...axis, title: 'observed rate' },
        },
      },
      {
        data: { values: points.filter((p) => p.dataset === dataset).map((p) => ({ ...p })) },
        mark: { type: 'line' as const, point: true, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'predicted', ...axis },
          y: { field: 'observed', ...axis },
          color: { field: 'model', type: 'nominal' as const, sort: models, title: 'model' },
          order: { field: 'predicted', type: 'quantitative' as const },
          tooltip: [
            { field: 'model', type: 'nominal' as const },
            { field: 'predicted', type: 'quantitative' as const, format: '.3f', title: 'mean predicted' },
            { field: 'observed', type: 'quantitative' as const, format: '.3f', title: 'observed rate' },
            { field: 'count', type: 'quantitative' as const, title: 'transitions' },
          ],
        },
      },
    ],
  };
}

/** Reliability diagram of one binary task: one panel per dataset, one line per model, the diagonal for reference. */
export function calibrationSpec(points: readonly CalibrationPoint[], task: BinaryTask): TopLevelSpec {
  const rows = points.filter((p) => p.task === task);
  const models = [...new Set(rows.map((p) => p.model))];
  const datasets = [...new Set(rows.map((p) => p.dataset))];
  const panels = datasets.map((d) => calibrationPanel(rows, d, models, datasets.length > 1));
  const title = { text: BINARY_TASK_LABELS[task], anchor: 'start' as const };
  if (panels.length === 1) return { config: CONFIG, title, ...panels[0]! } as TopLevelSpec;
  return { config: CONFIG, title, hconcat: panels } as TopLevelSpec;
}

/** Bars of one sample worker's top predicted titles, one panel per model; the observed title is highlighted. */
export function sampleSpec(sample: SampleWorker): TopLevelSpec {
  const panels = sample.predictions.map((p) => ({
    title: { text: `${p.model}: observed title ranked ${p.rank}`, fontSize: 12, anchor: 'start' as const },
    width: 260,
    height: { step: 16 },
    data: {
      values: p.topK.map((t, i) => ({
        rank: i + 1,
        title: `${i + 1}. ${t.title}`,
        prob: t.prob,
        observed: t.code === p.trueCode ? 'observed next title' : 'other title',
      })),
    },
    mark: { type: 'bar' as const },
    encoding: {
      y: { field: 'title', type: 'nominal' as const, sort: { field: 'rank' }, title: null },
      x: { field: 'prob', type: 'quantitative' as const, title: 'probability', axis: { format: '.0%' } },
      color: {
        field: 'observed',
        type: 'nominal' as const,
        scale: { domain: ['observed next title', 'other title'], range: ['#d62728', '#9ecae1'] },
        title: null,
      },
      tooltip: [
        { field: 'title', type: 'nominal' as const },
        { field: 'prob', type: 'quantitative' as const, format: '.4f' },
      ],
    },
  }));
  // Two panels a row: three side by side (fine-tuned, untrained, oracle) overflow the page's width.
  const rows: (typeof panels)[] = [];
  for (let i = 0; i < panels.length; i += 2) rows.push(panels.slice(i, i + 2));
  if (rows.length <= 1) return { config: CONFIG, hconcat: panels } as TopLevelSpec;
  return { config: CONFIG, vconcat: rows.map((r) => ({ hconcat: r })) } as TopLevelSpec;
}
