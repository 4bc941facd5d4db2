import { describe, expect, it } from 'vitest';
import {
  auc,
  binaryTaskData,
  binaryTaskReport,
  brierScore,
  calibrationBins,
  eventProbabilities,
  OCC1990DD_NOT_WORKING,
  logLoss,
} from '../../src/metrics/binary.js';
import { Rng } from '../../src/metrics/rng.js';
import type { TransitionResult } from '../../src/metrics/types.js';

/** O(n^2) AUC: fraction of (positive, negative) pairs ordered correctly, ties count one half. */
function pairAuc(y: number[], p: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    if (!y[i]) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j]) continue;
      den++;
      num += p[i]! > p[j]! ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return num / den;
}

function randomBinary(seed: number, n: number, levels: number): { y: number[]; p: number[] } {
  const rng = new Rng(seed);
  const p = Array.from({ length: n }, () => rng.nextInt(levels + 1) / levels);
  const y = p.map((q) => (rng.nextFloat() < 0.2 + 0.6 * q ? 1 : 0));
  return { y, p };
}

describe('binary metrics', () => {
  it('AUC equals the O(n^2) pair count, with and without ties', () => {
    for (const [seed, levels] of [
      [1, 3],
      [2, 10],
      [3, 1000000],
    ] as const) {
      const { y, p } = randomBinary(seed, 250, levels);
      expect(auc(y, p)).toBeCloseTo(pairAuc(y, p), 12);
    }
    expect(auc([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.2])).toBe(1);
    expect(auc([1, 0], [0.5, 0.5])).toBe(0.5);
    expect(auc([1, 1], [0.5, 0.7])).toBeNaN();
  });

  it('log-loss and Brier score on a hand example', () => {
    // y = 1, 0, 1 with p = 0.8, 0.4, 0.5:
    // log-loss = -(ln 0.8 + ln 0.6 + ln 0.5) / 3; Brier = (0.04 + 0.16 + 0.25) / 3 = 0.15.
    expect(logLoss([1, 0, 1], [0.8, 0.4, 0.5])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6) + Math.log(0.5)) / 3, 12);
    expect(brierScore([1, 0, 1], [0.8, 0.4, 0.5])).toBeCloseTo(0.15, 12);
    expect(Number.isFinite(logLoss([1], [0]))).toBe(true); // clipped, not infinite
  });

  it('equal-width bins agree with a plain assignment; equal-count bins partition the sorted data', () => {
    const { y, p } = randomBinary(9, 503, 37);
    const bins = calibrationBins(y, p, 10, 'equalWidth');
    expect(bins).toHaveLength(10);
    for (let j = 0; j < 10; j++) {
      const idx = p.map((q, i) => i).filter((i) => (j === 9 ? p[i]! >= 0.9 : p[i]! >= j / 10 && p[i]! < (j + 1) / 10));
      expect(bins[j]!.count).toBe(idx.length);
      if (idx.length) {
        expect(bins[j]!.meanPredicted).toBeCloseTo(idx.reduce((a, i) => a + p[i]!, 0) / idx.length, 12);
        expect(bins[j]!.observedRate).toBeCloseTo(idx.reduce((a, i) => a + y[i]!, 0) / idx.length, 12);
      }
    }
    const eq = calibrationBins(y, p, 7, 'equalCount');
    expect(eq).toHaveLength(7);
    expect(eq.reduce((a, b) => a + b.count, 0)).toBe(503);
    for (const b of eq) expect([71, 72]).toContain(b.count);
    for (let j = 1; j < eq.length; j++) expect(eq[j]!.lo).toBeGreaterThanOrEqual(eq[j - 1]!.hi);
    const weighted = eq.reduce((a, b) => a + b.count * b.observedRate!, 0) / 503;
    expect(weighted).toBeCloseTo(y.reduce((a, b) => a + b, 0) / 503, 12);
  });

  it('event probabilities sum the distribution over the event codes', () => {
    const codes = ['10', '20', '905', '9001', '9002', '9003'];
    const dist = [0.1, 0.2, 0.05, 0.15, 0.3, 0.2];
    const e = eventProbabilities(codes, dist, '20');
    expect(e.pSame).toBeCloseTo(0.2, 12);
    // Official definition: 10, 20, military 905 and the unemployed 9002 are in the labor force.
    expect(e.pLaborForce).toBeCloseTo(0.65, 12);
    // Definition "employed": the unemployed are out too.
    expect(eventProbabilities(codes, dist, '20', OCC1990DD_NOT_WORKING).pLaborForce).toBeCloseTo(0.35, 12);
    expect(eventProbabilities(codes, dist, '9002').pSame).toBeCloseTo(0.3, 12);
    expect(() => eventProbabilities(codes, dist.slice(1), '20')).toThrow(/entries/);
  });

  it('builds task outcomes from transitions and restricts to previously-working workers on request', () => {
    const base = { workerId: 'w', year: 2000, logProb: -1, rank: 1, topK: [] };
    const rs: TransitionResult[] = [
      { ...base, index: 1, from: '10', to: '10', pSame: 0.7, pLaborForce: 0.9 },
      { ...base, index: 2, from: '10', to: '9002', pSame: 0.6, pLaborForce: 0.8 },
      { ...base, index: 3, from: '9002', to: '20', pSame: 0.5, pLaborForce: 0.4 },
    ];
    expect([...binaryTaskData(rs, 'sameOccupation').y]).toEqual([1, 0, 0]);
    // Officially the unemployed (9002) are in the labor force; by "employed" they are not.
    expect([...binaryTaskData(rs, 'laborForce').y]).toEqual([1, 1, 1]);
    expect([...binaryTaskData(rs, 'laborForce', { among: 'previousInLaborForce' }).p]).toEqual([0.9, 0.8, 0.4]);
    expect([...binaryTaskData(rs, 'laborForce', { notInLaborForce: OCC1990DD_NOT_WORKING }).y]).toEqual([1, 0, 1]);
    expect([...binaryTaskData(rs, 'laborForce', { among: 'previousInLaborForce', notInLaborForce: OCC1990DD_NOT_WORKING }).p]).toEqual([0.9, 0.8]);
    const rep = binaryTaskReport(rs, 'sameOccupation', { bins: 2 });
    expect(rep.n).toBe(3);
    expect(rep.auc).toBe(1);
    expect(() => binaryTaskData([{ ...base, index: 1, from: '1', to: '1' }], 'sameOccupation')).toThrow(/no pSame/);
  });
});
