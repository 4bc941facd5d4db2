/**
 * What CAREER's native graph sees of a panel: each record as integers, the index of its code in the
 * taxonomy and one id per covariate (year, education, region, ethnicity, gender). The vocabularies
 * are made from the training split and written into the model file, so a model scores any panel the
 * same way: id 0 of every covariate is "(unknown)" (a value the training split never had), and a
 * year outside the training years maps to the nearest training year.
 */
import { InputError, ModelError } from '../../errors.js';
import { EDUCATION_LEVELS } from '../../data/panel/education.js';
import type { Worker, WorkerRecord } from '../../data/panel/types.js';
import type { Taxonomy } from '../../data/taxonomy/taxonomy.js';
import type { CareerData } from '../../engine/native.js';

/**
 * Covariates a step can have. CAREER's are the first five (its default); `age` (the record's age in
 * five-year bands, from the birth year) is ours, for panels whose outcomes depend on age (the
 * logit baseline has age bands too).
 */
export const CAREER_COVARIATES = ['year', 'education', 'region', 'ethnicity', 'gender', 'age'] as const;
export type CareerCovariate = (typeof CAREER_COVARIATES)[number];
/** CAREER's covariates, the default. */
export const DEFAULT_CAREER_COVARIATES: readonly CareerCovariate[] = ['year', 'education', 'region', 'ethnicity', 'gender'];

export function isCareerCovariate(name: string): name is CareerCovariate {
  return (CAREER_COVARIATES as readonly string[]).includes(name);
}

/** Id 0 of every covariate. */
export const UNKNOWN_VALUE = '(unknown)';

export interface CareerVocabulary {
  taxonomy: string;
  /** The taxonomy's codes in its order: the model's output classes. */
  codes: string[];
  /** The covariates in the graph's order, each with its values; index 0 is UNKNOWN_VALUE. */
  covariates: { name: CareerCovariate; values: string[] }[];
}

export type { CareerData } from '../../engine/native.js';

const covariateOf: Record<CareerCovariate, (w: Worker, r: WorkerRecord) => string> = {
  year: (_w, r) => String(r.year),
  education: (_w, r) => r.education,
  region: (w) => w.region,
  ethnicity: (w) => w.ethnicity,
  gender: (w) => w.gender,
  age: (w, r) => {
    if (w.birthYear === null) return UNKNOWN_VALUE;
    const band = Math.floor((r.year - w.birthYear) / 5) * 5;
    return `${band}-${band + 4}`;
  },
};

/** Vocabularies of a training split (education: every level, so none is unknown; years and ages in numeric order). */
export function buildVocabulary(
  taxonomy: Taxonomy,
  train: readonly Worker[],
  names: readonly CareerCovariate[] = DEFAULT_CAREER_COVARIATES,
): CareerVocabulary {
  const numericFirst = (a: string, b: string) => parseInt(a, 10) - parseInt(b, 10) || a.localeCompare(b);
  const values = (name: CareerCovariate): string[] => {
    if (name === 'education') return [...EDUCATION_LEVELS];
    const seen = new Set(train.flatMap((w) => w.records.map((r) => covariateOf[name](w, r))));
    seen.delete(UNKNOWN_VALUE);
    return [...seen].sort(name === 'year' || name === 'age' ? numericFirst : undefined);
  };
  return { taxonomy: taxonomy.name, codes: taxonomy.codes(), covariates: names.map((name) => ({ name, values: [UNKNOWN_VALUE, ...values(name)] })) };
}

/** Turns workers into the integer arrays of the native side; a code outside the vocabulary is an InputError. */
export function encodeWorkers(vocab: CareerVocabulary, workers: readonly Worker[]): CareerData {
  const codeIndex = new Map(vocab.codes.map((c, i) => [c, i]));
  const ids = vocab.covariates.map((c) => new Map(c.values.map((v, i) => [v, i])));
  const years = (vocab.covariates.find((c) => c.name === 'year')?.values ?? [UNKNOWN_VALUE]).slice(1).map(Number);
  const nearestYear = (y: number): number => {
    if (years.length === 0) return 0;
    let best = 0;
    for (let i = 1; i < years.length; i++) if (Math.abs(years[i]! - y) < Math.abs(years[best]! - y)) best = i;
    return best + 1;
  };
  const F = vocab.covariates.length;
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
      vocab.covariates.forEach(({ name }, f) => {
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
  for (const c of v.covariates) out[META.vocab(c.name)] = c.values;
  return out;
}

/** The vocabulary a model file carries (covariates in the file's order); ModelError naming the file when a key is missing. */
export function vocabularyFromMeta(meta: Record<string, unknown>, names: readonly string[], file: string): CareerVocabulary {
  const list = (key: string): string[] => {
    const v = meta[key];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ModelError(`${file}: the CAREER model has no ${key} list`);
    return v as string[];
  };
  const taxonomy = meta[META.taxonomy];
  if (typeof taxonomy !== 'string') throw new ModelError(`${file}: the CAREER model has no ${META.taxonomy} key`);
  const covariates = names.map((name) => {
    if (!isCareerCovariate(name)) throw new ModelError(`${file}: unknown CAREER covariate "${name}" (known: ${CAREER_COVARIATES.join(', ')})`);
    return { name, values: list(META.vocab(name)) };
  });
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
