/**
 * CAREER's split-file format (the input format of the CAREER code, Vafa et al.): a folder holding,
 * for each split present (train, valid, test), six files with one line per worker:
 *
 *   SPLIT.job        occupation codes, one per time step, separated by spaces
 *   SPLIT.year       the calendar year of each step (as many as on the .job line)
 *   SPLIT.education  the education level at each step (as many as on the .job line)
 *   SPLIT.ethnicity  one value per line
 *   SPLIT.gender     one value per line
 *   SPLIT.location   one US state code per line (the Census region is derived from it); a Census region
 *                    name is accepted for panels without states: northeast, northcentral, south, west
 *                    (what export writes), or Midwest / North Central / north_central, in any case
 *
 * A split is present when its .job file exists; then all six files must exist and have the same number
 * of lines. Optional sidecar files, ignored by the CAREER code, carry what its format cannot:
 *
 *   SPLIT.id         worker ids (default: "SPLIT-LINE", e.g. "train-1")
 *   SPLIT.birthyear  birth years, "NA" when unknown (default: unknown)
 *   SPLIT.dataset    the dataset of each worker (default: the `dataset` option)
 *   SPLIT.trueprob   synthetic panels: each step's true probability, "NA" where there is none
 *
 * Values are separated by spaces, so a space inside a value is written as "_": education
 * "high school diploma" is written `high_school_diploma`, and on import "_" in education, gender and
 * ethnicity reads back as a space ("black_or_african_american" -> "black or african american").
 * Education spellings are normalised to EDUCATION_LEVELS ("bachelors" -> "college").
 *
 * Export writes the same layout, one space between values and a newline after every line, the
 * sidecars only when they carry information, and no files for an empty split; so exporting an
 * imported folder written in these canonical spellings reproduces it byte for byte.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ParameterError, InputError, NotFoundError, type SourceLocation } from '../../errors.js';
import type { UnknownCodePolicy } from '../panel/validate.js';
import type { Panel, Worker, WorkerRecord } from '../panel/types.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { writeDirAtomic } from './atomic.js';
import { parseBirthYear, parseLocation, parseYear } from './fields.js';
import { isErrno, readTextFile, splitLines } from './text-file.js';
import { censusRegion } from './regions.js';
import { type ImportedPanel, SPLIT_NAMES, type SplitMembership, type SplitName, validatedImport } from './types.js';

/** The six files every present split has, in the order they are read. */
export const CAREER_FILES = ['job', 'year', 'education', 'ethnicity', 'gender', 'location'] as const;
/** Optional files carrying what CAREER's format has no place for. */
export const CAREER_SIDECARS = ['id', 'birthyear', 'dataset', 'trueprob'] as const;

type CareerFile = (typeof CAREER_FILES)[number] | (typeof CAREER_SIDECARS)[number];

export interface CareerImportOptions {
  taxonomy: Taxonomy;
  /** Dataset of every worker when the folder has no SPLIT.dataset files (CAREER's files do not say). */
  dataset?: string;
  /** Codes outside the taxonomy: an error (default) or mapped to one code. */
  unknownCode?: UnknownCodePolicy;
}

export interface CareerExportOptions {
  /** Replace an existing folder (default: refuse). */
  overwrite?: boolean;
  /** Files and folders being read: never written over (src/data/io/same-file.ts). */
  inputs?: readonly string[];
}

export interface CareerExportReport {
  files: string[];
  workers: Record<SplitName, number>;
  /** True when every worker's dataset is the same, so the folder has no .dataset files and re-import needs `dataset`. */
  datasetOmitted: boolean;
}

/** The default id of the worker on `line` (1-based) of a split's files. */
export function defaultCareerId(split: SplitName, line: number): string {
  return `${split}-${line}`;
}

interface Token {
  text: string;
  /** 1-based character column. */
  column: number;
}

function tokenize(line: string): Token[] {
  const out: Token[] = [];
  for (const m of line.matchAll(/[^ \t]+/g)) out.push({ text: m[0], column: (m.index ?? 0) + 1 });
  return out;
}

/** One split's files, read and split into lines. */
interface SplitFiles {
  split: SplitName;
  path: Record<CareerFile, string>;
  lines: Partial<Record<CareerFile, string[]>>;
}

