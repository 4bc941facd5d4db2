/**
 * The panel store: the folder `labor-llm data import|synth --out DIR` writes and every later step
 * (split, render, training files, evaluation) reads. Layout, version 1:
 *
 *   DIR/meta.json      { "format": "labor-llm-panel", "version": 1,
 *                        "taxonomy": { "name": "occ1990dd", "numberedSeed"?: 7, "file"?: "taxonomy.csv" },
 *                        "workers": N, "records": M, "datasets": { "NLSY79": N },
 *                        "splits": { "train": n, "valid": n, "test": n }, "unassigned": n,
 *                        "oracle": true when records carry trueProbability,
 *                        "source": { free-form: how the panel was made } }
 *   DIR/workers.jsonl  one worker per line, in panel order:
 *                        {"id":"7","dataset":"NLSY79","birthYear":1960,"gender":"female",
 *                         "ethnicity":"hispanic","region":"south","state":"TX","split":"test",
 *                         "records":[{"year":1990,"code":"156","education":"college"},
 *                                    {"year":1991,"code":"156","education":"college","trueProbability":0.62}]}
 *                      `state` and `split` are left out when absent, `trueProbability` on real data.
 *   DIR/taxonomy.csv   only for a user taxonomy: its entries (code,title,major_group) as used, numbered
 *                      titles included, so the store is self-contained.
 *
 * The folder is written under a temporary name and renamed when complete, so a folder with a
 * meta.json is always whole. Reading validates the panel again (the files may have been edited);
 * errors name workers.jsonl and the line.
 */
import { writeFile } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';
import { join } from 'node:path';
import { InputError, NotFoundError, type SourceLocation } from '../../errors.js';
import { validatePanel } from '../panel/validate.js';
import type { Panel, Worker, WorkerRecord } from '../panel/types.js';
import {
  BUILTIN_TAXONOMIES,
  loadTaxonomy,
  numberTaxonomy,
  readTaxonomyCsv,
  Taxonomy,
} from '../taxonomy/taxonomy.js';
import { writeDirAtomic } from './atomic.js';
import { readTextFile, splitLines } from './text-file.js';
import { isSplitName, recordCount, type SplitMembership, type SplitName, splitCounts } from './types.js';

export const PANEL_STORE_FORMAT = 'labor-llm-panel';
export const PANEL_STORE_VERSION = 1;
export const META_FILE = 'meta.json';
export const WORKERS_FILE = 'workers.jsonl';
export const TAXONOMY_FILE = 'taxonomy.csv';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface StoredTaxonomy {
  name: string;
  /** Seed of the numbered-title variant, when the panel was made with one. */
  numberedSeed?: number;
  /** A user taxonomy's CSV, copied into the store (relative to it). */
  file?: string;
}

export interface PanelStoreMeta {
  format: typeof PANEL_STORE_FORMAT;
  version: typeof PANEL_STORE_VERSION;
  taxonomy: StoredTaxonomy;
  workers: number;
  records: number;
  datasets: Record<string, number>;
  splits: Record<SplitName, number>;
  /** Workers with no split. */
  unassigned: number;
  /** Whether the records carry the generator's true probabilities (synthetic panels). */
  oracle: boolean;
  /** How the panel was made (import format and path, synth profile and seed, ...). */
  source: { [key: string]: JsonValue };
}

export interface PanelStore {
  panel: Panel;
  splits: SplitMembership;
  taxonomy: Taxonomy;
  meta: PanelStoreMeta;
}

export interface WritePanelDirInput {
  panel: Panel;
  /** Split of each worker; workers absent from it are stored without one. */
  splits?: SplitMembership;
  /** The taxonomy the panel's codes belong to (its name must be the panel's). */
  taxonomy: Taxonomy;
  source?: { [key: string]: JsonValue };
}

/** The JSON object of one worker line (field order fixed, so the bytes are deterministic). */
function workerJson(w: Worker, split: SplitName | undefined): string {
  const o: { [key: string]: JsonValue } = {
    id: w.id,
    dataset: w.dataset,
    birthYear: w.birthYear,
    gender: w.gender,
    ethnicity: w.ethnicity,
    region: w.region,
  };
  if (w.state !== undefined) o.state = w.state;
  if (split !== undefined) o.split = split;
  o.records = w.records.map((r) => {
    const rec: { [key: string]: JsonValue } = { year: r.year, code: r.code, education: r.education };
    if (r.trueProbability !== undefined) rec.trueProbability = r.trueProbability;
    return rec;
  });
  return JSON.stringify(o);
}

