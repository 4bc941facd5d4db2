import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import type { Panel, Worker } from '../../src/data/panel/types.js';
import { mixBasePlus, mixUnion, randomizeDemographics, shareOf, splitOf, splitPanel } from '../../src/data/split/index.js';
import { synthesizePanel } from '../../src/data/synth/index.js';

const nlsy79 = synthesizePanel({ profile: 'nlsy79', workers: 2000, seed: 1 }).panel;
const nlsy97 = synthesizePanel({ profile: 'nlsy97', workers: 1000, seed: 1 }).panel;
const ids = (p: Panel) => p.workers.map((w) => w.id);

describe('splitPanel', () => {
  const parts = splitPanel(nlsy79, { seed: 7 });

  it('is disjoint, covers every worker and keeps about 70/10/20', () => {
    const all = [...ids(parts.train), ...ids(parts.valid), ...ids(parts.test)];
    expect(new Set(all).size).toBe(nlsy79.workers.length);
    expect([...all].sort()).toEqual([...ids(nlsy79)].sort());
    const n = nlsy79.workers.length;
    expect(parts.train.workers.length / n).toBeGreaterThan(0.66);
    expect(parts.train.workers.length / n).toBeLessThan(0.74);
    expect(parts.valid.workers.length / n).toBeGreaterThan(0.08);
    expect(parts.valid.workers.length / n).toBeLessThan(0.12);
    expect(parts.test.workers.length / n).toBeGreaterThan(0.17);
    expect(parts.test.workers.length / n).toBeLessThan(0.23);
  });

  it('is stable when workers are added or reordered, and changes with the seed', () => {
    const extra: Worker[] = Array.from({ length: 500 }, (_, i) => ({ ...(nlsy79.workers[0] as Worker), id: `new-${i}` }));
    const grown = splitPanel({ ...nlsy79, workers: [...extra, ...nlsy79.workers].reverse() }, { seed: 7 });
    for (const name of ['train', 'valid', 'test'] as const) {
      const before = new Set(ids(parts[name]));
      const after = ids(grown[name]).filter((id) => !id.startsWith('new-'));
      expect(new Set(after)).toEqual(before);
    }
    const other = splitPanel(nlsy79, { seed: 8 });
    expect(ids(other.test)).not.toEqual(ids(parts.test));
    expect(splitOf('w1', 7)).toBe(splitOf('w1', 7));
  });

  it('takes custom fractions and rejects bad ones', () => {
    const half = splitPanel(nlsy79, { seed: 1, fractions: { train: 0.5, valid: 0, test: 0.5 } });
    expect(half.valid.workers).toHaveLength(0);
    expect(() => splitPanel(nlsy79, { seed: 1, fractions: { train: 0.5, valid: 0.1, test: 0.1 } })).toThrow(/sum to 1/);
    expect(() => splitPanel(nlsy79, { seed: 1, fractions: { train: 1.1, valid: -0.1, test: 0 } })).toThrow(InputError);
  });
});