/** Where each worker of the assembled panel came from: its split's files and its line in them. */
interface WorkerOrigin {
  files: SplitFiles;
  line: number;
}

async function presentSplits(dir: string): Promise<SplitName[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(`${dir}: no such folder`, { cause: err });
    if (isErrno(err, 'ENOTDIR')) {
      throw new InputError('CAREER format expects a folder of train/valid/test files, got a file', { file: dir });
    }
    throw err;
  }
  const present = SPLIT_NAMES.filter((s) => names.includes(`${s}.job`));
  if (present.length === 0) {
    throw new InputError('no CAREER files here: expected train.job, valid.job and/or test.job', { file: dir });
  }
  // One split alone is a deliberate export (test only, say); two of three means one was lost on the way.
  if (present.length === 2) {
    const missing = SPLIT_NAMES.find((s) => !present.includes(s))!;
    throw new InputError(
      `missing file: ${present.map((s) => `${s}.job`).join(' and ')} are here but ${missing}.job is not; ` +
        `the ${missing} split would be dropped (copy it too, or keep a single split)`,
      { file: join(dir, `${missing}.job`) },
    );
  }
  for (const s of present) {
    for (const f of CAREER_FILES) {
      if (!names.includes(`${s}.${f}`)) {
        throw new InputError(
          `missing file: ${s}.job exists, so ${s}.${f} must too (every split needs ${CAREER_FILES.map((x) => `.${x}`).join(' ')})`,
          { file: join(dir, `${s}.${f}`) },
        );
      }
    }
  }
  return present;
}

/**
 * Reads a CAREER folder into a validated Panel and the split of each worker. Workers come in split
 * order (train, valid, test), each split in line order. Errors name file, line and column.
 */
export async function readCareerDir(dir: string, opts: CareerImportOptions): Promise<ImportedPanel> {
  const splits = await presentSplits(dir);
  const names = new Set(await readdir(dir));
  const filesRead: string[] = [];
  const raw: Worker[] = [];
  const origins: WorkerOrigin[] = [];
  const membership: SplitMembership = new Map();

  for (const split of splits) {
    const path = Object.fromEntries(
      [...CAREER_FILES, ...CAREER_SIDECARS].map((f) => [f, join(dir, `${split}.${f}`)]),
    ) as Record<CareerFile, string>;
    const files: SplitFiles = { split, path, lines: {} };
    for (const f of [...CAREER_FILES, ...CAREER_SIDECARS]) {
      if ((CAREER_SIDECARS as readonly string[]).includes(f) && !names.has(`${split}.${f}`)) continue;
      files.lines[f] = splitLines(await readTextFile(path[f]));
      filesRead.push(path[f]);
    }
    const jobLines = files.lines.job as string[];
    if (jobLines.length === 0) {
      throw new InputError('the file is empty: a CAREER file has one line per worker', { file: path.job, line: 1 });
    }
    for (const [f, lines] of Object.entries(files.lines) as [CareerFile, string[]][]) {
      if (f === 'job' || lines.length === jobLines.length) continue;
      if (lines.length < jobLines.length) {
        throw new InputError(
          `${lines.length === 0 ? 'the file is empty' : `the file ends after ${lines.length} lines`}, but ${split}.job has ${jobLines.length} (one line per worker in every file)`,
          { file: path[f], line: lines.length + 1 },
        );
      }
      throw new InputError(
        `the file has ${lines.length} lines, but ${split}.job has ${jobLines.length} (one line per worker in every file)`,
        { file: path[f], line: jobLines.length + 1 },
      );
    }
    if (files.lines.dataset === undefined && (opts.dataset === undefined || opts.dataset.trim() === '')) {
      throw new ParameterError(
        'dataset',
        `CAREER files do not record the dataset: name it (\`dataset\`) or add a ${split}.dataset file`,
        { file: dir },
      );
    }
    jobLines.forEach((_, i) => {
      const worker = readWorker(files, i, opts.dataset ?? '');
      raw.push(worker);
      origins.push({ files, line: i + 1 });
      membership.set(worker.id, split);
    });
  }

  const source = (w: number, r: number | undefined, field: string): SourceLocation | undefined => {
    const origin = origins[w];
    return origin ? locate(origin, r, field) : undefined;
  };
  return validatedImport(raw, opts, { files: filesRead, splits: membership, source });
}