export function storeMeta(input: WritePanelDirInput): PanelStoreMeta {
  const { panel, taxonomy } = input;
  const splits = input.splits ?? new Map<string, SplitName>();
  const datasets: Record<string, number> = {};
  for (const w of panel.workers) datasets[w.dataset] = (datasets[w.dataset] ?? 0) + 1;
  const counts = splitCounts(panel, splits);
  const tax: StoredTaxonomy = { name: taxonomy.name };
  if (taxonomy.numberedSeed !== undefined) tax.numberedSeed = taxonomy.numberedSeed;
  if (!(BUILTIN_TAXONOMIES as readonly string[]).includes(taxonomy.name)) tax.file = TAXONOMY_FILE;
  return {
    format: PANEL_STORE_FORMAT,
    version: PANEL_STORE_VERSION,
    taxonomy: tax,
    workers: panel.workers.length,
    records: recordCount(panel),
    datasets,
    splits: counts,
    unassigned: panel.workers.length - counts.train - counts.valid - counts.test,
    oracle: panel.workers.some((w) => w.records.some((r) => r.trueProbability !== undefined)),
    source: input.source ?? {},
  };
}

/** A taxonomy's entries as CSV (as given: a numbered variant keeps its job_001... titles). */
function taxonomyCsv(taxonomy: Taxonomy): string {
  const rows = taxonomy.entries.map((e) => [e.code, e.title, e.group]);
  return stringify([['code', 'title', 'major_group'], ...rows], { record_delimiter: '\n' });
}

/** Writes a panel store at `dir` (atomically); a user taxonomy's entries go into taxonomy.csv. */
export async function writePanelDir(
  dir: string,
  input: WritePanelDirInput,
  opts: { overwrite?: boolean; inputs?: readonly string[] } = {},
): Promise<PanelStoreMeta> {
  if (input.panel.taxonomy !== input.taxonomy.name) {
    throw new InputError(`the panel uses taxonomy "${input.panel.taxonomy}" but "${input.taxonomy.name}" was given`);
  }
  const meta = storeMeta(input);
  const splits = input.splits ?? new Map<string, SplitName>();
  await writeDirAtomic(
    dir,
    async (tmp) => {
      if (meta.taxonomy.file !== undefined) await writeFile(join(tmp, meta.taxonomy.file), taxonomyCsv(input.taxonomy));
      const lines = input.panel.workers.map((w) => `${workerJson(w, splits.get(w.id))}\n`);
      await writeFile(join(tmp, WORKERS_FILE), lines.join(''));
      await writeFile(join(tmp, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
    },
    opts,
  );
  return meta;
}

/** Reads only a store's meta.json. */
export async function readPanelMeta(dir: string): Promise<PanelStoreMeta> {
  const file = join(dir, META_FILE);
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new NotFoundError(`${dir} is not a panel store (no ${META_FILE}); make one with "labor-llm data import" or "data synth"`);
    }
    throw err;
  }
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (cause) {
    throw new InputError(`not valid JSON: ${(cause as Error).message}`, { file, line: 1 }, { cause });
  }
  const m = meta as Partial<PanelStoreMeta>;
  if (typeof meta !== 'object' || meta === null || m.format !== PANEL_STORE_FORMAT) {
    throw new InputError(`not a labor-llm panel store (expected "format": "${PANEL_STORE_FORMAT}")`, { file, field: 'format' });
  }
  if (m.version !== PANEL_STORE_VERSION) {
    throw new InputError(`panel store version ${String(m.version)} is not supported (this labor-llm reads version ${PANEL_STORE_VERSION})`, {
      file,
      field: 'version',
    });
  }
  if (typeof m.taxonomy !== 'object' || m.taxonomy === null || typeof m.taxonomy.name !== 'string') {
    throw new InputError('missing taxonomy name', { file, field: 'taxonomy' });
  }
  return meta as PanelStoreMeta;
}

