/**
 * The HTML report: one self-contained file with plots (perplexity with bootstrap error bars, calibration of
 * the binary tasks, sample workers' top predictions) and the paper-style tables.
 *
 * From a Report:  writeHtmlReport(report, 'report.html', { samples: await sampleWorkersFromStores(report) })
 * From any data:  writeHtmlReportView(view, 'report.html')
 */
import { writeFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../data/io/atomic.js';
import { renderHtmlReport } from './render.js';
import type { HtmlReportView } from './types.js';

export * from './types.js';
export { renderHtmlReport, plotSpecs, escapeHtml } from './render.js';
export { perplexitySpec, calibrationSpec, sampleSpec, perplexityRows, Z_95 } from './specs.js';
export { plotLibraries, packageDir, inlineScript, inlineJson, type PlotLibrary } from './assets.js';
export { reportTables } from '../tables.js';
export {
  htmlViewFromReport,
  writeHtmlReport,
  sampleWorkersFromStores,
  type HtmlReportOptions,
  type StoreSampleOptions,
} from './from-report.js';
export {
  perplexityPoint,
  calibrationPoints,
  calibrationPointsOfReport,
  sampleWorkers,
  describeTraits,
  type SampleOptions,
  type PredictionRecord,
} from './view.js';

/** Writes a page of any view to `path` (atomically, replacing an existing file) and returns its size. */
export async function writeHtmlReportView(view: HtmlReportView, path: string): Promise<{ path: string; bytes: number }> {
  const html = renderHtmlReport(view);
  await writeFileAtomic(path, (tmp) => writeFile(tmp, html, 'utf8'), { overwrite: true });
  return { path, bytes: Buffer.byteLength(html, 'utf8') };
}
