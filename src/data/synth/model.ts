/**
 * The generating process of synthetic panels, with exact conditional probabilities.
 *
 * A record's code is drawn from a mixture whose weights depend only on what a model can see in the
 * prediction prompt: the worker's traits (gender, birth year), every earlier record, and the year and
 * education of the record being predicted. Nothing latent enters, so mixture() IS the true conditional
 * distribution of the next code given the prompt, and its probabilities give the oracle perplexity.
 *
 * The mixture rewards models that read the whole history, not only the last job:
 *   stay      keep the last code; for jobs the weight grows with tenure (run length of the last code)
 *             and with age, and shrinks over a two-year gap between interviews
 *   return    after unemployment, education or leaving the labor force, go back to the LAST JOB held,
 *             which a first-order (last-code) model cannot see
 *   revisit   go back to any other earlier job (uniform over distinct earlier jobs)
 *   group     move to another occupation of the last job's major group (popularity-weighted)
 *   education "In education", likely when education rose this year and for the young
 *   unemployed, not in labor force (more likely for women and with age past 55)
 *   market    a fresh draw from the labor market for this year's education level and the worker's gender
 *             (occupations' skill level matched to education, gender shares by group, code popularity)
 * The special states are found by code (occ1990dd 9001, 9002, 9003) or by title; a taxonomy without
 * them (soc2018) simply gives those parts weight 0.
 *
 * On panels that are not synthetic, a missing birth year counts as age 35 and an education outside the
 * list as the lowest level, so the oracle stays defined.
 *
 * The model's parameters depend on the taxonomy only, never on the seed or the profile, so the true
 * distribution of any transition of a saved synthetic panel can be recomputed from the panel alone.
 */
import { InputError, StateError } from '../../errors.js';
import { educationRank } from '../panel/education.js';
import type { Panel, Worker } from '../panel/types.js';
import { panelTransitions } from '../panel/validate.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';
import { hashUnit, type Prng } from './prng.js';

/** One part of a mixture over taxonomy indices. Weights of a Mixture's parts sum to 1. */
export type MixturePart =
  | { kind: 'point'; weight: number; code: number }
  | { kind: 'uniform'; weight: number; codes: readonly number[] }
  | { kind: 'group'; weight: number; group: number; exclude: number }
  | { kind: 'market'; weight: number; table: number };

export interface Mixture {
  parts: MixturePart[];
}

/** Skill level (on the 0-5 education scale) of the major groups of occ1990dd and SOC 2018. */
const GROUP_SKILL: Record<string, number> = {
  Management: 4.3,
  Professional: 4.6,
  Technicians: 3.2,
  Sales: 2.2,
  'Administrative support': 2.0,
  Service: 1.0,
  'Protective service': 2.0,
  'Farming, forestry, and fishing': 0.5,
  'Mechanics and repairers': 1.5,
  Construction: 1.0,
  Extractive: 1.0,
  'Precision production': 1.4,
  'Machine operators and assemblers': 0.6,
  'Transportation and material moving': 0.8,
  'Handlers and laborers': 0.3,
  Military: 1.4,
  'Business and Financial Operations': 4.0,
  'Computer and Mathematical': 4.4,
  'Architecture and Engineering': 4.4,
  'Life, Physical, and Social Science': 4.8,
  'Community and Social Service': 4.0,
  Legal: 4.8,
  'Educational Instruction and Library': 4.4,
  'Arts, Design, Entertainment, Sports, and Media': 3.4,
  'Healthcare Practitioners and Technical': 4.4,
  'Healthcare Support': 1.5,
  'Protective Service': 2.0,
  'Food Preparation and Serving Related': 0.5,
  'Building and Grounds Cleaning and Maintenance': 0.3,
  'Personal Care and Service': 1.0,
  'Sales and Related': 2.2,
  'Office and Administrative Support': 2.0,
  'Farming, Fishing, and Forestry': 0.5,
  'Construction and Extraction': 1.0,
  'Installation, Maintenance, and Repair': 1.5,
  Production: 0.8,
  'Transportation and Material Moving': 0.8,
  'Military Specific': 1.4,
};