/** The location of a worker's field (and record r's token in it) in its split's files. */
function locate(origin: WorkerOrigin, r: number | undefined, field: string): SourceLocation {
  const fileOf: Record<string, CareerFile> = {
    code: 'job',
    records: 'job',
    year: 'year',
    education: 'education',
    gender: 'gender',
    ethnicity: 'ethnicity',
    region: 'location',
    state: 'location',
    id: origin.files.lines.id ? 'id' : 'job',
    birthYear: 'birthyear',
    dataset: 'dataset',
    trueProbability: 'trueprob',
  };
  const f = fileOf[field] ?? 'job';
  const file = origin.files.path[f];
  const lineText = origin.files.lines[f]?.[origin.line - 1];
  if (r !== undefined && lineText !== undefined) {
    const token = tokenize(lineText)[r];
    if (token) return { file, line: origin.line, column: token.column, field: `${field} (step ${r + 1})` };
  }
  return { file, line: origin.line, field };
}

/** Parses line i (0-based) of a split's files into a Worker; format errors are thrown here. */
function readWorker(files: SplitFiles, i: number, defaultDataset: string): Worker {
  const line = i + 1;
  const { split, path } = files;
  const at = (f: CareerFile, column?: number) => (): SourceLocation =>
    column === undefined ? { file: path[f], line } : { file: path[f], line, column };
  const lineOf = (f: CareerFile): string => files.lines[f]?.[i] ?? '';

  const jobs = tokenize(lineOf('job'));
  if (jobs.length === 0) {
    throw new InputError('empty line: every worker needs at least one job code', at('job')());
  }
  const what = { year: 'years', education: 'education values', trueprob: 'probabilities' } as const;
  const steps = (f: 'year' | 'education' | 'trueprob'): Token[] => {
    const tokens = tokenize(lineOf(f));
    if (tokens.length !== jobs.length) {
      const extra = tokens[jobs.length];
      throw new InputError(
        `${tokens.length} ${what[f]}, but line ${line} of ${split}.job has ${jobs.length} jobs (one per time step)`,
        at(f, extra ? extra.column : lineOf(f).length + 1)(),
      );
    }
    return tokens;
  };
  const years = steps('year');
  const education = steps('education');
  const probabilities = files.lines.trueprob ? steps('trueprob') : undefined;
  const single = (f: CareerFile): string => {
    const tokens = tokenize(lineOf(f));
    if (tokens.length !== 1) {
      throw new InputError(
        tokens.length === 0 ? `empty line: expected one ${f} value` : `expected one ${f} value, found ${tokens.length}`,
        at(f, tokens[1]?.column)(),
      );
    }
    return (tokens[0] as Token).text;
  };

  const records: WorkerRecord[] = jobs.map((job, r) => {
    const yearToken = years[r] as Token;
    const record: WorkerRecord = {
      year: parseYear(yearToken.text, at('year', yearToken.column)),
      code: job.text,
      education: fromToken((education[r] as Token).text),
    };
    const p = probabilities?.[r];
    if (p !== undefined && p.text !== 'NA') {
      const value = Number(p.text);
      if (!Number.isFinite(value) || value < 0 || value > 1) {
        throw new InputError(`true probability "${p.text}" is not a number in [0, 1] (or NA)`, at('trueprob', p.column)());
      }
      record.trueProbability = value;
    }
    return record;
  });
  const place = parseLocation(single('location'), at('location', 1));
  const worker: Worker = {
    id: files.lines.id ? single('id') : defaultCareerId(split, line),
    dataset: files.lines.dataset ? single('dataset') : defaultDataset,
    birthYear: files.lines.birthyear ? parseBirthYear(single('birthyear'), at('birthyear', 1)) : null,
    gender: fromToken(single('gender')),
    ethnicity: fromToken(single('ethnicity')),
    region: place.region,
    records,
  };
  if (place.state !== undefined) worker.state = place.state;
  return worker;
}

/** CAREER values cannot hold spaces; "_" stands for one. */
function fromToken(token: string): string {
  return token.replace(/_/g, ' ');
}

