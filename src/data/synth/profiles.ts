/**
 * Survey profiles for synthetic panels: how many workers and worker-years a full-size panel has, which
 * calendar years the survey interviewed, the birth cohorts and the mix of demographic traits.
 *
 * Counts are those of the paper's cleaned samples; calendar years follow each survey's schedule
 * (annual interviews, then biennial):
 *   PSID81  31,056 workers, 313,622 worker-years, 1981-1997 annual then 1999-2021 biennial, born 1919-2003
 *   NLSY79  12,479 workers, 259,778 worker-years, 1979-1994 annual then 1996-2018 biennial, born 1957-1964
 *   NLSY97   8,984 workers, 148,795 worker-years, 1997-2011 annual then 2013-2021 biennial, born 1980-1984
 * Demographic values are written as the paper's templates write them (the talk's examples: "a female
 * black or african american US worker residing in the south region", "a male white US worker residing
 * in the northcentral region"); the NLSY's third category (non-black non-hispanic) is written "white"
 * as in the talk's NLSY79 example.
 * A synthetic worker is observed in a contiguous run of interview rounds whose length is uniform on
 * [minRounds, maxRounds]; those bounds are chosen so that the expected worker-years per worker match the
 * survey's (within 1%).
 */
import { InputError } from '../../errors.js';

export const PROFILE_NAMES = ['psid81', 'nlsy79', 'nlsy97'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface Weighted<T> {
  value: T;
  weight: number;
}

export interface SurveyProfile {
  name: ProfileName;
  /** Dataset name written on every worker and in the resume header. */
  dataset: 'PSID81' | 'NLSY79' | 'NLSY97';
  /** Full-size counts of the survey. */
  workers: number;
  workerYears: number;
  /** Interview years, increasing. */
  rounds: readonly number[];
  minRounds: number;
  maxRounds: number;
  /**
   * Birth years: a cohort survey draws uniformly from [birthYearMin, birthYearMax]; a household panel
   * (PSID) instead draws the age at the first observed round from [firstAgeMin, firstAgeMax].
   */
  birth: { kind: 'cohort'; min: number; max: number } | { kind: 'age-at-entry'; min: number; max: number; maxAge: number };
  genders: readonly Weighted<string>[];
  ethnicities: readonly Weighted<string>[];
  regions: readonly Weighted<string>[];
}

function years(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let y = from; y <= to; y += step) out.push(y);
  return out;
}

/** A survey's interview years: every year from `first` to `lastAnnual`, then every other year to `last`. */
function annualThenBiennial(first: number, lastAnnual: number, last: number): number[] {
  return [...years(first, lastAnnual, 1), ...years(lastAnnual + 2, last, 2)];
}

/** Weighted values in the order written (the order the generator draws from). */
function shares(weights: Record<string, number>): Weighted<string>[] {
  return Object.entries(weights).map(([value, weight]) => ({ value, weight }));
}

const GENDERS = shares({ male: 0.5, female: 0.5 });
const REGIONS = shares({ northeast: 0.18, northcentral: 0.23, south: 0.38, west: 0.21 });

/** A profile whose dataset is its name in capitals, with the shared gender and region mixes. */
function survey(name: ProfileName, own: Omit<SurveyProfile, 'name' | 'dataset' | 'genders' | 'regions'>): SurveyProfile {
  const { ethnicities, ...counts } = own;
  return { name, dataset: name.toUpperCase() as SurveyProfile['dataset'], ...counts, genders: GENDERS, ethnicities, regions: REGIONS };
}

// The round bounds: uniform on [2, 18] is a mean of 10 rounds (PSID: 10.10 worker-years per worker),
// [14, 28] 21 (NLSY79: 20.82), [13, 20] 16.5 (NLSY97: 16.56).
export const PROFILES: Record<ProfileName, SurveyProfile> = {
  psid81: survey('psid81', {
    workers: 31_056, workerYears: 313_622, rounds: annualThenBiennial(1981, 1997, 2021), minRounds: 2, maxRounds: 18,
    birth: { kind: 'age-at-entry', min: 18, max: 62, maxAge: 85 },
    ethnicities: shares({ white: 0.56, 'black or african american': 0.35, hispanic: 0.05, other: 0.04 }),
  }),
  nlsy79: survey('nlsy79', {
    workers: 12_479, workerYears: 259_778, rounds: annualThenBiennial(1979, 1994, 2018), minRounds: 14, maxRounds: 28,
    birth: { kind: 'cohort', min: 1957, max: 1964 },
    ethnicities: shares({ hispanic: 0.19, 'black or african american': 0.25, white: 0.56 }),
  }),
  nlsy97: survey('nlsy97', {
    workers: 8_984, workerYears: 148_795, rounds: annualThenBiennial(1997, 2011, 2021), minRounds: 13, maxRounds: 20,
    birth: { kind: 'cohort', min: 1980, max: 1984 },
    ethnicities: shares({ hispanic: 0.21, 'black or african american': 0.26, white: 0.53 }),
  }),
};

/** The profile called `name` (case-insensitive); InputError listing the valid names otherwise. */
export function getProfile(name: string): SurveyProfile {
  const key = name.toLowerCase();
  if (!(PROFILE_NAMES as readonly string[]).includes(key)) {
    throw new InputError(`unknown synthetic profile "${name}": valid profiles are ${PROFILE_NAMES.join(', ')}`);
  }
  return PROFILES[key as ProfileName];
}
