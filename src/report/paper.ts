/**
 * The report in the paper's table forms (`labor-llm report --layout paper`), from the Report alone:
 *
 * - Table 6's form: models in rows, datasets in columns (no pooled column), the number of records per
 *   dataset first, "perplexity (SE)" in the report's leading variant (raw by default, as the paper),
 *   then the improvements written as the paper writes them, PPL(reference) − PPL(run);
 * - the off-the-shelf / in-context form (the talk's ICL table), for runs of the off-the-shelf and ICL
 *   templates: grouped by whether the prompt lists the job titles, with the number of example resumes.
 *
 * A template counts as listing the titles when its name ends in "-titles"; its example resumes are its
 * `templateOptions.k` (0 for templates without examples).
 */
import { formatEstimate, recordsText, VARIANT_TEXT } from './format.js';
import { DASH } from './table.js';
import { ALL_DATASETS, type Report, type ReportRun } from './types.js';

function row(cells: string[]): string {
  return `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
}

function header(cols: string[], lead: string[]): string[] {
  return [row([...lead, ...cols]), `|${[...lead, ...cols].map((_, i) => (i < lead.length ? ' :--- ' : ' ---: ')).join('|')}|`];
}

/** Off-the-shelf and ICL runs: the ones the talk's second table is about. */
function isPromptedRun(r: ReportRun): boolean {
  return r.template !== null && /^(off-the-shelf|icl)/.test(r.template);
}

function exampleResumes(r: ReportRun): number {
  const opts = (r.config as { templateOptions?: { k?: unknown } }).templateOptions;
  return typeof opts?.k === 'number' ? opts.k : 0;
}

export function renderPaperTables(report: Report): string {
  const o = report.options;
  const cols = report.datasets.filter((d) => d !== ALL_DATASETS);
  const cell = (run: string, d: string): string => {
    const c = report.perplexity.find((x) => x.run === run && x.dataset === d);
    return c ? formatEstimate(c.perplexity) : DASH;
  };
  const records = (runs: readonly ReportRun[]): string[] =>
    cols.map((d) => {
      const counts = new Set(report.perplexity.filter((c) => c.dataset === d && runs.some((r) => r.name === c.run)).map((c) => c.perplexity.transitions));
      return counts.size === 0 ? DASH : [...counts].map((n) => n.toLocaleString('en-US')).join(' / ');
    });
  const recordsLabel = o.transitionsOnly ? 'Number of transitions (records 2..T)' : 'Number of records (\u2211 T_i)';
  const out: string[] = [];
  out.push(
    `Perplexity (${o.variant}) over ${recordsText(o.transitionsOnly)}; ${VARIANT_TEXT[o.variant]}. ` +
      `Test-set-bootstrap standard errors in parentheses (B = ${o.B}, seed ${o.seed}).`,
    '',
  );

  const main = report.runs.filter((r) => !isPromptedRun(r) && report.perplexity.some((c) => c.run === r.name));
  if (main.length > 0) {
    out.push('### Test-set perplexity and perplexity improvement', '');
    out.push(...header(cols, ['Dataset']));
    out.push(row([recordsLabel, ...records(main)]));
    out.push(row([`**Perplexity (${o.variant})**`, ...cols.map(() => '')]));
    for (const r of main) out.push(row([r.name, ...cols.map((d) => cell(r.name, d))]));
    const diffs = main.filter((r) => report.differences.some((x) => x.run === r.name));
    if (o.reference !== null && diffs.length > 0) {
      out.push(row(['**Perplexity improvement**', ...cols.map(() => '')]));
      for (const r of diffs) {
        out.push(
          row([
            `PPL(${o.reference})\u2212PPL(${r.name})`,
            ...cols.map((d) => {
              const c = report.differences.find((x) => x.run === r.name && x.dataset === d);
              return c ? formatEstimate(c.difference) : DASH;
            }),
          ]),
        );
      }
    }
    out.push('');
  }

  const prompted = report.runs.filter((r) => isPromptedRun(r) && report.perplexity.some((c) => c.run === r.name));
  if (prompted.length > 0) {
    out.push('### Off-the-shelf and in-context learning', '');
    out.push(...header(cols, ['Model', '# Resumes']));
    out.push(row([recordsLabel, '', ...records(prompted)]));
    for (const [title, withTitles] of [
      ['Models without job titles in prompt', false],
      ['Models with job titles in prompt', true],
    ] as const) {
      const group = prompted.filter((r) => r.template!.endsWith('-titles') === withTitles);
      if (group.length === 0) continue;
      out.push(row([`**${title}**`, '', ...cols.map(() => '')]));
      for (const r of group) out.push(row([r.name, String(exampleResumes(r)), ...cols.map((d) => cell(r.name, d))]));
    }
    out.push('');
  }
  if (out.length === 2) out.push('_No run has the log-probabilities these tables need._', '');
  return out.join('\n');
}
