/**
 * What CAREER's native graph sees of a panel: each record as integers, the index of its code in the
 * taxonomy and one id per covariate (year, education, region, ethnicity, gender). The vocabularies
 * are made from the training split and written into the model file, so a model scores any panel the
 * same way: id 0 of every covariate is "(unknown)" (a value the training split never had), and a
 * year outside the training years maps to the nearest training year.
 */
import { InputError, ModelError } from '../../errors.js';
import { EDUCATION_LEVELS } from '../../panel/education.js';
import type { Worker, WorkerRecord } from '../../panel/types.js';
import type { Taxonomy } from '../../taxonomy/taxonomy.js';

/** Covariates of a step, in the order of the graph's embedding tables (CAREER's covariates). */
export const CAREER_COVARIATES = ['year', 'education', 'region', 'ethnicity', 'gender'] as const;
export type CareerCovariate = (typeof CAREER_COVARIATES)[number];

/** Id 0 of every covariate. */
export const UNKNOWN_VALUE = '(unknown)';

export interface CareerVocabulary {
  taxonomy: string;
  /** The taxonomy's codes in its order: the model's output classes. */
  codes: string[];
  /** Values of each covariate; index 0 is UNKNOWN_VALUE. */
  covariates: Record<CareerCovariate, string[]>;
}

/** Encoded workers, as the native trainer and scorer take them. */
export interface CareerData {
  codes: Int32Array;
  covs: Int32Array;
  lengths: Int32Array;
}

const covariateOf: Record<CareerCovariate, (w: Worker, r: WorkerRecord) => string> = {
  year: (_w, r) => String(r.year),
  education: (_w, r) => r.education,
  region: (w) => w.region,
  ethnicity: (w) => w.ethnicity,
  gender: (w) => w.gender,
};

/** Vocabularies of a training split (education: every level, so none is unknown). */
export function buildVocabulary(taxonomy: Taxonomy, train: readonly Worker[]): CareerVocabulary {
  const sorted = (values: Iterable<string>) => [...new Set(values)].sort();
  const years = [...new Set(train.flatMap((w) => w.records.map((r) => r.year)))].sort((a, b) => a - b).map(String);
  return {
    taxonomy: taxonomy.name,
    codes: taxonomy.codes(),
    covariates: {
      year: [UNKNOWN_VALUE, ...years],
      education: [UNKNOWN_VALUE, ...EDUCATION_LEVELS],
      region: [UNKNOWN_VALUE, ...sorted(train.map((w) => w.region))],
      ethnicity: [UNKNOWN_VALUE, ...sorted(train.map((w) => w.ethnicity))],
      gender: [UNKNOWN_VALUE, ...sorted(train.map((w) => w.gender))],
    },
  };
}

/** Turns workers into the integer arrays of the native side; a code outside the vocabulary is an InputError. */
export function encodeWorkers(vocab: CareerVocabulary, workers: readonly Worker[]): CareerData {
  const codeIndex = new Map(vocab.codes.map((c, i) => [c, i]));
  const ids = CAREER_COVARIATES.map((name) => new Map(vocab.covariates[name].map((v, i) => [v, i])));
  const years = vocab.covariates.year.slice(1).map(Number);
  const nearestYear = (y: number): number => {
    if (years.length === 0) return 0;
    let best = 0;
    for (let i = 1; i < years.length; i++) if (Math.abs(years[i]! - y) < Math.abs(years[best]! - y)) best = i;
    return best + 1;
  };
  const F = CAREER_COVARIATES.length;
  const n = workers.reduce((s, w) => s + w.records.length, 0);
  const codes = new Int32Array(n);
  const covs = new Int32Array(n * F);
  const lengths = new Int32Array(workers.length);
  let r = 0;
  workers.forEach((w, i) => {
    if (w.records.length === 0) throw new InputError(`worker "${w.id}" has no records`);
    lengths[i] = w.records.length;
    w.records.forEach((rec, t) => {
      const c = codeIndex.get(rec.code);
      if (c === undefined) {
        throw new InputError(`worker "${w.id}", record ${t}: code "${rec.code}" is not in the model's taxonomy "${vocab.taxonomy}"`);
      }
      codes[r] = c;
      CAREER_COVARIATES.forEach((name, f) => {
        const v = covariateOf[name](w, rec);
        covs[r * F + f] = ids[f]!.get(v) ?? (name === 'year' ? nearestYear(rec.year) : 0);
      });
      r++;
    });
  });
  return { codes, covs, lengths };
}

const META = {
  taxonomy: 'career.taxonomy',
  codes: 'career.codes',
  vocab: (name: string) => `career.vocab.${name}`,
};

/** The vocabulary as GGUF metadata (string and string-array keys). */
export function vocabularyToMeta(v: CareerVocabulary): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { [META.taxonomy]: v.taxonomy, [META.codes]: v.codes };
  for (const name of CAREER_COVARIATES) out[META.vocab(name)] = v.covariates[name];
  return out;
}

/** The vocabulary a model file carries; ModelError naming the file when a key is missing. */
export function vocabularyFromMeta(meta: Record<string, unknown>, file: string): CareerVocabulary {
  const list = (key: string): string[] => {
    const v = meta[key];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ModelError(`${file}: the CAREER model has no ${key} list`);
    return v as string[];
  };
  const taxonomy = meta[META.taxonomy];
  if (typeof taxonomy !== 'string') throw new ModelError(`${file}: the CAREER model has no ${META.taxonomy} key`);
  const covariates = {} as Record<CareerCovariate, string[]>;
  for (const name of CAREER_COVARIATES) covariates[name] = list(META.vocab(name));
  return { taxonomy, codes: list(META.codes), covariates };
}

/** InputError unless `taxonomy` has exactly the model's codes in the model's order. */
export function checkTaxonomy(vocab: CareerVocabulary, taxonomy: Taxonomy, file: string): void {
  const codes = taxonomy.codes();
  const same = codes.length === vocab.codes.length && codes.every((c, i) => c === vocab.codes[i]);
  if (!same) {
    throw new InputError(
      `${file} was trained on taxonomy "${vocab.taxonomy}" (${vocab.codes.length} codes); this panel's taxonomy "${taxonomy.name}" ` +
        `has ${codes.length} codes${codes.length === vocab.codes.length ? ' in another order or with other codes' : ''}`,
    );
  }
}