/** Share of women in each major group (stylised). */
const GROUP_FEMALE_SHARE: Record<string, number> = {
  Management: 0.4,
  Professional: 0.55,
  Technicians: 0.5,
  Sales: 0.5,
  'Administrative support': 0.78,
  Service: 0.62,
  'Protective service': 0.15,
  'Farming, forestry, and fishing': 0.15,
  'Mechanics and repairers': 0.04,
  Construction: 0.03,
  Extractive: 0.03,
  'Precision production': 0.2,
  'Machine operators and assemblers': 0.35,
  'Transportation and material moving': 0.1,
  'Handlers and laborers': 0.2,
  Military: 0.12,
  'Office and Administrative Support': 0.75,
  'Healthcare Support': 0.85,
  'Healthcare Practitioners and Technical': 0.75,
  'Personal Care and Service': 0.75,
  'Educational Instruction and Library': 0.72,
  'Construction and Extraction': 0.04,
  'Installation, Maintenance, and Repair': 0.04,
  'Architecture and Engineering': 0.15,
  'Computer and Mathematical': 0.25,
  'Military Specific': 0.12,
};

const MIN_PROB_GUARD = 1e-300;

export class SynthModel {
  readonly taxonomy: Taxonomy;
  /** Taxonomy indices of the special states, -1 where the taxonomy lacks one. */
  readonly inEducation: number;
  readonly unemployed: number;
  readonly notInLaborForce: number;
  private readonly isJob: Uint8Array;
  private readonly groupOf: Int32Array;
  private readonly groupMembers: Int32Array[] = [];
  private readonly groupCdf: Float64Array[] = [];
  private readonly popularity: Float64Array;
  /** market[eduRank * 2 + (female ? 1 : 0)]: probabilities over taxonomy indices, and their CDF. */
  private readonly market: Float64Array[] = [];
  private readonly marketCdf: Float64Array[] = [];

  constructor(taxonomy: Taxonomy) {
    this.taxonomy = taxonomy;
    const n = taxonomy.size;
    const special = (code: string, title: string): number => {
      const byCode = taxonomy.indexOf(code);
      if (byCode >= 0 && taxonomy.entries[byCode]?.group === 'Special state') return byCode;
      return taxonomy.entries.findIndex((e) => e.title.toLowerCase() === title.toLowerCase());
    };
    this.inEducation = special('9001', 'In education');
    this.unemployed = special('9002', 'Unemployed');
    this.notInLaborForce = special('9003', 'Not in labor force');
    this.isJob = new Uint8Array(n).fill(1);
    for (const s of [this.inEducation, this.unemployed, this.notInLaborForce]) if (s >= 0) this.isJob[s] = 0;

    // Popularity: a fixed, code-dependent weight in [1, e^2.5] so some occupations are common, some rare.
    this.popularity = new Float64Array(n);
    const groupIndex = new Map<string, number>();
    this.groupOf = new Int32Array(n).fill(-1);
    const members: number[][] = [];
    const skill = new Float64Array(n);
    const femaleShare = new Float64Array(n);
    taxonomy.entries.forEach((e, i) => {
      this.popularity[i] = Math.exp(2.5 * hashUnit(e.code, 1));
      if (!this.isJob[i]) return;
      let g = groupIndex.get(e.group);
      if (g === undefined) {
        g = members.length;
        groupIndex.set(e.group, g);
        members.push([]);
      }
      this.groupOf[i] = g;
      members[g]?.push(i);
      const base = GROUP_SKILL[e.group] ?? 1 + 3 * hashUnit(e.group, 2);
      skill[i] = base + (hashUnit(e.code, 3) - 0.5);
      femaleShare[i] = GROUP_FEMALE_SHARE[e.group] ?? 0.5;
    });
    for (const list of members) {
      const idx = Int32Array.from(list);
      const cdf = new Float64Array(idx.length);
      let acc = 0;
      idx.forEach((j, k) => {
        acc += this.popularity[j] as number;
        cdf[k] = acc;
      });
      this.groupMembers.push(idx);
      this.groupCdf.push(cdf);
    }
    for (let edu = 0; edu < 6; edu++) {
      for (const female of [false, true]) {
        const p = new Float64Array(n);
        let total = 0;
        for (let j = 0; j < n; j++) {
          if (!this.isJob[j]) continue;
          const d = (skill[j] as number) - edu;
          // Workers mostly take jobs at or a little below their education's skill level.
          const fit = Math.exp(-(d * d) / (2 * 1.1 * 1.1)) + 0.02;
          const share = female ? (femaleShare[j] as number) : 1 - (femaleShare[j] as number);
          p[j] = (this.popularity[j] as number) * fit * (0.05 + share);
          total += p[j] as number;
        }
        const cdf = new Float64Array(n);
        let acc = 0;
        for (let j = 0; j < n; j++) {
          p[j] = (p[j] as number) / total;
          acc += p[j] as number;
          cdf[j] = acc;
        }
        this.market.push(p);
        this.marketCdf.push(cdf);
      }
    }
  }

