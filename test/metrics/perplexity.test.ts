import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { perplexity, perplexityOfLogProbs } from '../../src/metrics/perplexity.js';
import type { TransitionResult } from '../../src/metrics/types.js';

function result(workerId: string, index: number, p: number, raw?: number): TransitionResult {
  return {
    workerId,
    index,
    year: 2000 + index,
    from: '1',
    to: '2',
    logProb: Math.log(p),
    ...(raw === undefined ? {} : { rawLogProb: Math.log(raw) }),
    rank: 1,
    topK: [],
  };
}

describe('perplexity', () => {
  it('gives the exact value on a hand-made three-transition example', () => {
    // Normalized probabilities 1/2, 1/4, 1/8: log-probs -ln2, -2 ln2, -3 ln2, mean -2 ln2,
    // so perplexity = exp(2 ln 2) = 4.
    // Raw probabilities 1/4, 1/4, 1/16: log-probs -2 ln2, -2 ln2, -4 ln2, mean -(8/3) ln2,
    // so raw perplexity = 2^(8/3) = 6.3496...
    const rs = [result('a', 1, 1 / 2, 1 / 4), result('a', 2, 1 / 4, 1 / 4), result('b', 1, 1 / 8, 1 / 16)];
    expect(perplexity(rs)).toBeCloseTo(4, 12);
    expect(perplexity(rs, 'raw')).toBeCloseTo(Math.pow(2, 8 / 3), 12);
  });

  it('is the geometric mean of inverse probabilities', () => {
    const ps = [0.3, 0.01, 0.5, 0.9, 0.07];
    const geo = Math.pow(ps.reduce((a, p) => a / p, 1), 1 / ps.length);
    expect(perplexityOfLogProbs(ps.map(Math.log))).toBeCloseTo(geo, 10);
  });

  it('rejects missing raw log-probs, zero probabilities, positive log-probs and empty input', () => {
    expect(() => perplexity([result('a', 1, 0.5)], 'raw')).toThrow(/rawLogProb/);
    expect(() => perplexity([result('a', 1, 0)])).toThrow(/probability 0/);
    expect(() => perplexity([{ ...result('a', 1, 0.5), logProb: 0.5 }])).toThrow(InputError);
    expect(() => perplexity([{ ...result('a', 1, 0.5), logProb: NaN }])).toThrow(/not a number/);
    expect(() => perplexity([])).toThrow(/empty/);
  });
});