/** The taxonomy a store names: built in, or the CSV copied into the store; numbered if it was. */
export function storedTaxonomy(dir: string, stored: StoredTaxonomy): Taxonomy {
  if (stored.file !== undefined) {
    // The CSV holds the entries as they were used, numbered titles included.
    return new Taxonomy(stored.name, readTaxonomyCsv(join(dir, stored.file)), stored.numberedSeed);
  }
  const taxonomy = loadTaxonomy(stored.name);
  return stored.numberedSeed === undefined ? taxonomy : numberTaxonomy(taxonomy, stored.numberedSeed);
}

/** Reads and validates a panel store. */
export async function readPanelDir(dir: string): Promise<PanelStore> {
  const meta = await readPanelMeta(dir);
  const taxonomy = storedTaxonomy(dir, meta.taxonomy);
  const file = join(dir, WORKERS_FILE);
  const lines = splitLines(await readTextFile(file));
  const workers: Worker[] = [];
  const lineOf: number[] = [];
  const splits: SplitMembership = new Map();
  lines.forEach((text, i) => {
    const line = i + 1;
    if (text.trim() === '') return;
    const w = parseWorkerLine(text, { file, line });
    const split = (w as { split?: unknown }).split;
    delete (w as { split?: unknown }).split;
    if (split !== undefined) {
      if (typeof split !== 'string' || !isSplitName(split)) {
        throw new InputError(`split ${JSON.stringify(split)} is not train, valid or test`, { file, line, field: 'split' });
      }
      splits.set(w.id, split);
    }
    workers.push(w);
    lineOf.push(line);
  });
  const source = (w: number, _r: number | undefined, field: string): SourceLocation | undefined => {
    const line = lineOf[w];
    return line === undefined ? undefined : { file, line, field };
  };
  const panel = validatePanel({ taxonomy: taxonomy.name, workers }, taxonomy, { source });
  if (panel.workers.length !== meta.workers) {
    throw new InputError(`${META_FILE} says ${meta.workers} workers but ${WORKERS_FILE} has ${panel.workers.length}`, {
      file: join(dir, META_FILE),
      field: 'workers',
    });
  }
  return { panel, splits, taxonomy, meta };
}

/** Parses one workers.jsonl line, checking the JSON shape (validatePanel checks the values). */
function parseWorkerLine(text: string, at: SourceLocation): Worker {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (cause) {
    throw new InputError(`not valid JSON: ${(cause as Error).message}`, at, { cause });
  }
  const bad = (field: string, expected: string): never => {
    throw new InputError(`field "${field}" must be ${expected}`, { ...at, field });
  };
  if (typeof o !== 'object' || o === null || Array.isArray(o)) bad('(line)', 'a JSON object');
  const w = o as Record<string, unknown>;
  for (const f of ['id', 'dataset', 'gender', 'ethnicity', 'region']) if (typeof w[f] !== 'string') bad(f, 'a string');
  if (w.birthYear !== null && typeof w.birthYear !== 'number') bad('birthYear', 'a number or null');
  if (w.state !== undefined && typeof w.state !== 'string') bad('state', 'a string');
  if (!Array.isArray(w.records)) bad('records', 'an array');
  const records = (w.records as unknown[]).map((r, i): WorkerRecord => {
    const rec = r as Record<string, unknown>;
    if (typeof r !== 'object' || r === null) bad(`records[${i}]`, 'an object');
    if (typeof rec.year !== 'number') bad(`records[${i}].year`, 'a number');
    if (typeof rec.code !== 'string') bad(`records[${i}].code`, 'a string');
    if (typeof rec.education !== 'string') bad(`records[${i}].education`, 'a string');
    const out: WorkerRecord = { year: rec.year as number, code: rec.code as string, education: rec.education as string };
    if (rec.trueProbability !== undefined) {
      if (typeof rec.trueProbability !== 'number') bad(`records[${i}].trueProbability`, 'a number');
      out.trueProbability = rec.trueProbability as number;
    }
    return out;
  });
  const worker: Worker = {
    id: w.id as string,
    dataset: w.dataset as string,
    birthYear: w.birthYear as number | null,
    gender: w.gender as string,
    ethnicity: w.ethnicity as string,
    region: w.region as string,
    records,
  };
  if (w.state !== undefined) worker.state = w.state as string;
  if (w.split !== undefined) (worker as { split?: unknown }).split = w.split;
  return worker;
}