  /** The taxonomy index of record `index`'s code; InputError for a code outside the taxonomy. */
  private codeIndex(worker: Worker, index: number): number {
    const code = (worker.records[index] as { code: string }).code;
    const i = this.taxonomy.indexOf(code);
    if (i < 0) throw new InputError(`worker "${worker.id}": code "${code}" is not in taxonomy "${this.taxonomy.name}"`);
    return i;
  }

  /**
   * The true distribution of records[index].code given the worker's traits, records[0..index-1] and
   * records[index].year and .education. Index 0 gives the distribution of the first record.
   */
  mixture(worker: Worker, index: number): Mixture {
    if (!Number.isInteger(index) || index < 0 || index >= worker.records.length) {
      throw new StateError(`worker "${worker.id}" has no record ${index}`);
    }
    const rec = worker.records[index] as { year: number; education: string };
    const age = worker.birthYear === null ? 35 : rec.year - worker.birthYear;
    const female = worker.gender === 'female';
    const edu = Math.max(0, educationRank(rec.education));
    const table = edu * 2 + (female ? 1 : 0);
    const parts: MixturePart[] = [];
    const add = (part: MixturePart): void => {
      if (part.weight > 0) parts.push(part);
    };
    const point = (code: number, weight: number): void => {
      if (code >= 0) add({ kind: 'point', code, weight });
    };
    const nilfWeight = (base: number): number => base + (female ? 0.1 : 0) + (age > 55 ? 0.08 * (age - 55) : 0);

    if (index === 0) {
      point(this.inEducation, age < 20 ? 3 : age < 24 ? 1 : 0.05);
      point(this.unemployed, 0.3);
      point(this.notInLaborForce, nilfWeight(0.2));
      add({ kind: 'market', weight: 3, table });
      return normalise(parts);
    }

    const prev = worker.records[index - 1] as { year: number; education: string };
    const eduRose = edu > educationRank(prev.education);
    const gap = rec.year - prev.year;
    const last = this.codeIndex(worker, index - 1);
    let tenure = 1;
    while (index - 1 - tenure >= 0 && this.codeIndex(worker, index - 1 - tenure) === last) tenure++;
    let lastJob = -1;
    const earlierJobs: number[] = [];
    for (let r = index - 1; r >= 0; r--) {
      const c = this.codeIndex(worker, r);
      if (!this.isJob[c]) continue;
      if (lastJob < 0) lastJob = c;
      if (c !== last && c !== lastJob && !earlierJobs.includes(c)) earlierJobs.push(c);
    }
    earlierJobs.sort((a, b) => a - b);

    // stay
    if (this.isJob[last]) {
      const tenureBoost = 0.6 + 0.4 * (1 - Math.exp(-(tenure - 1) / 2));
      const ageFactor = age < 25 ? 0.6 : age < 35 ? 0.85 : 1;
      point(last, 7 * tenureBoost * ageFactor * (gap >= 2 ? 0.75 : 1));
    } else if (last === this.unemployed) {
      point(last, 0.8);
    } else if (last === this.notInLaborForce) {
      point(last, 2.5 + (age > 55 ? 3 : 0) + (female ? 0.8 : 0));
    } else {
      point(last, eduRose ? 3 : age < 22 ? 2 : 0.6);
    }
    // return to the last job after a spell outside work
    if (!this.isJob[last] && lastJob >= 0) {
      point(lastJob, last === this.unemployed ? 2 : last === this.notInLaborForce ? 0.6 : 0.8);
    }
    // revisit an earlier job
    if (earlierJobs.length > 0) add({ kind: 'uniform', weight: 0.35, codes: earlierJobs });
    // move within the last job's group
    if (lastJob >= 0) {
      const g = this.groupOf[lastJob] as number;
      if ((this.groupMembers[g] as Int32Array).length > 1) add({ kind: 'group', weight: 0.5, group: g, exclude: lastJob });
    }
    point(this.inEducation, 0.05 + (eduRose ? 3 : 0) + (age < 21 ? 0.6 : age < 25 ? 0.2 : 0));
    point(this.unemployed, 0.15 + (edu <= 1 ? 0.1 : 0) + (last === this.inEducation ? 0.3 : 0));
    point(this.notInLaborForce, nilfWeight(0.08));
    add({ kind: 'market', weight: 0.6 + (this.isJob[last] ? 0 : 1) + (eduRose ? 0.8 : 0), table });
    return normalise(parts);
  }

