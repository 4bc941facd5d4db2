import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { EDUCATION_LEVELS, educationRank } from '../../src/data/panel/education.js';
import type { Worker } from '../../src/data/panel/types.js';
import { panelTransitions, validatePanel } from '../../src/data/panel/validate.js';
import { educationAtAge, getProfile, oraclePerplexity, Prng, PROFILE_NAMES, synthesizePanel, SynthModel } from '../../src/data/synth/index.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';

const taxonomy = loadTaxonomy();
const model = new SynthModel(taxonomy);

describe('full-size profiles', () => {
  it('match the surveys within 5% and use their calendar and birth years', () => {
    for (const name of PROFILE_NAMES) {
      const { panel, profile } = synthesizePanel({ profile: name, seed: 11 });
      expect(panel.workers).toHaveLength(profile.workers);
      const workerYears = panel.workers.reduce((s, w) => s + w.records.length, 0);
      expect(Math.abs(workerYears / profile.workerYears - 1)).toBeLessThan(0.05);
      const rounds = new Set(profile.rounds);
      let minYear = Infinity;
      let maxYear = -Infinity;
      for (const w of panel.workers) {
        expect(w.dataset).toBe(profile.dataset);
        for (const r of w.records) {
          if (!rounds.has(r.year)) throw new Error(`${name}: year ${r.year} is not an interview year`);
          minYear = Math.min(minYear, r.year);
          maxYear = Math.max(maxYear, r.year);
        }
        const by = w.birthYear as number;
        if (profile.birth.kind === 'cohort') {
          if (by < profile.birth.min || by > profile.birth.max) throw new Error(`${name}: birth year ${by}`);
        } else {
          const age = (w.records[0]?.year as number) - by;
          if (age < profile.birth.min || age > profile.birth.max) throw new Error(`${name}: age at entry ${age}`);
        }
      }
      expect(minYear).toBe(profile.rounds[0]);
      expect(maxYear).toBe(profile.rounds[profile.rounds.length - 1]);
    }
  });
});

