/**
 * The panel data model: one Worker with fixed traits and yearly Records.
 * Everything else (importers, templates, splits, evaluation) speaks these types.
 */

export type DatasetName = 'PSID81' | 'NLSY79' | 'NLSY97' | (string & {});

/** One worker-year. `code` is a taxonomy code as a string (occ1990dd "156", SOC "15-1252"). */
export interface WorkerRecord {
  year: number;
  code: string;
  /** One of EDUCATION_LEVELS (see education.ts). */
  education: string;
  /**
   * Synthetic panels only: the generator's true probability of this record's code given the worker's
   * traits, earlier records and this record's year and education (absent on record 0 and on real data).
   */
  trueProbability?: number;
}

export interface Worker {
  id: string;
  dataset: DatasetName;
  birthYear: number | null;
  gender: string;
  ethnicity: string;
  /** Census region named in templates, as the paper spells it (northeast, northcentral, south, west; see io/regions.ts). */
  region: string;
  /** US state code when the source has one (CAREER's location files). */
  state?: string;
  records: WorkerRecord[];
}

export interface Panel {
  /** Name of the taxonomy the codes belong to (e.g. "occ1990dd"). */
  taxonomy: string;
  workers: Worker[];
}

/**
 * A transition: predicting record `index` (>= 1) of a worker from records 0..index-1.
 * `from` is the previous code, `to` the observed next one.
 */
/** A record to predict: records[index] of a worker after its previous code (null for the first record). */
export interface PredictedRecord {
  workerId: string;
  /** Index into worker.records of the record being predicted. */
  index: number;
  year: number;
  from: string | null;
  to: string;
}

export interface Transition {
  workerId: string;
  /** Index into worker.records of the record being predicted. */
  index: number;
  year: number;
  from: string;
  to: string;
}
