/**
 * Occupation taxonomies: the closed set of codes a panel may use and the titles a model reads and scores.
 *
 * Built in:
 * - `occ1990dd` (default): 330 occ1990dd occupations plus the special states 9001 "In education",
 *   9002 "Unemployed", 9003 "Not in labor force"; 905 "Military occupations" is one of the 330. 334 titles.
 * - `soc2018`: the 867 SOC 2018 detailed occupations, exactly as in data/soc2018.csv. The special states are
 *   NOT appended (the issue fixes SOC at 867 titles); a panel on SOC that needs them can use a user CSV.
 * - any user CSV with a header naming `code` and `title` columns (an optional `major_group` or `group`
 *   column gives each code a group). Files must be UTF-8; errors name file, line and field.
 *
 * The numbered variant (the paper's numbered-title ablation) keeps every code but replaces the titles by
 * `job_001`, `job_002`, ... assigned in a seeded random order, so titles carry no meaning.
 *
 * Titles are what the model scores, so they must be unique (title -> code must be a function) and must not
 * contain line breaks (a title is scored as " " + title + "\n").
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { InputError, NotFoundError } from '../../errors.js';
import { Prng } from '../synth/prng.js';
import { packageDataPath } from '../../package.js';

export interface TaxonomyEntry {
  code: string;
  title: string;
  /** Major occupation group ("Management", "Special state", ...); "" when the source has none. */
  group: string;
}

export interface NumberedOptions {
  seed: number;
}

export interface LoadTaxonomyOptions {
  /** Replace titles by job_001, job_002, ... in an order drawn from `seed`. */
  numbered?: NumberedOptions;
}

/** Names of the taxonomies shipped with the package. */
export const BUILTIN_TAXONOMIES = ['occ1990dd', 'soc2018'] as const;
export type BuiltinTaxonomyName = (typeof BUILTIN_TAXONOMIES)[number];
export const DEFAULT_TAXONOMY: BuiltinTaxonomyName = 'occ1990dd';

/** Codes of occ1990dd's special (non-occupation) states. */
export const SPECIAL_STATES = {
  inEducation: '9001',
  unemployed: '9002',
  notInLaborForce: '9003',
  military: '905',
} as const;

export class Taxonomy {
  readonly name: string;
  readonly entries: readonly TaxonomyEntry[];
  /** The seed of the numbered-title variant, or undefined when titles are the real ones. */
  readonly numberedSeed: number | undefined;
  private readonly indexByCode: Map<string, number>;
  private readonly codeByTitle: Map<string, string>;

  /**
   * Builds a taxonomy from entries; throws InputError on an empty list, duplicate codes or titles,
   * empty fields or titles with line breaks. Prefer loadTaxonomy(), which also names file and line.
   */
  constructor(name: string, entries: readonly TaxonomyEntry[], numberedSeed?: number) {
    if (entries.length === 0) throw new InputError(`taxonomy "${name}" has no entries`);
    this.name = name;
    this.entries = Object.freeze(entries.map((e) => Object.freeze({ ...e })));
    this.numberedSeed = numberedSeed;
    this.indexByCode = new Map();
    this.codeByTitle = new Map();
    this.entries.forEach((e, i) => {
      const problem = entryProblem(e);
      if (problem) throw new InputError(`taxonomy "${name}" entry ${i + 1}: ${problem}`);
      if (this.indexByCode.has(e.code)) throw new InputError(`taxonomy "${name}": duplicate code "${e.code}"`);
      if (this.codeByTitle.has(e.title)) throw new InputError(`taxonomy "${name}": duplicate title "${e.title}"`);
      this.indexByCode.set(e.code, i);
      this.codeByTitle.set(e.title, e.code);
    });
  }

  get size(): number {
    return this.entries.length;
  }

  codes(): string[] {
    return this.entries.map((e) => e.code);
  }

  titles(): string[] {
    return this.entries.map((e) => e.title);
  }

  has(code: string): boolean {
    return this.indexByCode.has(code);
  }

  /** Position of `code` in `entries` (the order of codes(), titles() and of probability vectors), or -1. */
  indexOf(code: string): number {
    return this.indexByCode.get(code) ?? -1;
  }

  /** The title of `code`; throws NotFoundError for a code outside the taxonomy. */
  titleOf(code: string): string {
    return this.entryOf(code).title;
  }

  /** The group of `code`; throws NotFoundError for a code outside the taxonomy. */
  groupOf(code: string): string {
    return this.entryOf(code).group;
  }

  codeOfTitle(title: string): string | undefined {
    return this.codeByTitle.get(title);
  }

  private entryOf(code: string): TaxonomyEntry {
    const i = this.indexByCode.get(code);
    if (i === undefined) throw new NotFoundError(`code "${code}" is not in taxonomy "${this.name}"`);
    return this.entries[i] as TaxonomyEntry;
  }
}

function entryProblem(e: TaxonomyEntry): string | undefined {
  if (e.code.trim() === '') return 'empty code';
  if (e.code !== e.code.trim()) return `code "${e.code}" has leading or trailing spaces`;
  if (e.title.trim() === '') return 'empty title';
  if (/[\r\n]/.test(e.title)) return `title ${JSON.stringify(e.title)} contains a line break`;
  if (e.title !== e.title.trim()) return `title "${e.title}" has leading or trailing spaces`;
  return undefined;
}

