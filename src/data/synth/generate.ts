/**
 * Synthetic panels: workers drawn from a survey profile (profiles.ts), careers drawn from SynthModel
 * (model.ts), each record after the first carrying the model's true probability of its code.
 *
 * Worker i's traits, years, education and career come from its own generator, seeded by (seed, profile, i):
 * the same seed gives the same panel, byte for byte, and a panel of N workers is the first N workers of
 * any larger one with the same seed.
 *
 * Education is drawn independently of occupations: a final level (depending on gender), and a worker-specific
 * delay of 0-3 years for post-secondary levels; the level printed for a year is the highest one completed
 * by that age (high school at 18, some college at 19, associate degree at 20, college at 22, graduate
 * degree at 24, post-secondary ages plus the delay). So education progresses with age.
 */
import { InputError } from '../../errors.js';
import { EDUCATION_LEVELS, type EducationLevel } from '../panel/education.js';
import type { Panel, Worker, WorkerRecord } from '../panel/types.js';
import { loadTaxonomy, type Taxonomy } from '../taxonomy/taxonomy.js';
import { SynthModel } from './model.js';
import { hash32, Prng } from './prng.js';
import { getProfile, type SurveyProfile, type Weighted } from './profiles.js';

export interface SynthOptions {
  /** psid81 | nlsy79 | nlsy97. */
  profile: string;
  /** Number of workers (default: the survey's full size). */
  workers?: number;
  /** Seed (default 0). */
  seed?: number;
  /** Taxonomy of the codes (default occ1990dd). */
  taxonomy?: Taxonomy;
}

export interface SynthResult {
  panel: Panel;
  profile: SurveyProfile;
  /** The generating process: model.distribution(worker, index) is the true distribution of any record. */
  model: SynthModel;
}

/** Age at which each level is completed (index = education rank); post-secondary ages get the worker's delay. */
const COMPLETION_AGE = [0, 18, 19, 20, 22, 24];

/** The education level printed at `age` for a worker whose final level has rank `finalRank`. */
export function educationAtAge(finalRank: number, delay: number, age: number): EducationLevel {
  let rank = 0;
  for (let r = 1; r <= finalRank; r++) {
    // An associate degree is a final stop, not a step on the way to college.
    if (r === 3 && finalRank !== 3) continue;
    const due = (COMPLETION_AGE[r] as number) + (r >= 2 ? delay : 0);
    if (age >= due) rank = r;
  }
  return EDUCATION_LEVELS[rank] as EducationLevel;
}

function pickWeighted<T>(rng: Prng, items: readonly Weighted<T>[]): T {
  return (items[rng.pick(items.map((i) => i.weight))] as Weighted<T>).value;
}

/** Final education shares (stylised), women slightly more educated than men in these cohorts. */
function finalEducationWeights(female: boolean): number[] {
  return female ? [0.1, 0.32, 0.17, 0.09, 0.21, 0.11] : [0.13, 0.34, 0.17, 0.07, 0.19, 0.1];
}

export function synthesizePanel(opts: SynthOptions): SynthResult {
  const profile = getProfile(opts.profile);
  const n = opts.workers ?? profile.workers;
  if (!Number.isInteger(n) || n < 1) throw new InputError(`the number of workers must be a positive integer, got ${opts.workers}`);
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(seed)) throw new InputError(`the seed must be an integer, got ${opts.seed}`);
  const taxonomy = opts.taxonomy ?? loadTaxonomy();
  const model = new SynthModel(taxonomy);
  const width = Math.max(5, String(n).length);
  const rounds = profile.rounds;

  const workers: Worker[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const rng = new Prng(hash32(`${profile.name}/${i}`, seed));
    const gender = pickWeighted(rng, profile.genders);
    const ethnicity = pickWeighted(rng, profile.ethnicities);
    const region = pickWeighted(rng, profile.regions);
    const length = rng.intBetween(profile.minRounds, Math.min(profile.maxRounds, rounds.length));
    const start = rng.intBetween(0, rounds.length - length);
    const firstYear = rounds[start] as number;
    const lastYear = rounds[start + length - 1] as number;
    let birthYear: number;
    if (profile.birth.kind === 'cohort') {
      birthYear = rng.intBetween(profile.birth.min, profile.birth.max);
    } else {
      const oldest = Math.max(profile.birth.min, Math.min(profile.birth.max, profile.birth.maxAge - (lastYear - firstYear)));
      birthYear = firstYear - rng.intBetween(profile.birth.min, oldest);
    }
    const finalRank = rng.pick(finalEducationWeights(gender === 'female'));
    const delay = rng.int(4);

    const records: WorkerRecord[] = [];
    const worker: Worker = {
      id: `${profile.dataset}-${String(i + 1).padStart(width, '0')}`,
      dataset: profile.dataset,
      birthYear,
      gender,
      ethnicity,
      region,
      records,
    };
    for (let r = 0; r < length; r++) {
      const year = rounds[start + r] as number;
      const record: WorkerRecord = { year, code: '', education: educationAtAge(finalRank, delay, year - birthYear) };
      records.push(record);
      // mixture() reads the year and education of this record and the codes of the earlier ones only.
      const mixture = model.mixture(worker, r);
      const c = model.sample(mixture, rng);
      record.code = (taxonomy.entries[c] as { code: string }).code;
      // The first record's too: the paper's perplexity predicts it (t = 1..T), so the oracle does as well.
      record.trueProbability = model.probabilityOf(mixture, c);
    }
    workers[i] = worker;
  }
  return { panel: { taxonomy: taxonomy.name, workers }, profile, model };
}
