/**
 * The long table: one row per worker-year, as CSV or Parquet. Columns (names configurable, these are
 * the defaults; order does not matter on import and other columns are ignored):
 *
 *   worker_id         required  worker identifier (text)
 *   dataset           optional  dataset name; without the column the `dataset` option names it
 *   year              required  calendar year of the row (four digits)
 *   code              required  occupation code of the taxonomy
 *   education         required  education level (normalised to EDUCATION_LEVELS)
 *   birth_year        optional  four digits, or empty / NA when unknown
 *   gender            required
 *   ethnicity         required
 *   region            required unless `state` is given (then derived from it, and checked if both are);
 *                     a Census region in any spelling is stored as the paper spells it (see regions.ts)
 *   state             optional  US state code
 *   split             optional  train | valid | test
 *   true_probability  optional  synthetic panels: the generator's probability of this row's code
 *
 * A worker's rows need not be adjacent, but must come in strictly increasing year order; the
 * worker-level columns (dataset, birth_year, gender, ethnicity, region, state, split) must agree
 * across a worker's rows. Workers appear in the panel in the order of their first row.
 *
 * Export writes the columns in the order above under the configured names, leaving out `state`,
 * `split` and `true_probability` when no worker has them, so that re-exporting an imported export is
 * byte-identical.
 */
import { writeFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { ParameterError, InputError, type SourceLocation } from '../../errors.js';
import type { UnknownCodePolicy } from '../panel/validate.js';
import type { Panel, Worker, WorkerRecord } from '../panel/types.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { writeFileAtomic } from './atomic.js';
import { parseBirthYear, parseYear, resolveRegion } from './fields.js';
import { readTextFile } from './text-file.js';
import { type ImportedPanel, isSplitName, SPLIT_NAMES, type SplitMembership, validatedImport } from './types.js';

export const LONG_FIELDS = [
  'worker_id',
  'dataset',
  'year',
  'code',
  'education',
  'birth_year',
  'gender',
  'ethnicity',
  'region',
  'state',
  'split',
  'true_probability',
] as const;
export type LongField = (typeof LONG_FIELDS)[number];

/** Column name of each field. */
export type LongColumns = Record<LongField, string>;

export const DEFAULT_LONG_COLUMNS: Readonly<LongColumns> = Object.freeze(
  Object.fromEntries(LONG_FIELDS.map((f) => [f, f])) as LongColumns,
);

const REQUIRED: readonly LongField[] = ['worker_id', 'year', 'code', 'education', 'gender', 'ethnicity'];

export interface LongImportOptions {
  taxonomy: Taxonomy;
  /** Column names that differ from the defaults. */
  columns?: Partial<LongColumns>;
  /** Dataset of every worker when the table has no dataset column. */
  dataset?: string;
  unknownCode?: UnknownCodePolicy;
}

export interface LongExportOptions {
  columns?: Partial<LongColumns>;
  overwrite?: boolean;
  /** Files and folders being read: never written over (src/data/io/same-file.ts). */
  inputs?: readonly string[];
}

/** The table as rows of text cells, whatever the file format. */
export interface TableRows {
  file: string;
  header: string[];
  rows: { cells: string[]; line: number }[];
  /** What `line` counts: text lines (CSV) or data rows (Parquet, 1 = first row). */
  lineKind: 'line' | 'row';
}

/** Parses `name=column,name=column` (or repeated `name=column` strings) into column overrides. */
export function parseColumnMapping(specs: readonly string[]): Partial<LongColumns> {
  const out: Partial<LongColumns> = {};
  for (const spec of specs.flatMap((s) => s.split(','))) {
    if (spec.trim() === '') continue;
    const eq = spec.indexOf('=');
    const field = spec.slice(0, eq).trim();
    const column = spec.slice(eq + 1).trim();
    if (eq < 0 || column === '' || !(LONG_FIELDS as readonly string[]).includes(field)) {
      throw new InputError(
        `bad column mapping "${spec}": expected FIELD=COLUMN with FIELD one of ${LONG_FIELDS.join(', ')}`,
      );
    }
    out[field as LongField] = column;
  }
  return out;
}

export function resolveColumns(columns: Partial<LongColumns> | undefined): LongColumns {
  const out = { ...DEFAULT_LONG_COLUMNS, ...(columns ?? {}) };
  const seen = new Map<string, LongField>();
  for (const f of LONG_FIELDS) {
    const other = seen.get(out[f]);
    if (other !== undefined) throw new InputError(`fields "${other}" and "${f}" are both mapped to column "${out[f]}"`);
    seen.set(out[f], f);
  }
  return out;
}

/** Reads a long CSV table into a validated Panel (and splits, when it has a split column). */
export async function readLongCsv(file: string, opts: LongImportOptions): Promise<ImportedPanel> {
  return tableToPanel(await readCsvRows(file), opts);
}

export async function readCsvRows(file: string): Promise<TableRows> {
  const text = await readTextFile(file);
  if (text.trim() === '') throw new InputError('the file is empty: expected a header row and one row per worker-year', { file, line: 1 });
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    parsed = parse(text, { info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (cause) {
    const err = cause as Error & { lines?: number };
    throw new InputError(`malformed CSV: ${err.message}`, { file, line: err.lines }, { cause });
  }
  const [head, ...rows] = parsed;
  if (head === undefined) throw new InputError('the file has no header row', { file, line: 1 });
  return {
    file,
    header: head.record,
    rows: rows.map((r) => ({ cells: r.record, line: r.info.lines })),
    lineKind: 'line',
  };
}

/** Builds and validates a Panel from table rows; every error names file, line (or row) and column. */
export function tableToPanel(table: TableRows, opts: LongImportOptions): ImportedPanel {
  const columns = resolveColumns(opts.columns);
  const { file, header } = table;
  const headerLine = table.lineKind === 'line' ? 1 : undefined;
  const indexOf = new Map<string, number>();
  header.forEach((h, i) => {
    if (indexOf.has(h)) {
      throw new InputError(`column "${h}" appears twice in the header`, { file, line: headerLine, column: i + 1, field: h });
    }
    indexOf.set(h, i);
  });
  const col = (f: LongField): number | undefined => indexOf.get(columns[f]);
  const missing = REQUIRED.filter((f) => col(f) === undefined);
  if (col('region') === undefined && col('state') === undefined) missing.push('region');
  if (missing.length > 0) {
    throw new ParameterError(
      'columns',
      `missing required column${missing.length > 1 ? 's' : ''} ${missing.map((f) => `"${columns[f]}"`).join(', ')} (the header has: ${header.join(', ')}); map other names with \`columns\``,
      { file, line: headerLine },
    );
  }
  if (col('dataset') === undefined && (opts.dataset === undefined || opts.dataset.trim() === '')) {
    throw new ParameterError('dataset', `the table has no "${columns.dataset}" column: name the dataset (\`dataset\`)`, {
      file,
      line: headerLine,
    });
  }
  if (table.rows.length === 0) {
    throw new InputError('the table has a header but no rows', { file, line: headerLine });
  }

  const label = table.lineKind === 'row' ? 'row' : 'line';
  const workers: Worker[] = [];
  const indexOfWorker = new Map<string, number>();
  /** Line of each worker's first row and of each record, for errors raised by validation. */
  const firstLine: number[] = [];
  const recordLines: number[][] = [];
  const yearLines: Map<number, number>[] = [];
  const splits: SplitMembership = new Map();
  const at = (line: number, f: LongField) => (): SourceLocation => {
    const c = col(f);
    return c === undefined ? { file, line, field: columns[f] } : { file, line, column: c + 1, field: columns[f] };
  };

  for (const { cells, line } of table.rows) {
    if (cells.length !== header.length) {
      throw new InputError(`${cells.length} fields, but the header has ${header.length}`, { file, line });
    }
    const cell = (f: LongField): string | undefined => {
      const c = col(f);
      return c === undefined ? undefined : (cells[c] as string);
    };
    const required = (f: LongField): string => {
      const v = cell(f) as string;
      if (v.trim() === '') throw new InputError(`empty ${f.replace('_', ' ')}`, at(line, f)());
      return v;
    };
    const id = required('worker_id');
    const year = parseYear(required('year').trim(), at(line, 'year'));
    const record: WorkerRecord = { year, code: required('code').trim(), education: required('education') };
    const probText = cell('true_probability');
    if (probText !== undefined && probText !== '') {
      const p = Number(probText);
      if (!Number.isFinite(p) || p < 0 || p > 1 || probText.trim() !== probText) {
        throw new InputError(`true probability "${probText}" is not a number in [0, 1]`, at(line, 'true_probability')());
      }
      record.trueProbability = p;
    }
    const place = resolveRegion(cell('region'), cell('state'), at(line, 'region'), at(line, 'state'));
    const birth = cell('birth_year');
    const worker: Worker = {
      id,
      dataset: col('dataset') === undefined ? (opts.dataset as string) : required('dataset'),
      birthYear: birth === undefined ? null : parseBirthYear(birth.trim(), at(line, 'birth_year')),
      gender: required('gender'),
      ethnicity: required('ethnicity'),
      region: place.region,
      records: [],
    };
    if (place.state !== undefined) worker.state = place.state;
    const splitText = cell('split');
    if (splitText !== undefined && !isSplitName(splitText)) {
      throw new InputError(`split "${splitText}" is not one of ${SPLIT_NAMES.join(', ')}`, at(line, 'split')());
    }

    const w = indexOfWorker.get(id);
    if (w === undefined) {
      indexOfWorker.set(id, workers.length);
      worker.records.push(record);
      workers.push(worker);
      firstLine.push(line);
      recordLines.push([line]);
      yearLines.push(new Map([[year, line]]));
      if (splitText !== undefined) splits.set(id, splitText as (typeof SPLIT_NAMES)[number]);
      continue;
    }
    const known = workers[w] as Worker;
    const sameAs = firstLine[w] as number;
    const agree = (f: LongField, a: unknown, b: unknown): void => {
      if (a !== b) {
        throw new InputError(
          `${f.replace('_', ' ')} ${JSON.stringify(b)} of worker "${id}" differs from ${JSON.stringify(a)} on ${label} ${sameAs}; a worker's traits must be the same in all its rows`,
          at(line, f)(),
        );
      }
    };
    agree('dataset', known.dataset, worker.dataset);
    agree('birth_year', known.birthYear, worker.birthYear);
    agree('gender', known.gender, worker.gender);
    agree('ethnicity', known.ethnicity, worker.ethnicity);
    agree('region', known.region, worker.region);
    agree('state', known.state, worker.state);
    if (splitText !== undefined) agree('split', splits.get(id), splitText);
    const dup = (yearLines[w] as Map<number, number>).get(year);
    if (dup !== undefined) {
      throw new InputError(`duplicate row: worker "${id}" already has year ${year} on ${label} ${dup}`, at(line, 'year')());
    }
    (yearLines[w] as Map<number, number>).set(year, line);
    known.records.push(record);
    (recordLines[w] as number[]).push(line);
  }

  const fieldOf: Record<string, LongField> = {
    id: 'worker_id',
    dataset: 'dataset',
    birthYear: 'birth_year',
    gender: 'gender',
    ethnicity: 'ethnicity',
    region: 'region',
    year: 'year',
    code: 'code',
    education: 'education',
    records: 'worker_id',
  };
  const source = (w: number, r: number | undefined, field: string): SourceLocation | undefined => {
    const line = r === undefined ? firstLine[w] : recordLines[w]?.[r];
    if (line === undefined) return undefined;
    return at(line, fieldOf[field] ?? 'worker_id')();
  };
  return validatedImport(workers, opts, { files: [file], splits, source });
}

/** The fields an export writes for this panel: optional ones only when some worker has them. */
export function exportedFields(panel: Panel, splits: SplitMembership | undefined): LongField[] {
  const hasState = panel.workers.some((w) => w.state !== undefined && w.state !== '');
  const hasProb = panel.workers.some((w) => w.records.some((r) => r.trueProbability !== undefined));
  const hasSplit = splits !== undefined && splits.size > 0;
  return LONG_FIELDS.filter(
    (f) => (f !== 'state' || hasState) && (f !== 'split' || hasSplit) && (f !== 'true_probability' || hasProb),
  );
}

/** One row per worker-year as typed values (null = empty cell), in exportedFields() order. */
export function panelRows(
  panel: Panel,
  splits: SplitMembership | undefined,
  fields: readonly LongField[],
): (string | number | null)[][] {
  const rows: (string | number | null)[][] = [];
  for (const w of panel.workers) {
    const split = splits?.get(w.id);
    if (fields.includes('split') && split === undefined) {
      throw new InputError(`worker "${w.id}" has no split, but others do; assign every worker a split or none`);
    }
    for (const r of w.records) {
      const value: Record<LongField, string | number | null> = {
        worker_id: w.id,
        dataset: w.dataset,
        year: r.year,
        code: r.code,
        education: r.education,
        birth_year: w.birthYear,
        gender: w.gender,
        ethnicity: w.ethnicity,
        region: w.region,
        state: w.state ?? null,
        split: split ?? null,
        true_probability: r.trueProbability ?? null,
      };
      rows.push(fields.map((f) => value[f]));
    }
  }
  return rows;
}

/** The long CSV text of a panel. Numbers are written in JavaScript's shortest round-trip form. */
export function longCsvText(panel: Panel, splits?: SplitMembership, columns?: Partial<LongColumns>): string {
  const names = resolveColumns(columns);
  const fields = exportedFields(panel, splits);
  const rows = panelRows(panel, splits, fields).map((row) => row.map((v) => (v === null ? '' : String(v))));
  return stringify([fields.map((f) => names[f]), ...rows], { record_delimiter: '\n' });
}

/** Writes a panel as a long CSV table (atomically). */
export async function writeLongCsv(
  file: string,
  panel: Panel,
  splits?: SplitMembership,
  opts: LongExportOptions = {},
): Promise<{ file: string; rows: number; bytes: number }> {
  const text = longCsvText(panel, splits, opts.columns);
  await writeFileAtomic(file, (tmp) => writeFile(tmp, text), opts);
  let rows = 0;
  for (const w of panel.workers) rows += w.records.length;
  return { file, rows, bytes: Buffer.byteLength(text) };
}
