/**
 * Panel validation: the one gate every importer and the synthetic generator pass through, so the rest of
 * the toolkit (templates, splits, evaluation) may assume a clean panel:
 * - worker ids non-empty and unique, dataset/gender/ethnicity/region non-empty strings,
 *   birth year an integer or null;
 * - at least one record per worker, years integers and strictly increasing;
 * - codes in the taxonomy (unknown codes are an error, or mapped to one named code by option);
 * - education one of EDUCATION_LEVELS, after normalizeEducation() (so "HS" becomes "high school diploma").
 * Errors are InputErrors; when the caller passes `source`, they name the file, line and field.
 */
import { InputError, type SourceLocation } from '../../errors.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { EDUCATION_LEVELS, normalizeEducation, isMissingValueCode } from './education.js';
import type { Panel, PredictedRecord, Transition, Worker, WorkerRecord } from './types.js';

export type UnknownCodePolicy = 'error' | { mapTo: string };

export interface ValidateOptions {
  /** What to do with a code outside the taxonomy: 'error' (default) or map it to `mapTo` (a taxonomy code). */
  unknownCode?: UnknownCodePolicy;
  /**
   * Where worker `workerIndex` (and its record `recordIndex`, undefined for worker-level fields) came from,
   * so errors name file and line. `field` is the panel field at fault (id, year, code, education, ...).
   */
  source?: (workerIndex: number, recordIndex: number | undefined, field: string) => SourceLocation | undefined;
}

export interface ValidationReport {
  panel: Panel;
  /** Unknown codes that were mapped, with how many records each. Empty unless unknownCode maps. */
  mappedCodes: Record<string, number>;
  /** Education values rewritten by normalizeEducation (raw value -> level), with counts. */
  normalizedEducation: Record<string, number>;
}

/** Validates `panel` against `taxonomy` and returns a clean copy (codes mapped, education normalised). */
export function validatePanel(panel: Panel, taxonomy: Taxonomy, opts: ValidateOptions = {}): Panel {
  return validatePanelReport(panel, taxonomy, opts).panel;
}

/** validatePanel, also telling what was mapped or normalised. */
export function validatePanelReport(panel: Panel, taxonomy: Taxonomy, opts: ValidateOptions = {}): ValidationReport {
  const policy = opts.unknownCode ?? 'error';
  if (policy !== 'error' && !taxonomy.has(policy.mapTo)) {
    throw new InputError(`cannot map unknown codes to "${policy.mapTo}": it is not a code of taxonomy "${taxonomy.name}"`);
  }
  const mappedCodes: Record<string, number> = {};
  const normalizedEducation: Record<string, number> = {};
  const firstIndexOfId = new Map<string, number>();

  const fail = (message: string, w: number, r: number | undefined, field: string): never => {
    const loc = opts.source?.(w, r, field);
    throw new InputError(message, loc ? { ...loc, field: loc.field ?? field } : undefined);
  };

  const workers = panel.workers.map((worker, w): Worker => {
    const who = `worker "${worker.id}"`;
    if (typeof worker.id !== 'string' || worker.id.trim() === '') fail(`worker #${w + 1} has an empty id`, w, undefined, 'id');
    const seen = firstIndexOfId.get(worker.id);
    if (seen !== undefined) fail(`duplicate worker id "${worker.id}" (also worker #${seen + 1})`, w, undefined, 'id');
    firstIndexOfId.set(worker.id, w);
    for (const field of ['dataset', 'gender', 'ethnicity', 'region'] as const) {
      const value = worker[field] as unknown;
      if (typeof value !== 'string' || value.trim() === '') fail(`${who} has an empty ${field}`, w, undefined, field);
      if (/[\r\n]/.test(value as string)) fail(`${who}: ${field} contains a line break`, w, undefined, field);
    }
    if (worker.birthYear !== null && !Number.isInteger(worker.birthYear)) {
      fail(`${who}: birth year must be an integer or missing, got ${String(worker.birthYear)}`, w, undefined, 'birthYear');
    }
    if (worker.records.length === 0) fail(`${who} has no records`, w, undefined, 'records');

    const records = worker.records.map((rec, r): WorkerRecord => {
      if (!Number.isInteger(rec.year)) fail(`${who}: year must be an integer, got ${String(rec.year)}`, w, r, 'year');
      const prev = worker.records[r - 1];
      if (prev && rec.year <= prev.year) {
        fail(`${who}: years must be strictly increasing, got ${rec.year} after ${prev.year}`, w, r, 'year');
      }
      let code = rec.code;
      if (!taxonomy.has(code)) {
        if (policy === 'error') {
          fail(`${who}, year ${rec.year}: code "${code}" is not in taxonomy "${taxonomy.name}"`, w, r, 'code');
        } else {
          mappedCodes[code] = (mappedCodes[code] ?? 0) + 1;
          code = policy.mapTo;
        }
      }
      const education = normalizeEducation(String(rec.education));
      if (education === undefined) {
        fail(
          isMissingValueCode(String(rec.education))
            ? `${who}, year ${rec.year}: education "${rec.education}" is a survey missing-value code, not years of schooling; ` +
                'drop the record or fill the value before importing'
            : `${who}, year ${rec.year}: unknown education "${rec.education}" (expected one of: ${EDUCATION_LEVELS.join(', ')})`,
          w,
          r,
          'education',
        );
      } else if (education !== rec.education) {
        const key = `${rec.education} -> ${education}`;
        normalizedEducation[key] = (normalizedEducation[key] ?? 0) + 1;
      }
      const out: WorkerRecord = { year: rec.year, code, education: education as string };
      if (rec.trueProbability !== undefined) out.trueProbability = rec.trueProbability;
      return out;
    });
    const copy: Worker = { ...worker, records };
    return copy;
  });

  return { panel: { taxonomy: taxonomy.name, workers }, mappedCodes, normalizedEducation };
}

/** The transitions of a worker: one per record after the first, predicting it from those before. */
export function transitionsOf(worker: Worker): Transition[] {
  const out: Transition[] = [];
  for (let i = 1; i < worker.records.length; i++) {
    const prev = worker.records[i - 1] as WorkerRecord;
    const rec = worker.records[i] as WorkerRecord;
    out.push({ workerId: worker.id, index: i, year: rec.year, from: prev.code, to: rec.code });
  }
  return out;
}

/** Every record of a worker as a record to predict, the first one included (its `from` is null). */
export function recordsOf(worker: Worker): PredictedRecord[] {
  return worker.records.map((rec, i) => ({ workerId: worker.id, index: i, year: rec.year, from: i > 0 ? worker.records[i - 1]!.code : null, to: rec.code }));
}

/** All transitions of a panel, worker by worker in panel order. */
export function panelTransitions(panel: Panel): Transition[] {
  return panel.workers.flatMap(transitionsOf);
}
