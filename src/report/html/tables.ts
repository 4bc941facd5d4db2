/**
 * The paper-style tables of a Report as display tables: the same rows, columns and "estimate (SE)" cells
 * as the Markdown report (report/markdown.ts), so the two formats never disagree on a number.
 */
import { formatEstimate, recordsText, VARIANT_TEXT } from '../markdown.js';
import type { BinaryCell, Report } from '../types.js';
import type { ReportTable, TableCell } from './types.js';

const DASH = '\u2014';

const TASK_TITLES: Record<string, string> = {
  'sameOccupation/all': 'Staying in the same occupation (all transitions)',
  'laborForce/previousInLaborForce': 'Staying in the labor force (transitions from a labor-force state)',
  'laborForce/all': 'Being in the labor force (all transitions)',
};

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

export function reportTables(report: Report): ReportTable[] {
  const o = report.options;
  const runNames = report.runs.map((r) => r.name);
  const cols = report.datasets;
  const variants = [o.variant, o.variant === 'raw' ? 'normalized' : 'raw'] as const;
  const tables: ReportTable[] = [];
  const bootNote = `Standard errors in parentheses: worker-level bootstrap, B = ${o.B} draws, seed ${o.seed}.`;

  tables.push({
    id: 'runs',
    title: 'Runs',
    columns: [
      { label: 'Run' },
      { label: 'Kind' },
      { label: 'Scorer' },
      { label: 'Template' },
      { label: 'Mode' },
      { label: 'Workers', align: 'right' },
      { label: 'Transitions', align: 'right' },
      { label: 'Mass on titles', align: 'right' },
    ],
    rows: report.runs.map((r) => [
      r.name,
      r.kind,
      r.scorer,
      r.template ?? DASH,
      r.mode ?? DASH,
      r.complete ? String(r.workers) : `${r.workers} of ${r.workersTotal}`,
      String(r.transitions),
      r.meanValidMass === null ? DASH : r.meanValidMass.toPrecision(3),
    ]),
  });

  const byRun = (cells: { run: string; dataset: string }[], format: (run: string, dataset: string) => TableCell): TableCell[][] =>
    runNames.filter((n) => cells.some((c) => c.run === n)).map((n) => [n, ...cols.map((d) => format(n, d))]);
  const columns = [{ label: 'Run' }, ...cols.map((d) => ({ label: d, align: 'right' as const }))];

  if (report.perplexity.length > 0) {
    tables.push({
      id: 'perplexity',
      title: 'Test perplexity',
      columns: [{ label: 'Run' }, ...cols.flatMap((d) => variants.map((v) => ({ label: `${d} ${v}`, align: 'right' as const })))],
      rows: runNames
        .filter((n) => report.perplexity.some((c) => c.run === n))
        .map((n) => [
          n,
          ...cols.flatMap((d) => {
            const c = report.perplexity.find((x) => x.run === n && x.dataset === d);
            return variants.map((v) => (c && c[v] ? formatEstimate(c[v]!) : DASH));
          }),
        ]),
      notes: [`exp(\u2212mean log P(observed title)) over ${recordsText(o.transitionsOnly)}; ${VARIANT_TEXT.raw}; ${VARIANT_TEXT.normalized}.`, bootNote],
    });
  }

  if (o.reference !== null && report.differences.length > 0) {
    tables.push({
      id: 'differences',
      title: `Difference in ${o.variant} perplexity: ${o.reference} \u2212 run`,
      columns,
      rows: byRun(report.differences, (n, d) => {
        const c = report.differences.find((x) => x.run === n && x.dataset === d);
        return c ? formatEstimate(c.difference, { signed: true }) : DASH;
      }),
      notes: [
        `perplexity(${o.reference}) \u2212 perplexity(run), the paper's "baseline \u2212 model": positive means the run beats ${o.reference}. Paired bootstrap (same draws for both runs).`,
      ],
    });
  }

  if (report.accuracy.length > 0) {
    tables.push({
      id: 'accuracy',
      title: 'Accuracy (top-1 / top-5)',
      columns,
      rows: byRun(report.accuracy, (n, d) => {
        const c = report.accuracy.find((x) => x.run === n && x.dataset === d);
        return c ? `${pct(c.top1)} / ${pct(c.top5)}` : DASH;
      }),
    });
  }

  const taskKeys = [...new Set(report.binary.map((b) => `${b.task}/${b.among}`))];
  for (const key of taskKeys) {
    const order = (b: BinaryCell): number => cols.indexOf(b.dataset) * runNames.length + runNames.indexOf(b.run);
    const cells = report.binary.filter((b) => `${b.task}/${b.among}` === key).sort((a, b) => order(a) - order(b));
    tables.push({
      id: `binary-${key.replace('/', '-')}`,
      title: TASK_TITLES[key] ?? key,
      columns: [
        { label: 'Dataset' },
        { label: 'Run' },
        { label: 'n' },
        { label: 'Rate', align: 'right' },
        { label: 'Log-loss', digits: 3 },
        { label: 'Brier', digits: 3 },
        { label: 'AUC', digits: 3 },
        { label: 'ECE', digits: 3 },
      ],
      rows: cells.map((b) => [b.dataset, b.run, b.n, pct(b.rate), b.logLoss, b.brier, Number.isFinite(b.auc) ? b.auc : null, b.ece]),
    });
  }
  return tables;
}