  /** The probability of one part of the mixture putting mass on taxonomy index `c`. */
  private partProbability(part: MixturePart, c: number): number {
    switch (part.kind) {
      case 'point':
        return part.code === c ? 1 : 0;
      case 'uniform':
        return part.codes.includes(c) ? 1 / part.codes.length : 0;
      case 'group': {
        if (c === part.exclude || this.groupOf[c] !== part.group) return 0;
        const cdf = this.groupCdf[part.group] as Float64Array;
        const total = (cdf[cdf.length - 1] as number) - (this.popularity[part.exclude] as number);
        return (this.popularity[c] as number) / total;
      }
      case 'market':
        return (this.market[part.table] as Float64Array)[c] as number;
    }
  }

  /** P(code | prompt) under the mixture; code defaults to the record's own (the observed next code). */
  probability(worker: Worker, index: number, code?: string): number {
    const c = code === undefined ? this.codeIndex(worker, index) : this.taxonomy.indexOf(code);
    if (c < 0) return 0;
    return this.probabilityOf(this.mixture(worker, index), c);
  }

  /** Probability of taxonomy index `c` under a mixture. */
  probabilityOf(mixture: Mixture, c: number): number {
    let p = 0;
    for (const part of mixture.parts) p += part.weight * this.partProbability(part, c);
    return p;
  }

  /** The full true distribution over the taxonomy (in taxonomy order) for records[index]. Sums to 1. */
  distribution(worker: Worker, index: number): Float64Array {
    const out = new Float64Array(this.taxonomy.size);
    for (const part of this.mixture(worker, index).parts) {
      switch (part.kind) {
        case 'point':
          out[part.code] = (out[part.code] as number) + part.weight;
          break;
        case 'uniform':
          for (const c of part.codes) out[c] = (out[c] as number) + part.weight / part.codes.length;
          break;
        case 'group':
          for (const c of this.groupMembers[part.group] as Int32Array) {
            out[c] = (out[c] as number) + part.weight * this.partProbability(part, c);
          }
          break;
        case 'market': {
          const m = this.market[part.table] as Float64Array;
          for (let c = 0; c < m.length; c++) out[c] = (out[c] as number) + part.weight * (m[c] as number);
          break;
        }
      }
    }
    return out;
  }

  /** Draws a taxonomy index from a mixture. */
  sample(mixture: Mixture, rng: Prng): number {
    const part = mixture.parts[rng.pick(mixture.parts.map((p) => p.weight))] as MixturePart;
    switch (part.kind) {
      case 'point':
        return part.code;
      case 'uniform':
        return part.codes[rng.int(part.codes.length)] as number;
      case 'group': {
        const members = this.groupMembers[part.group] as Int32Array;
        const cdf = this.groupCdf[part.group] as Float64Array;
        // Rejection of the excluded code draws exactly from the group renormalised without it.
        for (;;) {
          const c = members[searchCdf(cdf, rng.next() * (cdf[cdf.length - 1] as number))] as number;
          if (c !== part.exclude) return c;
        }
      }
      case 'market': {
        const cdf = this.marketCdf[part.table] as Float64Array;
        let c = searchCdf(cdf, rng.next() * (cdf[cdf.length - 1] as number));
        while ((this.market[part.table] as Float64Array)[c] === 0) c++; // never land on a zero-mass code
        return c;
      }
    }
  }

  /**
   * The oracle: log P(true next code) for every transition of a panel, in panelTransitions() order.
   * Its mean's negative, exponentiated, is the oracle perplexity.
   */
  transitionLogProbabilities(panel: Panel): Float64Array {
    const transitions = panelTransitions(panel);
    const byId = new Map(panel.workers.map((w) => [w.id, w]));
    const out = new Float64Array(transitions.length);
    transitions.forEach((t, k) => {
      out[k] = Math.log(Math.max(MIN_PROB_GUARD, this.probability(byId.get(t.workerId) as Worker, t.index)));
    });
    return out;
  }
}

function normalise(parts: MixturePart[]): Mixture {
  let total = 0;
  for (const p of parts) total += p.weight;
  return { parts: parts.map((p) => ({ ...p, weight: p.weight / total })) };
}

/** First index whose CDF value exceeds u (binary search). */
function searchCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cdf[mid] as number) > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Oracle perplexity of a synthetic panel: exp(-mean log P(true next code)). */
export function oraclePerplexity(model: SynthModel, panel: Panel): number {
  const lp = model.transitionLogProbabilities(panel);
  if (lp.length === 0) throw new InputError('the panel has no transitions');
  let sum = 0;
  for (const v of lp) sum += v;
  return Math.exp(-sum / lp.length);
}