/**
 * Loads a built-in taxonomy by name (`occ1990dd`, `soc2018`) or a user CSV by path.
 * Throws NotFoundError for a name that is neither, InputError (with file and line) for a bad CSV.
 */
export function loadTaxonomy(nameOrCsvPath: string = DEFAULT_TAXONOMY, opts: LoadTaxonomyOptions = {}): Taxonomy {
  let name: string;
  let entries: TaxonomyEntry[];
  if ((BUILTIN_TAXONOMIES as readonly string[]).includes(nameOrCsvPath)) {
    name = nameOrCsvPath;
    entries = readTaxonomyCsv(packageDataPath(`${nameOrCsvPath}.csv`));
  } else if (existsSync(nameOrCsvPath) && statSync(nameOrCsvPath).isFile()) {
    name = nameOrCsvPath;
    entries = readTaxonomyCsv(nameOrCsvPath);
  } else {
    throw new NotFoundError(
      `unknown taxonomy "${nameOrCsvPath}": use one of ${BUILTIN_TAXONOMIES.join(', ')} or the path of a CSV file with columns code,title`,
    );
  }
  if (opts.numbered) return numberTaxonomy(new Taxonomy(name, entries), opts.numbered.seed);
  return new Taxonomy(name, entries);
}

/** The numbered-title variant of `taxonomy`: same codes and groups, titles job_001... in seeded random order. */
export function numberTaxonomy(taxonomy: Taxonomy, seed: number): Taxonomy {
  const n = taxonomy.size;
  const width = Math.max(3, String(n).length);
  const order = new Prng(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const titles = new Array<string>(n);
  order.forEach((entryIndex, rank) => {
    titles[entryIndex] = `job_${String(rank + 1).padStart(width, '0')}`;
  });
  const entries = taxonomy.entries.map((e, i) => ({ ...e, title: titles[i] as string }));
  return new Taxonomy(taxonomy.name, entries, seed);
}

/** Reads a UTF-8 file, rejecting other encodings with the line of the first bad byte. */
export function readUtf8File(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    throw new NotFoundError(`cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new InputError('the file is UTF-16 encoded; save it as UTF-8', { file, line: 1 });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Find the line holding the first invalid sequence so the user can fix it.
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let line = 1;
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 0x0a) {
        try {
          decoder.decode(bytes.subarray(start, i));
        } catch {
          throw new InputError('invalid UTF-8 (is the file in another encoding, such as Latin-1?)', { file, line });
        }
        line++;
        start = i + 1;
      }
    }
    throw new InputError('invalid UTF-8', { file });
  }
}

/** Parses a taxonomy CSV (header with `code` and `title`, optional `major_group`/`group`). */
export function readTaxonomyCsv(file: string): TaxonomyEntry[] {
  const text = readUtf8File(file);
  if (text.trim() === '') throw new InputError('the taxonomy file is empty', { file, line: 1 });
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(text, { info: true, bom: true, skip_empty_lines: true, relax_column_count: false }) as unknown as {
      record: string[];
      info: { lines: number };
    }[];
  } catch (cause) {
    const err = cause as Error & { lines?: number };
    throw new InputError(`malformed CSV: ${err.message}`, { file, line: err.lines }, { cause });
  }
  const header = (rows[0]?.record ?? []).map((h) => h.trim().toLowerCase());
  const codeCol = header.indexOf('code');
  const titleCol = header.indexOf('title');
  let groupCol = header.indexOf('major_group');
  if (groupCol < 0) groupCol = header.indexOf('group');
  if (codeCol < 0 || titleCol < 0) {
    throw new InputError(`expected a header row naming the columns "code" and "title", got "${header.join(',')}"`, {
      file,
      line: 1,
    });
  }
  if (rows.length < 2) throw new InputError('the taxonomy file has a header but no rows', { file, line: 1 });
  const entries: TaxonomyEntry[] = [];
  const lineOfCode = new Map<string, number>();
  const lineOfTitle = new Map<string, number>();
  for (const { record, info } of rows.slice(1)) {
    // info.lines is the line where the record ends; a quoted title may span lines, which entryProblem rejects.
    const line = info.lines;
    const entry: TaxonomyEntry = {
      code: record[codeCol] ?? '',
      title: record[titleCol] ?? '',
      group: groupCol >= 0 ? (record[groupCol] ?? '') : '',
    };
    const problem = entryProblem(entry);
    if (problem) {
      const field = /title/.test(problem) ? 'title' : 'code';
      throw new InputError(problem, { file, line, column: (field === 'title' ? titleCol : codeCol) + 1, field });
    }
    // Codes and titles are each unique: scoring maps a generated title back to its one code.
    const claim = (field: 'code' | 'title', lineOf: Map<string, number>, column: number): void => {
      const first = lineOf.get(entry[field]);
      if (first !== undefined) {
        throw new InputError(`duplicate ${field} "${entry[field]}" (first on line ${first})`, { file, line, column: column + 1, field });
      }
      lineOf.set(entry[field], line);
    };
    claim('code', lineOfCode, codeCol);
    claim('title', lineOfTitle, titleCol);
    entries.push(entry);
  }
  return entries;
}
