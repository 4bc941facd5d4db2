import { describe, expect, it } from 'vitest';
import { EmpiricalTransitionModel, LogitFeatures, MultinomialLogitModel, FEATURE_SLOTS } from '../../src/baselines/index.js';
import { Rng } from '../../src/metrics/rng.js';
import type { Panel, Worker } from '../../src/data/panel/types.js';
import { Taxonomy } from '../../src/data/taxonomy/taxonomy.js';

const tiny = new Taxonomy('tiny', [
  { code: 'A', title: 'Alpha', group: 'g' },
  { code: 'B', title: 'Beta', group: 'g' },
  { code: 'C', title: 'Gamma', group: 'g' },
]);

function worker(id: string, codes: string[], opts: Partial<Worker> = {}, firstYear = 2000): Worker {
  return {
    id,
    dataset: 'T',
    birthYear: 1970,
    gender: 'female',
    ethnicity: 'x',
    region: 'South',
    records: codes.map((code, i) => ({ year: firstYear + i, code, education: 'college' })),
    ...opts,
  };
}

describe('empirical transition model', () => {
  it('matches the smoothed estimator computed by hand', () => {
    // Transitions A->A, A->B, A->A, B->A: c(A,A)=2, c(A,B)=1, c(B,A)=1; N=4; n(A)=3, n(B)=1, n(C)=0; K=3.
    // alpha=2, beta=1: m = (4/7, 2/7, 1/7).
    // P(.|A) = (c(A,.) + 2 m) / (3 + 2) = ((2 + 8/7), (1 + 4/7), 2/7) / 5 = (22/35, 11/35, 2/35).
    // P(.|C): C never a previous code, so the marginal m.
    const train: Panel = { taxonomy: 'tiny', workers: [worker('1', ['A', 'A', 'B']), worker('2', ['A', 'A']), worker('3', ['B', 'A'])] };
    const m = new EmpiricalTransitionModel(tiny, { alpha: 2, beta: 1 });
    m.fit(train);
    const dA = m.distribution(worker('x', ['A', 'B']), 1);
    expect([...dA].map((p) => p * 35)).toEqual([22, 11, 2].map((v) => expect.closeTo(v, 10)));
    const dC = m.distribution(worker('y', ['C', 'A']), 1);
    expect([...dC].map((p) => p * 7)).toEqual([4, 2, 1].map((v) => expect.closeTo(v, 10)));
  });

  it('tunes alpha and beta to the grid point with the best validation likelihood', () => {
    const rng = new Rng(8);
    const gen = (n: number, prefix: string): Panel => ({
      taxonomy: 'tiny',
      workers: Array.from({ length: n }, (_, i) => {
        const codes: string[] = ['A'];
        for (let t = 0; t < 6; t++) codes.push(rng.nextFloat() < 0.6 ? codes[t]! : 'ABC'[rng.nextInt(3)]!);
        return worker(`${prefix}${i}`, codes);
      }),
    });
    const train = gen(15, 't');
    const valid = gen(40, 'v');
    const alphaGrid = [0.1, 1, 10, 100];
    const betaGrid = [0.1, 1, 10];
    const tuned = new EmpiricalTransitionModel(tiny, { alphaGrid, betaGrid });
    const report = tuned.fit(train, valid);
    const validLogLik = (m: EmpiricalTransitionModel) => {
      let s = 0;
      for (const w of valid.workers) {
        for (let i = 1; i < w.records.length; i++) s += Math.log(m.distribution(w, i)[tiny.indexOf(w.records[i]!.code)]!);
      }
      return s;
    };
    let best = -Infinity;
    for (const alpha of alphaGrid) {
      for (const beta of betaGrid) {
        const m = new EmpiricalTransitionModel(tiny, { alpha, beta });
        m.fit(train);
        best = Math.max(best, validLogLik(m));
      }
    }
    expect(validLogLik(tuned)).toBeCloseTo(best, 9);
    expect(alphaGrid).toContain(report.details.alpha);
    expect(report.transitions).toBe(15 * 6);
  });
});

