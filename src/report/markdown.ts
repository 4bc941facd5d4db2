/**
 * The report as Markdown: the paper-style tables of report/tables.ts (runs x datasets, "estimate (SE)"),
 * each under its section with a sentence on what it shows.
 */
import { recordsText, VARIANT_TEXT } from './format.js';
import { formatCell, isNumericColumn, type ReportTable } from './table.js';
import { BINARY_TABLE_PREFIX, reportTables } from './tables.js';
import type { Report } from './types.js';

export { formatEstimate } from './format.js';

/** Escapes what would break a table cell. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** A table in GitHub Markdown: numeric columns right-aligned, cells as every format shows them. */
export function markdownTable(t: ReportTable): string {
  const lines = [
    `| ${t.columns.map((c) => cell(c.label)).join(' | ')} |`,
    `|${t.columns.map((_, j) => (isNumericColumn(t, j) ? ' ---: ' : ' :--- ')).join('|')}|`,
    ...t.rows.map((r) => `| ${t.columns.map((c, j) => cell(formatCell(r[j] ?? null, c.digits))).join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function renderMarkdown(report: Report): string {
  const o = report.options;
  const tables = reportTables(report);
  const table = (id: string): ReportTable | undefined => tables.find((t) => t.id === id);
  const out: string[] = [];
  out.push('# Evaluation report', '');
  out.push(
    `Perplexity = exp(\u2212mean log P(observed title)) over ${recordsText(o.transitionsOnly)}. ` +
      `${VARIANT_TEXT.raw} and ${VARIANT_TEXT.normalized}; the ${o.variant} one leads and the differences use it. ` +
      `Standard errors in parentheses: worker-level bootstrap, B = ${o.B} draws, seed ${o.seed}; ` +
      'differences use the same draws for both runs (paired).',
    '',
  );

  out.push('## Runs', '', markdownTable(table('runs')!), '');

  // Perplexity: the leading variant, the other beside it, each column labelled.
  const perplexity = table('perplexity');
  out.push('## Perplexity', '', perplexity ? markdownTable(perplexity) : '_No run has the log-probabilities this table needs._', '');

  // Differences, as the paper writes them: reference (a baseline) minus run.
  const differences = table('differences');
  if (differences) {
    out.push(`## ${differences.title}`, '');
    out.push(`perplexity(${o.reference}) \u2212 perplexity(run): the paper's "baseline \u2212 model"; positive means the run beats ${o.reference}.`, '');
    out.push(markdownTable(differences), '');
  }

  const accuracy = table('accuracy');
  if (accuracy) out.push(`## ${accuracy.title}`, '', markdownTable(accuracy), '');

  const binary = tables.filter((t) => t.id.startsWith(BINARY_TABLE_PREFIX));
  if (binary.length > 0) {
    out.push('## Binary tasks', '');
    for (const t of binary) out.push(`### ${t.title}`, '', markdownTable(t), '');
  }

  if (report.notes.length > 0) {
    out.push('## Notes', '');
    for (const n of report.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}
