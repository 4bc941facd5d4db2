import { describe, expect, it } from 'vitest';
import {
  bootstrapPerplexity,
  comparePair,
  compareModels,
  quantileSorted,
} from '../../src/metrics/bootstrap.js';
import { perplexity } from '../../src/metrics/perplexity.js';
import { Rng } from '../../src/metrics/rng.js';
import type { TransitionResult } from '../../src/metrics/types.js';
import { perturb, randomResults } from '../helpers/metric-fixtures.js';

/** Plain n-1 standard deviation. */
function sd(xs: number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Workers in order of first appearance, and each worker's transitions. */
function groupByWorker(results: readonly TransitionResult[]): { ids: string[]; of: Map<string, TransitionResult[]> } {
  const ids: string[] = [];
  const of = new Map<string, TransitionResult[]>();
  for (const r of results) {
    if (!of.has(r.workerId)) {
      ids.push(r.workerId);
      of.set(r.workerId, []);
    }
    of.get(r.workerId)!.push(r);
  }
  return { ids, of };
}

/** The direct resampling loop: draw n workers, gather their transitions, compute perplexity. */
function directDraws(results: readonly TransitionResult[], B: number, seed: number): number[] {
  const { ids, of } = groupByWorker(results);
  const rng = new Rng(seed);
  const draws: number[] = [];
  for (let b = 0; b < B; b++) {
    const sample: TransitionResult[] = [];
    for (let i = 0; i < ids.length; i++) sample.push(...of.get(ids[rng.nextInt(ids.length)]!)!);
    draws.push(perplexity(sample));
  }
  return draws;
}

describe('worker-level bootstrap', () => {
  const results = randomResults(7, 40, 6);

  it('SE equals a direct resampling loop with the same seed', () => {
    const B = 200;
    const est = bootstrapPerplexity(results, { B, seed: 123 });
    const draws = directDraws(results, B, 123);
    expect(est.estimate).toBeCloseTo(perplexity(results), 10);
    expect(est.se).toBeGreaterThan(0);
    expect(est.se).toBeCloseTo(sd(draws), 10);
    const sorted = [...draws].sort((a, b) => a - b);
    expect(est.ci[0]).toBeCloseTo(quantileSorted(sorted, 0.025), 10);
    expect(est.ci[1]).toBeCloseTo(quantileSorted(sorted, 0.975), 10);
    expect(est.workers).toBe(40);
    expect(est.transitions).toBe(results.length);
  });

  it('is deterministic in the seed and changes with it', () => {
    const a = bootstrapPerplexity(results, { B: 100, seed: 5 });
    const b = bootstrapPerplexity(results, { B: 100, seed: 5 });
    const c = bootstrapPerplexity(results, { B: 100, seed: 6 });
    expect(a).toEqual(b);
    expect(a.se).not.toBe(c.se);
  });

  it('quantiles interpolate between order statistics (type 7)', () => {
    const s = [1, 2, 3, 4, 5];
    expect(quantileSorted(s, 0)).toBe(1);
    expect(quantileSorted(s, 1)).toBe(5);
    expect(quantileSorted(s, 0.5)).toBe(3);
    expect(quantileSorted(s, 0.1)).toBeCloseTo(1.4, 12);
  });

  it('paired differences match a direct loop on the same draws', () => {
    const other = perturb(results, 99);
    const B = 150;
    const cmp = comparePair(results, other, { B, seed: 11 });
    const { ids, of } = groupByWorker(results);
    const otherOf = groupByWorker(other).of;
    const rng = new Rng(11);
    const diffs: number[] = [];
    const logDiffs: number[] = [];
    for (let b = 0; b < B; b++) {
      const sa: TransitionResult[] = [];
      const sb: TransitionResult[] = [];
      for (let i = 0; i < ids.length; i++) {
        const id = ids[rng.nextInt(ids.length)]!;
        sa.push(...of.get(id)!);
        sb.push(...otherOf.get(id)!);
      }
      diffs.push(perplexity(sa) - perplexity(sb));
      logDiffs.push(Math.log(perplexity(sa)) - Math.log(perplexity(sb)));
    }
    expect(cmp.difference.estimate).toBeCloseTo(perplexity(results) - perplexity(other), 10);
    expect(cmp.difference.se).toBeCloseTo(sd(diffs), 10);
    expect(cmp.logDifference.se).toBeCloseTo(sd(logDiffs), 10);
    // Model a's own estimate is the one bootstrapPerplexity gives (same draws).
    expect(cmp.a.se).toBeCloseTo(bootstrapPerplexity(results, { B, seed: 11 }).se, 12);
    // Pairing removes the shared worker noise: the difference is far less noisy than either model.
    expect(cmp.logDifference.se).toBeLessThan(cmp.a.logPerplexity.se);
  });

  it('aligns results given in a different order and rejects different transition sets', () => {
    const other = perturb(results, 3);
    const shuffled = [...other].reverse();
    const x = comparePair(results, other, { B: 50, seed: 1 });
    const y = comparePair(results, shuffled, { B: 50, seed: 1 });
    expect(y.difference.se).toBeCloseTo(x.difference.se, 12);
    expect(() => comparePair(results, other.slice(1), { B: 50 })).toThrow(/not scored on the same transitions/);
    expect(() => comparePair(results.slice(1), other, { B: 50 })).toThrow(/not scored on the same transitions/);
    expect(() => comparePair(results, [...other, other[0]!], { B: 50 })).toThrow(/twice/);
    const changed = other.map((r, i) => (i === 3 ? { ...r, to: 'X' } : r));
    expect(() => comparePair(results, changed, { B: 50 })).toThrow(/differs between models/);
  });

  it('compareModels gives every model and each difference against the reference', () => {
    const m2 = perturb(results, 21);
    const m3 = perturb(results, 22);
    const cmp = compareModels(
      [
        { name: 'llm', results },
        { name: 'empirical', results: m2 },
        { name: 'logit', results: m3 },
      ],
      { B: 80, seed: 4, reference: 'empirical' },
    );
    expect(cmp.models.map((m) => m.name)).toEqual(['llm', 'empirical', 'logit']);
    for (const [i, rs] of [results, m2, m3].entries()) {
      expect(cmp.models[i]!.se).toBeCloseTo(bootstrapPerplexity(rs, { B: 80, seed: 4 }).se, 12);
    }
    expect(cmp.differences.map((d) => d.name)).toEqual(['llm', 'logit']);
    const pair = comparePair(m3, m2, { B: 80, seed: 4 });
    expect(cmp.differences[1]!.difference.se).toBeCloseTo(pair.difference.se, 12);
    expect(() => compareModels([{ name: 'a', results }], { reference: 'zzz' })).toThrow(/reference model/);
  });

  it('uses raw log-probs when asked', () => {
    const est = bootstrapPerplexity(results, { B: 20, variant: 'raw' });
    expect(est.estimate).toBeCloseTo(perplexity(results, 'raw'), 10);
  });
});

describe('Rng', () => {
  it('draws integers in range, roughly uniformly', () => {
    const rng = new Rng(42);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 7000; i++) counts[rng.nextInt(7)]!++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
    for (let i = 0; i < 1000; i++) {
      const f = rng.nextFloat();
      expect(f >= 0 && f < 1).toBe(true);
    }
  });
  it('fillInt gives the same stream as repeated nextInt', () => {
    const a = new Rng(9);
    const b = new Rng(9);
    const out = new Int32Array(1000);
    a.fillInt(13, out);
    expect([...out]).toEqual(Array.from({ length: 1000 }, () => b.nextInt(13)));
    expect(a.nextUint32()).toBe(b.nextUint32());
  });
  it('rejects bad seeds', () => {
    expect(() => new Rng(-1)).toThrow(/seed/);
    expect(() => new Rng(1.5)).toThrow(/seed/);
  });
});