describe('mixtures', () => {
  it('mixUnion keeps N workers of the union, independent of input order, with dataset-prefixed ids', () => {
    const m = mixUnion([nlsy79, nlsy97], { seed: 3, workers: 1000 });
    expect(m.workers).toHaveLength(1000);
    expect(new Set(ids(m)).size).toBe(1000);
    expect(m.workers.every((w) => w.id === `${w.dataset}:${w.id.slice(w.dataset.length + 1)}`)).toBe(true);
    const datasets = new Set(m.workers.map((w) => w.dataset));
    expect(datasets).toEqual(new Set(['NLSY79', 'NLSY97']));
    const swapped = mixUnion([nlsy97, nlsy79], { seed: 3, workers: 1000 });
    expect(new Set(ids(swapped))).toEqual(new Set(ids(m)));
    expect(() => mixUnion([nlsy79], { seed: 1, workers: 5000 })).toThrow(/0\.\.2000 workers/);
  });

  it('mixBasePlus keeps the base and adds P% of the base\'s worker count from the others together, nested in P', () => {
    const psid = synthesizePanel({ profile: 'psid81', workers: 300, seed: 2 }).panel;
    const m10 = mixBasePlus(nlsy97, [nlsy79, psid], { seed: 2, percent: 10 });
    const m30 = mixBasePlus(nlsy97, [nlsy79, psid], { seed: 2, percent: 30 });
    const added = (p: Panel) => p.workers.filter((w) => w.dataset !== 'NLSY97').map((w) => w.id);
    expect(m10.workers.filter((w) => w.dataset === 'NLSY97')).toHaveLength(1000);
    // 10% and 30% of the base's 1,000 workers, drawn from the union of the other panels.
    expect(added(m10)).toHaveLength(100);
    expect(added(m30)).toHaveLength(300);
    expect(new Set(added(m30)).size).toBe(300);
    const in30 = new Set(added(m30));
    expect(added(m10).every((id) => in30.has(id))).toBe(true);
    // Independent of the order of the other panels.
    expect(new Set(added(mixBasePlus(nlsy97, [psid, nlsy79], { seed: 2, percent: 30 })))).toEqual(in30);
    expect(new Set(added(mixBasePlus(nlsy97, [nlsy79, psid], { seed: 3, percent: 30 })))).not.toEqual(in30);
    expect(mixBasePlus(nlsy97, [nlsy79], { seed: 2, percent: 0 }).workers).toHaveLength(1000);
    expect(mixBasePlus(nlsy97, [nlsy79], { seed: 2, percent: 100 }).workers).toHaveLength(2000);
    expect(() => mixBasePlus(nlsy79, [nlsy97], { seed: 2, percent: 60 })).toThrow(/needs 1200 workers from the other panels, which hold 1000/);
    expect(() => mixBasePlus(nlsy79, [nlsy97], { seed: 2, percent: 101 })).toThrow(/between 0 and 100/);
  });

  it("gives the worker counts of the talk's mixture tables (lines 435-455)", () => {
    // Training workers of the three surveys (the table's "Base Train # Workers").
    const sized = (dataset: string, n: number): Panel => ({
      taxonomy: 'occ1990dd',
      workers: Array.from({ length: n }, (_, i) => ({ id: String(i), dataset, birthYear: null, gender: 'male', ethnicity: 'white', region: 'south', records: [{ year: 2000, code: '4', education: 'college' }] })),
    });
    const psid = sized('PSID81', 21_739);
    const nlsy79t = sized('NLSY79', 8_735);
    const nlsy97t = sized('NLSY97', 6_288);
    // Setting 1: P% of the union (the table's N).
    const union = 21_739 + 8_735 + 6_288;
    const setting1 = { 20: 7_352, 40: 14_704, 60: 22_057, 80: 29_409, 100: 36_762 };
    for (const [percent, n] of Object.entries(setting1)) {
      expect(shareOf(union, Number(percent))).toBe(n);
      expect(mixUnion([psid, nlsy79t, nlsy97t], { seed: 1, workers: shareOf(union, Number(percent)) }).workers).toHaveLength(n);
    }
    // Setting 2: the base plus P% of the base's worker count from the other two surveys together.
    for (const percent of [10, 30, 50, 70]) {
      for (const [base, others] of [
        [psid, [nlsy79t, nlsy97t]],
        [nlsy79t, [psid, nlsy97t]],
        [nlsy97t, [psid, nlsy79t]],
      ] as const) {
        const want = base.workers.length + Math.floor((percent * base.workers.length) / 100);
        // PSID +70% needs 15,217 workers; the NLSY training splits hold 15,023 (see docs/data.md).
        if (base === psid && percent === 70) {
          expect(() => mixBasePlus(base, others, { seed: 1, percent })).toThrow(/needs 15217 workers from the other panels, which hold 15023/);
          continue;
        }
        const m = mixBasePlus(base, others, { seed: 1, percent });
        expect(m.workers).toHaveLength(want);
        expect(m.workers.filter((w) => w.dataset === base.workers[0]!.dataset)).toHaveLength(base.workers.length);
      }
    }
    expect(mixBasePlus(psid, [nlsy79t, nlsy97t], { seed: 1, percent: 10 }).workers).toHaveLength(21_739 + 2_173);
  });

  it('keeps colliding ids of different datasets apart and refuses different taxonomies', () => {
    const a: Panel = { taxonomy: 'occ1990dd', workers: [{ ...(nlsy79.workers[0] as Worker), id: '1' }] };
    const b: Panel = { taxonomy: 'occ1990dd', workers: [{ ...(nlsy97.workers[0] as Worker), id: '1' }] };
    expect(ids(mixUnion([a, b], { seed: 1 }))).toEqual(['NLSY79:1', 'NLSY97:1']);
    expect(() => mixUnion([a, { ...b, taxonomy: 'soc2018' }], { seed: 1 })).toThrow(/different taxonomies/);
  });
});

describe('randomizeDemographics', () => {
  const sorted = (p: Panel, f: 'gender' | 'ethnicity' | 'region') => p.workers.map((w) => w[f]).sort();

  it('permutes each trait across workers, keeping frequencies and careers', () => {
    const r = randomizeDemographics(nlsy79, { seed: 4 });
    for (const f of ['gender', 'ethnicity', 'region'] as const) {
      expect(sorted(r, f)).toEqual(sorted(nlsy79, f));
      const moved = r.workers.filter((w, i) => w[f] !== nlsy79.workers[i]?.[f]).length;
      expect(moved).toBeGreaterThan(nlsy79.workers.length * 0.3);
    }
    r.workers.forEach((w, i) => {
      const orig = nlsy79.workers[i] as Worker;
      expect(w.id).toBe(orig.id);
      expect(w.birthYear).toBe(orig.birthYear);
      expect(w.records).toBe(orig.records);
    });
    expect(JSON.stringify(randomizeDemographics(nlsy79, { seed: 4 }))).toBe(JSON.stringify(r));
    expect(JSON.stringify(randomizeDemographics(nlsy79, { seed: 5 }))).not.toBe(JSON.stringify(r));
    // The input is not modified.
    expect(nlsy79.workers[0]?.gender).toBe(synthesizePanel({ profile: 'nlsy79', workers: 1, seed: 1 }).panel.workers[0]?.gender);
  });

  it('shuffles only the fields asked for and moves the state with the region', () => {
    const withStates: Panel = { ...nlsy79, workers: nlsy79.workers.map((w, i) => ({ ...w, state: `S${i}`, region: `R${i}` })) };
    const r = randomizeDemographics(withStates, { seed: 1, fields: ['region'] });
    r.workers.forEach((w, i) => {
      expect(w.state?.slice(1)).toBe(w.region.slice(1));
      expect(w.gender).toBe(withStates.workers[i]?.gender);
    });
  });
});