function toToken(value: string, what: string, workerId: string): string {
  if (/[\t\r\n]/.test(value) || value.trim() === '') {
    throw new InputError(`worker "${workerId}": ${what} ${JSON.stringify(value)} cannot be written to a CAREER file`);
  }
  return value.replace(/ /g, '_');
}

function plainToken(value: string, what: string, workerId: string): string {
  if (/\s/.test(value) || value === '') {
    throw new InputError(
      `worker "${workerId}": ${what} ${JSON.stringify(value)} contains a space, which CAREER files use to separate values`,
    );
  }
  return value;
}

/**
 * Writes `panel` as a CAREER folder at `dir` (atomically: nothing appears at `dir` unless every file
 * was written). Every worker needs a split in `splits`.
 */
export async function writeCareerDir(
  dir: string,
  panel: Panel,
  splits: SplitMembership,
  opts: CareerExportOptions = {},
): Promise<CareerExportReport> {
  const bySplit: Record<SplitName, Worker[]> = { train: [], valid: [], test: [] };
  for (const w of panel.workers) {
    const s = splits.get(w.id);
    if (s === undefined) {
      throw new InputError(`worker "${w.id}" has no split (train/valid/test); assign splits before exporting to CAREER`);
    }
    bySplit[s].push(w);
  }
  const datasets = new Set(panel.workers.map((w) => w.dataset));
  const withDataset = datasets.size > 1;
  const contents: [string, string][] = [];
  for (const split of SPLIT_NAMES) {
    const workers = bySplit[split];
    if (workers.length === 0) continue;
    const cols: Record<CareerFile, string[]> = {
      job: [],
      year: [],
      education: [],
      ethnicity: [],
      gender: [],
      location: [],
      id: [],
      birthyear: [],
      dataset: [],
      trueprob: [],
    };
    for (const w of workers) {
      cols.job.push(w.records.map((r) => plainToken(r.code, 'code', w.id)).join(' '));
      cols.year.push(w.records.map((r) => String(r.year)).join(' '));
      cols.education.push(w.records.map((r) => toToken(r.education, 'education', w.id)).join(' '));
      cols.ethnicity.push(toToken(w.ethnicity, 'ethnicity', w.id));
      cols.gender.push(toToken(w.gender, 'gender', w.id));
      cols.location.push(locationToken(w));
      cols.id.push(plainToken(w.id, 'id', w.id));
      cols.birthyear.push(w.birthYear === null ? 'NA' : String(w.birthYear));
      cols.dataset.push(plainToken(w.dataset, 'dataset', w.id));
      cols.trueprob.push(w.records.map((r) => (r.trueProbability === undefined ? 'NA' : String(r.trueProbability))).join(' '));
    }
    const needsIds = workers.some((w, i) => w.id !== defaultCareerId(split, i + 1));
    const needsBirthYears = workers.some((w) => w.birthYear !== null);
    const needsProbabilities = workers.some((w) => w.records.some((r) => r.trueProbability !== undefined));
    for (const f of [...CAREER_FILES, ...CAREER_SIDECARS]) {
      if (f === 'id' && !needsIds) continue;
      if (f === 'birthyear' && !needsBirthYears) continue;
      if (f === 'dataset' && !withDataset) continue;
      if (f === 'trueprob' && !needsProbabilities) continue;
      contents.push([`${split}.${f}`, cols[f].map((l) => `${l}\n`).join('')]);
    }
  }
  await writeDirAtomic(
    dir,
    async (tmp) => {
      for (const [name, text] of contents) await writeFile(join(tmp, name), text);
    },
    opts,
  );
  return {
    files: contents.map(([name]) => join(dir, name)),
    workers: { train: bySplit.train.length, valid: bySplit.valid.length, test: bySplit.test.length },
    datasetOmitted: !withDataset,
  };
}

function locationToken(w: Worker): string {
  if (w.state !== undefined && w.state !== '') return plainToken(w.state, 'state', w.id);
  const region = censusRegion(w.region);
  if (region === undefined) {
    throw new InputError(
      `worker "${w.id}" has no state and region "${w.region}" is not a Census region; CAREER location files need one of them`,
    );
  }
  return region;
}
