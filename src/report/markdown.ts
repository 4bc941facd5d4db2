/**
 * The report as Markdown: paper-style tables (runs x datasets, "estimate (SE)"), formatted from the
 * Report data model alone.
 */
import type { BootstrapEstimate } from '../metrics/index.js';
import type { BinaryCell, Report } from './types.js';

/** Decimals that show a standard error to two significant digits (at least `min`, at most 6). */
function decimalsFor(se: number, min = 2): number {
  if (!(se > 0) || !Number.isFinite(se)) return min;
  return Math.max(min, Math.min(6, 1 - Math.floor(Math.log10(se))));
}

/**
 * "12.34 (0.56)"; a negative value gets a true minus sign so columns read well. An SE below 1e-9 of the
 * estimate is rounding noise (a uniform model's draws) and shows as 0; huge values use exponents.
 */
export function formatEstimate(e: Pick<BootstrapEstimate, 'estimate' | 'se'>, opts: { signed?: boolean } = {}): string {
  const value = Math.abs(e.estimate);
  const se = e.se <= 1e-9 * Math.max(1, value) ? 0 : e.se;
  const sign = e.estimate < 0 ? '\u2212' : opts.signed && e.estimate > 0 ? '+' : '';
  if (!Number.isFinite(value) || value >= 1e6) {
    return `${sign}${value.toPrecision(3)} (${Number.isFinite(se) ? se.toPrecision(2) : String(se)})`;
  }
  const d = decimalsFor(se);
  return `${sign}${value.toFixed(d)} (${se.toFixed(d)})`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

function num(x: number, d = 3): string {
  return Number.isFinite(x) ? x.toFixed(d) : '\u2014';
}

/** Escapes what would break a table cell. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function table(header: string[], rows: string[][], align?: ('l' | 'r')[]): string {
  const a = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const lines = [
    `| ${header.map(cell).join(' | ')} |`,
    `|${a.map((x) => (x === 'l' ? ' :--- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

const DASH = '\u2014';

/** What each perplexity variant is, in words (one definition for every table). */
export const VARIANT_TEXT = {
  raw: 'raw: from the product of the title\u2019s token probabilities (the paper\u2019s perplexity)',
  normalized: 'normalized: from the probabilities renormalized over the taxonomy\u2019s titles',
} as const;

/** Which records the perplexities average over. */
export function recordsText(transitionsOnly: boolean): string {
  return transitionsOnly ? 'records 2..T of each test worker (transitions only)' : 'every record of each test worker, the first included (t = 1..T, as the paper)';
}

const TASK_TITLES: Record<string, string> = {
  'sameOccupation/all': 'Staying in the same occupation (all transitions)',
  'laborForce/previousInLaborForce': 'Staying in the labor force (transitions from a labor-force state)',
  'laborForce/all': 'Being in the labor force (all transitions)',
};

export function renderMarkdown(report: Report): string {
  const o = report.options;
  const out: string[] = [];
  out.push('# Evaluation report', '');
  out.push(
    `Perplexity = exp(\u2212mean log P(observed title)) over ${recordsText(o.transitionsOnly)}. ` +
      `${VARIANT_TEXT.raw} and ${VARIANT_TEXT.normalized}; the ${o.variant} one leads and the differences use it. ` +
      `Standard errors in parentheses: worker-level bootstrap, B = ${o.B} draws, seed ${o.seed}; ` +
      'differences use the same draws for both runs (paired).',
    '',
  );

  // Runs.
  out.push('## Runs', '');
  out.push(
    table(
      ['Run', 'Kind', 'Scorer', 'Template', 'Mode', 'Workers', 'Transitions', 'Mass on titles'],
      report.runs.map((r) => [
        r.name,
        r.kind,
        r.scorer,
        r.template ?? DASH,
        r.mode ?? DASH,
        r.complete ? String(r.workers) : `${r.workers} of ${r.workersTotal}`,
        String(r.transitions),
        r.meanValidMass === null ? DASH : r.meanValidMass.toPrecision(3),
      ]),
      ['l', 'l', 'l', 'l', 'l', 'r', 'r', 'r'],
    ),
    '',
  );

  const runNames = report.runs.map((r) => r.name);
  const cols = report.datasets;

  // Perplexity: the leading variant, the other beside it, each column labelled.
  out.push('## Perplexity', '');
  const variants = [o.variant, o.variant === 'raw' ? 'normalized' : 'raw'] as const;
  const pplRows = runNames
    .filter((n) => report.perplexity.some((c) => c.run === n))
    .map((n) => [
      n,
      ...cols.flatMap((d) => {
        const c = report.perplexity.find((x) => x.run === n && x.dataset === d);
        return variants.map((v) => (c && c[v] ? formatEstimate(c[v]!) : DASH));
      }),
    ]);
  const pplHeader = ['Run', ...cols.flatMap((d) => variants.map((v) => `${d} ${v}`))];
  out.push(pplRows.length > 0 ? table(pplHeader, pplRows) : '_No run has the log-probabilities this table needs._', '');

  // Differences, as the paper writes them: reference (a baseline) minus run.
  if (o.reference !== null && report.differences.length > 0) {
    out.push(`## Difference in ${o.variant} perplexity: ${o.reference} \u2212 run`, '');
    out.push(`perplexity(${o.reference}) \u2212 perplexity(run): the paper's "baseline \u2212 model"; positive means the run beats ${o.reference}.`, '');
    const rows = runNames
      .filter((n) => report.differences.some((c) => c.run === n))
      .map((n) => [
        n,
        ...cols.map((d) => {
          const c = report.differences.find((x) => x.run === n && x.dataset === d);
          return c ? formatEstimate(c.difference, { signed: true }) : DASH;
        }),
      ]);
    out.push(table(['Run', ...cols], rows), '');
  }

  // Accuracy.
  if (report.accuracy.length > 0) {
    out.push('## Accuracy (top-1 / top-5)', '');
    const rows = runNames
      .filter((n) => report.accuracy.some((c) => c.run === n))
      .map((n) => [
        n,
        ...cols.map((d) => {
          const c = report.accuracy.find((x) => x.run === n && x.dataset === d);
          return c ? `${pct(c.top1)} / ${pct(c.top5)}` : DASH;
        }),
      ]);
    out.push(table(['Run', ...cols], rows), '');
  }

  // Binary tasks.
  const taskKeys = [...new Set(report.binary.map((b) => `${b.task}/${b.among}`))];
  if (taskKeys.length > 0) {
    out.push('## Binary tasks', '');
    for (const key of taskKeys) {
      const cells = report.binary.filter((b) => `${b.task}/${b.among}` === key);
      out.push(`### ${TASK_TITLES[key] ?? key}`, '');
      const order = (b: BinaryCell): number => cols.indexOf(b.dataset) * runNames.length + runNames.indexOf(b.run);
      const rows = [...cells]
        .sort((a, b) => order(a) - order(b))
        .map((b) => [b.dataset, b.run, String(b.n), pct(b.rate), num(b.logLoss), num(b.brier), num(b.auc), num(b.ece)]);
      out.push(table(['Dataset', 'Run', 'n', 'Rate', 'Log-loss', 'Brier', 'AUC', 'ECE'], rows, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r']), '');
    }
  }

  if (report.notes.length > 0) {
    out.push('## Notes', '');
    for (const n of report.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}
