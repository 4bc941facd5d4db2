import { describe, expect, it } from 'vitest';
import { bootstrapPerplexity } from '../../src/metrics/bootstrap.js';
import { ageBand, pastJobs, subgroupTable } from '../../src/metrics/subgroups.js';
import type { TransitionResult } from '../../src/metrics/types.js';
import type { Panel, Worker } from '../../src/data/panel/types.js';

function worker(id: string, gender: string, birthYear: number | null, codes: string[]): Worker {
  return {
    id,
    dataset: id.startsWith('n') ? 'NLSY79' : 'PSID81',
    birthYear,
    gender,
    ethnicity: 'x',
    region: 'South',
    records: codes.map((code, i) => ({ year: 1990 + i, code, education: 'high school' })),
  };
}

const panel: Panel = {
  taxonomy: 'occ1990dd',
  workers: [
    worker('p1', 'male', 1960, ['10', '10', '20', '9002', '20', '30']),
    worker('p2', 'female', 1970, ['9001', '9001', '10', '10']),
    worker('n1', 'female', null, ['30', '40', '30']),
  ],
};

function resultsFor(p: Panel): TransitionResult[] {
  const out: TransitionResult[] = [];
  let k = 0;
  for (const w of p.workers) {
    for (let i = 1; i < w.records.length; i++) {
      k++;
      out.push({
        workerId: w.id,
        index: i,
        year: w.records[i]!.year,
        from: w.records[i - 1]!.code,
        to: w.records[i]!.code,
        logProb: -0.3 * k,
        rank: 1,
        topK: [],
      });
    }
  }
  return out;
}

describe('subgroups', () => {
  it('counts past jobs as runs of an occupation, out-of-work spells excluded', () => {
    const p1 = panel.workers[0]!;
    expect([0, 1, 2, 3, 4, 5].map((i) => pastJobs(p1, i))).toEqual([0, 1, 1, 2, 2, 3]);
    const p2 = panel.workers[1]!;
    expect([1, 2, 3].map((i) => pastJobs(p2, i))).toEqual([0, 0, 1]);
  });

  it('bands ages at the edges', () => {
    const e = [25, 35, 45, 55];
    expect([18, 25, 34, 35, 54, 55, 80].map((a) => ageBand(a, e))).toEqual(['<25', '25-34', '25-34', '35-44', '45-54', '55+', '55+']);
  });

  it('tables partition the transitions and each row is the bootstrap of its group', () => {
    const rs = resultsFor(panel);
    for (const dim of ['dataset', 'gender', 'ageBand', 'pastJobs'] as const) {
      const rows = subgroupTable(rs, panel, dim, { B: 30, seed: 2 });
      expect(rows.reduce((a, r) => a + r.transitions, 0)).toBe(rs.length);
    }
    const byGender = subgroupTable(rs, panel, 'gender', { B: 30, seed: 2 });
    expect(byGender.map((r) => r.group)).toEqual(['female', 'male']);
    const female = rs.filter((r) => r.workerId !== 'p1');
    expect(byGender[0]!.estimate).toBeCloseTo(bootstrapPerplexity(female).estimate, 12);
    expect(byGender[0]!.se).toBeCloseTo(bootstrapPerplexity(female, { B: 30, seed: 2 }).se, 12);
    const ages = subgroupTable(rs, panel, 'ageBand', { B: 30 });
    // p1 is 31..35 in 1991..1995 and p2 21..23 in 1991..1993; n1 has no birth year.
    expect(ages.map((r) => [r.group, r.transitions])).toEqual([
      ['<25', 3],
      ['25-34', 4],
      ['35-44', 1],
      ['unknown', 2],
    ]);
    expect(() => subgroupTable([{ ...rs[0]!, workerId: 'zz' }], panel, 'gender')).toThrow(/no such worker/);
  });
});
