/**
 * The words the paper's templates use to describe a worker (shared by the resume and off-the-shelf
 * templates): "a male white US worker residing in the northcentral region", "The worker was born in
 * 1963." and the dataset's name in the header.
 *
 * - Gender, ethnicity and region are written in lower case, as the paper writes them ("a female black or
 *   african american US worker residing in the south region"), whatever case the panel holds them in.
 * - A Census region in any spelling import accepts ("Midwest", "North Central") is written as the paper
 *   spells it (northcentral); any other region value is written as it is, lower-cased.
 * - Headers name the dataset as the paper does: PSID81 is "PSID" (the talk's off-the-shelf example,
 *   "<A worker from the PSID dataset>"), the NLSY cohorts keep their names ("<A Resume from the NLSY79
 *   Dataset>"). Other dataset names are written as they are.
 */
import { censusRegion } from '../io/regions.js';
import type { Worker } from '../panel/types.js';

/** Dataset names in template headers, where the paper writes them differently from the panel. */
const HEADER_DATASET_NAMES: Readonly<Record<string, string>> = { PSID81: 'PSID' };

export function headerDatasetName(dataset: string): string {
  return HEADER_DATASET_NAMES[dataset] ?? dataset;
}

/** "a" or "an" before a word (by its first letter; good enough for the demographic words we print). */
export function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}

/** "a male white US worker residing in the northcentral region" */
export function usWorkerPhrase(worker: Worker): string {
  const gender = worker.gender.toLowerCase();
  const region = censusRegion(worker.region) ?? worker.region.toLowerCase();
  return `${article(gender)} ${gender} ${worker.ethnicity.toLowerCase()} US worker residing in the ${region} region`;
}

/** "The worker was born in 1963.\n", or nothing when the birth year is unknown or not wanted. */
export function birthYearLine(worker: Worker, withBirthYear: boolean): string {
  return withBirthYear && worker.birthYear !== null ? `The worker was born in ${worker.birthYear}.\n` : '';
}
