import { describe, expect, it } from 'vitest';
import { topKAccuracy, topKCredit } from '../../src/metrics/accuracy.js';
import { Rng } from '../../src/metrics/rng.js';

/** Rank and ties of `truth` in a distribution, counted plainly. */
function rankOf(dist: number[], truth: number): { rank: number; ties: number } {
  const p = dist[truth]!;
  return { rank: 1 + dist.filter((q) => q > p).length, ties: dist.filter((q) => q === p).length };
}

/** Brute force: the true code's position within its tie group is uniform; count positions inside the top k. */
function bruteCredit(dist: number[], truth: number, k: number): number {
  const p = dist[truth]!;
  const better = dist.filter((q) => q > p).length;
  const ties = dist.filter((q) => q === p).length;
  let hits = 0;
  for (let pos = 0; pos < ties; pos++) if (better + pos < k) hits++;
  return hits / ties;
}

describe('top-k accuracy', () => {
  it('agrees with brute force on random distributions with ties', () => {
    const rng = new Rng(3);
    const cases: { rank: number; ties: number }[] = [];
    const expected1: number[] = [];
    const expected5: number[] = [];
    for (let c = 0; c < 300; c++) {
      // Few distinct values so that ties are common.
      const dist = Array.from({ length: 12 }, () => rng.nextInt(4));
      const truth = rng.nextInt(12);
      cases.push(rankOf(dist, truth));
      expected1.push(bruteCredit(dist, truth, 1));
      expected5.push(bruteCredit(dist, truth, 5));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(topKAccuracy(cases, 1)).toBeCloseTo(mean(expected1), 12);
    expect(topKAccuracy(cases, 5)).toBeCloseTo(mean(expected5), 12);
  });

  it('scores a uniform model k / K and exact ranks without ties as hits or misses', () => {
    expect(topKCredit({ rank: 1, ties: 335 }, 1)).toBeCloseTo(1 / 335, 15);
    expect(topKCredit({ rank: 1, ties: 335 }, 5)).toBeCloseTo(5 / 335, 15);
    expect(topKAccuracy([{ rank: 1 }, { rank: 2 }, { rank: 5 }, { rank: 6 }], 1)).toBe(0.25);
    expect(topKAccuracy([{ rank: 1 }, { rank: 2 }, { rank: 5 }, { rank: 6 }], 5)).toBe(0.75);
  });

  it('rejects bad ranks and k', () => {
    expect(() => topKAccuracy([{ rank: 0 }], 1)).toThrow(/rank/);
    expect(() => topKAccuracy([{ rank: 1 }], 0)).toThrow(/k must/);
  });
});
