import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { EDUCATION_LEVELS, educationRank, normalizeEducation } from '../../src/data/panel/education.js';
import type { Panel, Worker } from '../../src/data/panel/types.js';
import { panelTransitions, transitionsOf, validatePanel, validatePanelReport } from '../../src/data/panel/validate.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';

const taxonomy = loadTaxonomy();

function worker(over: Partial<Worker> = {}): Worker {
  return {
    id: 'w1',
    dataset: 'NLSY79',
    birthYear: 1960,
    gender: 'female',
    ethnicity: 'hispanic',
    region: 'South',
    records: [
      { year: 1980, code: '9001', education: 'high school diploma' },
      { year: 1981, code: '7', education: 'college' },
      { year: 1983, code: '7', education: 'college' },
    ],
    ...over,
  };
}
const panel = (...workers: Worker[]): Panel => ({ taxonomy: 'occ1990dd', workers });

describe('education', () => {
  it('normalises spellings and years of schooling onto the documented list', () => {
    expect(EDUCATION_LEVELS).toHaveLength(6);
    expect(normalizeEducation('HS')).toBe('high school diploma');
    expect(normalizeEducation("  Bachelor's degree ")).toBe('college');
    expect(normalizeEducation('less_than_high_school')).toBe('less than high school');
    expect(normalizeEducation('PhD')).toBe('graduate degree');
    expect(normalizeEducation('12')).toBe('high school diploma');
    expect(normalizeEducation('14')).toBe('some college');
    expect(normalizeEducation('16')).toBe('college');
    expect(normalizeEducation('18')).toBe('graduate degree');
    expect(normalizeEducation('99')).toBeUndefined();
    expect(normalizeEducation('kindergarten')).toBeUndefined();
    expect(educationRank('college')).toBe(4);
    expect(educationRank('nope')).toBe(-1);
  });
});

describe('validatePanel', () => {
  it('returns a clean copy with normalised education and the taxonomy name', () => {
    const w = worker();
    (w.records[0] as { education: string }).education = 'HS';
    const report = validatePanelReport(panel(w), taxonomy);
    expect(report.panel.workers[0]?.records[0]?.education).toBe('high school diploma');
    expect(report.normalizedEducation).toEqual({ 'HS -> high school diploma': 1 });
    expect(w.records[0]?.education).toBe('HS'); // input untouched
    expect(report.panel.taxonomy).toBe('occ1990dd');
  });

  it('maps unknown codes when asked, and counts them', () => {
    const w = worker();
    (w.records[1] as { code: string }).code = '99999';
    expect(() => validatePanel(panel(w), taxonomy)).toThrow(/worker "w1", year 1981: code "99999" is not in taxonomy "occ1990dd"/);
    const report = validatePanelReport(panel(w), taxonomy, { unknownCode: { mapTo: '9003' } });
    expect(report.panel.workers[0]?.records[1]?.code).toBe('9003');
    expect(report.mappedCodes).toEqual({ '99999': 1 });
    expect(() => validatePanel(panel(w), taxonomy, { unknownCode: { mapTo: 'zzz' } })).toThrow(/cannot map unknown codes to "zzz"/);
  });

  const cases: [string, () => Panel, RegExp, string][] = [
    ['years out of order', () => panel(worker({ records: [{ year: 1981, code: '7', education: 'college' }, { year: 1981, code: '7', education: 'college' }] })), /strictly increasing, got 1981 after 1981/, 'year'],
    ['a non-integer year', () => panel(worker({ records: [{ year: Number.NaN, code: '7', education: 'college' }] })), /year must be an integer, got NaN/, 'year'],
    ['an unknown education', () => panel(worker({ records: [{ year: 1981, code: '7', education: 'kindergarten' }] })), /unknown education "kindergarten" \(expected one of: less than high school,/, 'education'],
    ['a duplicate id', () => panel(worker(), worker()), /duplicate worker id "w1" \(also worker #1\)/, 'id'],
    ['an empty id', () => panel(worker({ id: ' ' })), /worker #1 has an empty id/, 'id'],
    ['no records', () => panel(worker({ records: [] })), /worker "w1" has no records/, 'records'],
    ['an empty gender', () => panel(worker({ gender: '' })), /worker "w1" has an empty gender/, 'gender'],
    ['a fractional birth year', () => panel(worker({ birthYear: 1960.5 })), /birth year must be an integer or missing/, 'birthYear'],
  ];
  for (const [what, make, message, field] of cases) {
    it(`rejects ${what}, naming file, line and field through source()`, () => {
      expect(() => validatePanel(make(), taxonomy)).toThrow(message);
      let err: unknown;
      try {
        validatePanel(make(), taxonomy, {
          source: (w, r) => ({ file: 'panel.csv', line: 2 + w * 10 + (r ?? 0) }),
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).location?.file).toBe('panel.csv');
      expect((err as InputError).location?.field).toBe(field);
      expect((err as InputError).message).toMatch(/^panel\.csv:\d+ \(field "/);
    });
  }

  it('accepts a null birth year', () => {
    expect(validatePanel(panel(worker({ birthYear: null })), taxonomy).workers[0]?.birthYear).toBeNull();
  });
});

describe('transitions', () => {
  it('lists one transition per record after the first', () => {
    const w = worker();
    expect(transitionsOf(w)).toEqual([
      { workerId: 'w1', index: 1, year: 1981, from: '9001', to: '7' },
      { workerId: 'w1', index: 2, year: 1983, from: '7', to: '7' },
    ]);
    expect(panelTransitions(panel(w, worker({ id: 'w2', records: [{ year: 1990, code: '7', education: 'college' }] })))).toHaveLength(2);
  });
});
