/**
 * The report's tables, built once from the Report data model: runs, perplexity (both variants), the
 * differences against the reference, accuracy and one table per binary task. The Markdown report
 * (report/markdown.ts) and the HTML page (report/html) render these same tables; JSON is the Report itself.
 */
import type { LaborForceDefinition } from '../metrics/binary.js';
import { formatEstimate, pct, recordsText, VARIANT_TEXT } from './format.js';
import type { ReportTable, TableCell, TableColumn } from './table.js';
import type { BinaryCell, Report } from './types.js';

const TASK_TITLES: Record<string, string> = {
  'sameOccupation/all': 'Staying in the same occupation (all transitions)',
  'laborForce/previousInLaborForce': 'Staying in the labor force (transitions from a labor-force state)',
  'laborForce/all': 'Being in the labor force (all transitions)',
};

const LABOR_FORCE_TEXT: Record<LaborForceDefinition, string> = {
  official: 'official definition: the unemployed are in the labor force',
  employed: 'definition "employed": only those at work are in the labor force',
};

/** Groups the binary cells into tables: one per task, transitions covered and labor-force definition. */
export function taskKey(b: BinaryCell): string {
  return `${b.task}/${b.among}${b.laborForce ? `/${b.laborForce}` : ''}`;
}

/** A task table's title, saying which labor-force definition it uses. */
export function taskTitle(b: BinaryCell): string {
  const base = TASK_TITLES[`${b.task}/${b.among}`] ?? `${b.task}/${b.among}`;
  return b.laborForce ? `${base}, ${LABOR_FORCE_TEXT[b.laborForce]}` : base;
}

/** Table ids of the binary tasks start with this. */
export const BINARY_TABLE_PREFIX = 'binary-';

/** A metric that is undefined (the AUC of a task with one outcome) is a missing cell. */
function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export function reportTables(report: Report): ReportTable[] {
  const o = report.options;
  const runNames = report.runs.map((r) => r.name);
  const cols = report.datasets;
  const variants = [o.variant, o.variant === 'raw' ? 'normalized' : 'raw'] as const;
  const tables: ReportTable[] = [];
  const right = (label: string): TableColumn => ({ label, align: 'right' });

  tables.push({
    id: 'runs',
    title: 'Runs',
    columns: [{ label: 'Run' }, { label: 'Kind' }, { label: 'Scorer' }, { label: 'Template' }, { label: 'Mode' }, right('Workers'), right('Transitions'), right('Mass on titles')],
    rows: report.runs.map((r) => [
      r.name,
      r.kind,
      r.scorer,
      r.template,
      r.mode,
      r.complete ? String(r.workers) : `${r.workers} of ${r.workersTotal}`,
      r.transitions,
      r.meanValidMass === null ? null : r.meanValidMass.toPrecision(3),
    ]),
  });

  /** Rows of the runs that have a cell in `cells`, in run order. */
  const runRows = (cells: readonly { run: string }[], row: (run: string) => TableCell[]): TableCell[][] =>
    runNames.filter((n) => cells.some((c) => c.run === n)).map((n) => [n, ...row(n)]);
  /** Rows of one cell per dataset. */
  const byDataset = <C extends { run: string; dataset: string }>(cells: readonly C[], format: (c: C) => TableCell): TableCell[][] =>
    runRows(cells, (n) =>
      cols.map((d) => {
        const c = cells.find((x) => x.run === n && x.dataset === d);
        return c ? format(c) : null;
      }),
    );
  const columns = [{ label: 'Run' }, ...cols.map(right)];

  if (report.perplexity.length > 0) {
    tables.push({
      id: 'perplexity',
      title: 'Test perplexity',
      columns: [{ label: 'Run' }, ...cols.flatMap((d) => variants.map((v) => right(`${d} ${v}`)))],
      rows: runRows(report.perplexity, (n) =>
        cols.flatMap((d) => {
          const c = report.perplexity.find((x) => x.run === n && x.dataset === d);
          return variants.map((v) => (c && c[v] ? formatEstimate(c[v]!) : null));
        }),
      ),
      notes: [
        `exp(\u2212mean log P(observed title)) over ${recordsText(o.transitionsOnly)}; ${VARIANT_TEXT.raw}; ${VARIANT_TEXT.normalized}.`,
        `Standard errors in parentheses: worker-level bootstrap, B = ${o.B} draws, seed ${o.seed}.`,
      ],
    });
  }

  if (o.reference !== null && report.differences.length > 0) {
    tables.push({
      id: 'differences',
      title: `Difference in ${o.variant} perplexity: ${o.reference} \u2212 run`,
      columns,
      rows: byDataset(report.differences, (c) => formatEstimate(c.difference, { signed: true })),
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
      rows: byDataset(report.accuracy, (c) => `${pct(c.top1)} / ${pct(c.top5)}`),
    });
  }

  const order = (b: BinaryCell): number => cols.indexOf(b.dataset) * runNames.length + runNames.indexOf(b.run);
  for (const key of new Set(report.binary.map(taskKey))) {
    const cells = report.binary.filter((b) => taskKey(b) === key).sort((a, b) => order(a) - order(b));
    const metric = (label: string): TableColumn => ({ label, digits: 3 });
    tables.push({
      id: `${BINARY_TABLE_PREFIX}${key.replaceAll('/', '-')}`,
      title: taskTitle(cells[0]!),
      columns: [{ label: 'Dataset' }, { label: 'Run' }, { label: 'n' }, right('Rate'), metric('Log-loss'), metric('Brier'), metric('AUC'), metric('ECE')],
      rows: cells.map((b) => [b.dataset, b.run, b.n, pct(b.rate), finite(b.logLoss), finite(b.brier), finite(b.auc), finite(b.ece)]),
    });
  }
  return tables;
}