describe('multinomial logit', () => {
  it('encodes the CAREER covariates of a transition', () => {
    const w = worker('f', ['A', 'B', 'B', 'B', 'C'], { birthYear: 1960 }, 1990);
    const train: Panel = { taxonomy: 'tiny', workers: [w, worker('m', ['A', 'C'], { gender: 'male', region: 'West' }, 1985)] };
    const f = new LogitFeatures(tiny, train);
    const out = new Int32Array(FEATURE_SLOTS);
    f.encode(w, 4, out, 0); // predicting 1994 from A(1990) B(1991) B(1992) B(1993)
    const off = Object.fromEntries(f.groups.map((g) => [g.name, g.offset]));
    expect([...out]).toEqual([
      off.intercept,
      off.previous! + 1, // B
      off.previous2! + 1, // B
      off.tenure! + 2, // B held 1991-1993: 3 years, bucket "3"
      off.totalYears! + 3, // 1990-1993: 4 years
      off.year! + (1994 - 1986), // training years of predicted records span 1986..1994
      off.education! + 4, // college
      off.gender! + 0, // female (sorted vocabulary: female, male)
      off.ethnicity! + 0,
      off.region! + 0, // South
      off.age! + 3, // 34 years old in 1994: band 30-34, the 4th (lower bounds 0, 20, 25, 30, ...)
    ]);
    // The first transition has no code before the previous one ("none" is the last previous2 slot).
    f.encode(w, 1, out, 0);
    expect(out[2]).toBe(off.previous2! + tiny.size);
    // An unseen category gets no feature.
    f.encode(worker('u', ['A', 'B'], { gender: 'other' }), 1, out, 0);
    expect(out[7]).toBe(-1);
  });

  it('learns an effect of a covariate the empirical model cannot see', () => {
    // The next code depends on the predicted year's education only (drawn afresh each year, so the previous
    // code says nothing about it): college -> A, otherwise B, each with probability 0.9, else C.
    const rng = new Rng(5);
    const gen = (n: number, prefix: string): Panel => ({
      taxonomy: 'tiny',
      workers: Array.from({ length: n }, (_, i) => {
        const w = worker(`${prefix}${i}`, Array.from({ length: 6 }, () => 'A'));
        for (const r of w.records) {
          r.education = rng.nextFloat() < 0.5 ? 'college' : 'high school diploma';
          r.code = rng.nextFloat() < 0.9 ? (r.education === 'college' ? 'A' : 'B') : 'C';
        }
        return w;
      }),
    });
    const train = gen(300, 't');
    const valid = gen(60, 'v');
    const test = gen(100, 's');
    const logit = new MultinomialLogitModel(tiny, { epochs: 5, learningRate: 0.05, batchSize: 32 });
    const report = logit.fit(train, valid);
    const emp = new EmpiricalTransitionModel(tiny);
    emp.fit(train, valid);
    const nll = (m: { distribution: (w: Worker, i: number) => Float64Array }) => {
      let s = 0;
      let n = 0;
      for (const w of test.workers) {
        for (let i = 1; i < w.records.length; i++, n++) s -= Math.log(m.distribution(w, i)[tiny.indexOf(w.records[i]!.code)]!);
      }
      return s / n;
    };
    // The truth's cross-entropy is -(0.9 ln 0.9 + 0.1 ln 0.1) = 0.325 nats; without education it is
    // -(0.45 ln 0.45 * 2 + 0.1 ln 0.1) = 0.95 nats.
    expect(nll(logit)).toBeLessThan(0.4);
    expect(nll(emp)).toBeGreaterThan(0.85);
    expect(report.details.bestEpoch).toBeGreaterThan(0);
  });

  it('with an l2 grid keeps the penalty with the best validation perplexity', () => {
    const rng = new Rng(6);
    const gen = (n: number, prefix: string): Panel => ({
      taxonomy: 'tiny',
      workers: Array.from({ length: n }, (_, i) => worker(`${prefix}${i}`, Array.from({ length: 5 }, () => 'ABC'[rng.nextInt(3)]!))),
    });
    const train = gen(40, 't');
    const valid = gen(40, 'v');
    const report = new MultinomialLogitModel(tiny, { l2Grid: [1e-6, 1e-2], epochs: 2 }).fit(train, valid);
    const tried = String(report.details.l2Tried).split(' ').map((s) => s.split(':').map(Number) as [number, number]);
    expect(tried).toHaveLength(2);
    const best = tried.reduce((a, b) => (b[1] < a[1] ? b : a));
    expect(report.details.l2).toBe(best[0]);
  });
});