describe('synthesizePanel', () => {
  const { panel } = synthesizePanel({ profile: 'nlsy79', workers: 300, seed: 3 });

  it('gives a valid panel', () => {
    expect(() => validatePanel(panel, taxonomy)).not.toThrow();
    expect(panel.workers[0]?.id).toBe('NLSY79-00001');
  });

  it('is reproducible byte for byte, seed-dependent, and prefix-stable in the number of workers', () => {
    const again = synthesizePanel({ profile: 'nlsy79', workers: 300, seed: 3 }).panel;
    expect(JSON.stringify(again)).toBe(JSON.stringify(panel));
    expect(JSON.stringify(synthesizePanel({ profile: 'nlsy79', workers: 300, seed: 4 }).panel)).not.toBe(JSON.stringify(panel));
    const small = synthesizePanel({ profile: 'nlsy79', workers: 100, seed: 3 }).panel;
    expect(JSON.stringify(small.workers)).toBe(JSON.stringify(panel.workers.slice(0, 100)));
  });

  it('records the true probability of every observed code, the first record included', () => {
    for (const w of panel.workers) {
      for (let i = 0; i < w.records.length; i++) {
        const p = w.records[i]?.trueProbability as number;
        expect(p).toBeGreaterThan(0);
        // Recomputed from the panel alone (no seed), by the pointwise and by the full-vector path.
        expect(model.probability(w, i)).toBeCloseTo(p, 12);
        expect(model.distribution(w, i)[taxonomy.indexOf(w.records[i]?.code as string)]).toBeCloseTo(p, 12);
      }
    }
  });

  it('gives a true distribution over all codes that sums to 1 for every transition', () => {
    const byId = new Map(panel.workers.map((w) => [w.id, w]));
    const transitions = panelTransitions(panel);
    let worst = 0;
    let negatives = 0;
    for (const t of transitions) {
      const d = model.distribution(byId.get(t.workerId) as Worker, t.index);
      expect(d).toHaveLength(taxonomy.size);
      let sum = 0;
      for (const v of d) {
        if (v < 0) negatives++;
        sum += v;
      }
      worst = Math.max(worst, Math.abs(sum - 1));
    }
    expect(transitions.length).toBeGreaterThan(3000);
    expect(negatives).toBe(0);
    expect(worst).toBeLessThan(1e-12);
  });

  it('progresses education with age, never downwards', () => {
    for (const w of panel.workers) {
      for (let i = 1; i < w.records.length; i++) {
        expect(educationRank(w.records[i]?.education as string)).toBeGreaterThanOrEqual(educationRank(w.records[i - 1]?.education as string));
      }
    }
    expect(educationAtAge(5, 0, 17)).toBe('less than high school');
    expect(educationAtAge(5, 0, 18)).toBe('high school diploma');
    expect(educationAtAge(5, 2, 21)).toBe('some college');
    expect(educationAtAge(5, 2, 24)).toBe('college');
    expect(educationAtAge(5, 2, 26)).toBe('graduate degree');
    expect(educationAtAge(3, 0, 30)).toBe('associate degree');
    expect(educationAtAge(4, 0, 30)).toBe('college');
    expect(EDUCATION_LEVELS).toContain(educationAtAge(1, 3, 60));
  });

  it('rejects bad options', () => {
    expect(() => synthesizePanel({ profile: 'psid68' })).toThrow(/unknown synthetic profile "psid68": valid profiles are psid81, nlsy79, nlsy97/);
    expect(() => synthesizePanel({ profile: 'nlsy79', workers: 0 })).toThrow(InputError);
    expect(() => synthesizePanel({ profile: 'nlsy79', workers: 5, seed: 1.5 })).toThrow(InputError);
    expect(getProfile('NLSY97').dataset).toBe('NLSY97');
  });

  it('works on a taxonomy without special states (soc2018)', () => {
    const soc = loadTaxonomy('soc2018');
    const r = synthesizePanel({ profile: 'nlsy97', workers: 20, seed: 1, taxonomy: soc });
    expect(() => validatePanel(r.panel, soc)).not.toThrow();
    const w = r.panel.workers[0] as Worker;
    expect(r.model.distribution(w, 1).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});

describe('the generating process', () => {
  const base: Worker = {
    id: 'x',
    dataset: 'NLSY79',
    birthYear: 1960,
    gender: 'male',
    ethnicity: 'hispanic',
    region: 'South',
    records: [],
  };
  const rec = (year: number, code: string, education = 'college') => ({ year, code, education });
  const p = (w: Worker, code: string) => model.probability(w, w.records.length - 1, code);

  it('samples exactly from its distribution (sampler against the full vector)', () => {
    const w: Worker = { ...base, records: [rec(1990, '7'), rec(1991, '8'), rec(1992, '9002'), rec(1993, '7')] };
    const mixture = model.mixture(w, 3);
    const d = model.distribution(w, 3);
    const rng = new Prng(99);
    const n = 40_000;
    const counts = new Float64Array(taxonomy.size);
    for (let k = 0; k < n; k++) { const c = model.sample(mixture, rng); counts[c] = (counts[c] as number) + 1; }
    let tv = 0;
    for (let c = 0; c < d.length; c++) tv += Math.abs((counts[c] as number) / n - (d[c] as number));
    expect(tv / 2).toBeLessThan(0.03);
    // The point masses individually, at 5 standard errors.
    for (const c of [taxonomy.indexOf('8'), taxonomy.indexOf('9002'), taxonomy.indexOf('7')]) {
      const q = d[c] as number;
      expect(Math.abs((counts[c] as number) / n - q)).toBeLessThan(5 * Math.sqrt((q * (1 - q)) / n) + 1e-9);
    }
  });

  it('returns to the last job after unemployment: the same last code, different histories', () => {
    const a: Worker = { ...base, records: [rec(1990, '7'), rec(1991, '9002'), rec(1992, '7')] };
    const b: Worker = { ...base, records: [rec(1990, '8'), rec(1991, '9002'), rec(1992, '7')] };
    expect(p(a, '7')).toBeGreaterThan(0.2);
    expect(p(a, '7')).toBeGreaterThan(5 * p(b, '7'));
    expect(p(b, '8')).toBeGreaterThan(5 * p(a, '8'));
  });

  it('revisits earlier jobs beyond the last one', () => {
    const a: Worker = { ...base, records: [rec(1990, '22'), rec(1991, '8'), rec(1992, '7'), rec(1993, '7')] };
    const b: Worker = { ...base, records: [rec(1990, '8'), rec(1991, '8'), rec(1992, '7'), rec(1993, '7')] };
    expect(p(a, '22')).toBeGreaterThan(2 * p(b, '22'));
  });

  it('persists more with tenure and age', () => {
    const short: Worker = { ...base, records: [rec(1990, '8'), rec(1991, '7'), rec(1992, '7')] };
    const long: Worker = { ...base, records: [rec(1987, '7'), rec(1988, '7'), rec(1989, '7'), rec(1990, '7'), rec(1991, '7'), rec(1992, '7')] };
    expect(p(long, '7')).toBeGreaterThan(p(short, '7') + 0.05);
    const young: Worker = { ...base, birthYear: 1970, records: [rec(1990, '7'), rec(1991, '7')] };
    const older: Worker = { ...base, birthYear: 1950, records: [rec(1990, '7'), rec(1991, '7')] };
    expect(p(older, '7')).toBeGreaterThan(p(young, '7'));
  });

  it('moves within the occupation group more than across groups', () => {
    const w: Worker = { ...base, records: [rec(1990, '7'), rec(1991, '7')] };
    const d = model.distribution(w, 1);
    const group = taxonomy.groupOf('7');
    let inGroup = 0;
    let outGroup = 0;
    taxonomy.entries.forEach((e, i) => {
      if (e.code === '7' || e.group === 'Special state') return;
      if (e.group === group) inGroup += d[i] as number;
      else outGroup += d[i] as number;
    });
    const groupSize = taxonomy.entries.filter((e) => e.group === group).length - 1;
    const otherSize = taxonomy.entries.filter((e) => e.group !== group && e.group !== 'Special state').length;
    expect(inGroup / groupSize).toBeGreaterThan(5 * (outGroup / otherSize));
  });

  it('depends on gender, age and education', () => {
    const man: Worker = { ...base, birthYear: 1920, records: [rec(1980, '7'), rec(1981, '7')] };
    const woman: Worker = { ...man, gender: 'female' };
    const young: Worker = { ...man, birthYear: 1950 };
    expect(p(woman, '9003')).toBeGreaterThan(p(man, '9003'));
    expect(p(man, '9003')).toBeGreaterThan(p(young, '9003'));
    const rose: Worker = { ...base, records: [rec(1980, '9001', 'high school diploma'), rec(1981, '9001', 'some college')] };
    const flat: Worker = { ...base, records: [rec(1980, '9001', 'some college'), rec(1981, '9001', 'some college')] };
    expect(p(rose, '9001')).toBeGreaterThan(p(flat, '9001'));
  });

  it('makes history pay: the oracle beats a first-order Markov chain fitted on the same process', () => {
    const { panel, model: m } = synthesizePanel({ profile: 'nlsy79', workers: 3000, seed: 5 });
    const train = panel.workers.slice(0, 2000);
    const test = { ...panel, workers: panel.workers.slice(2000) };
    const counts = new Map<string, Map<string, number>>();
    const totals = new Map<string, number>();
    for (const w of train) {
      for (let i = 1; i < w.records.length; i++) {
        const from = w.records[i - 1]?.code as string;
        const to = w.records[i]?.code as string;
        const row = counts.get(from) ?? new Map<string, number>();
        row.set(to, (row.get(to) ?? 0) + 1);
        counts.set(from, row);
        totals.set(from, (totals.get(from) ?? 0) + 1);
      }
    }
    let ll = 0;
    let k = 0;
    for (const w of test.workers) {
      for (let i = 1; i < w.records.length; i++) {
        const from = w.records[i - 1]?.code as string;
        const n = counts.get(from)?.get(w.records[i]?.code as string) ?? 0;
        ll += Math.log((n + 0.1) / ((totals.get(from) ?? 0) + 0.1 * taxonomy.size));
        k++;
      }
    }
    const markov = Math.exp(-ll / k);
    const oracle = oraclePerplexity(m, test);
    expect(oracle).toBeGreaterThan(1);
    expect(markov).toBeGreaterThan(1.2 * oracle);
  });
});
