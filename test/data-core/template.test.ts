import { describe, expect, it } from 'vitest';
import { NotFoundError, StateError } from '../../src/errors.js';
import type { Worker } from '../../src/panel/types.js';
import { loadTaxonomy, Taxonomy } from '../../src/taxonomy/taxonomy.js';
import { continuationOf, getTemplate, TEMPLATE_NAMES, utf8Spans } from '../../src/template/index.js';

const taxonomy = loadTaxonomy();
const ana: Worker = {
  id: 'w1',
  dataset: 'NLSY79',
  birthYear: 1960,
  gender: 'female',
  ethnicity: 'hispanic',
  region: 'South',
  records: [
    { year: 1980, code: '9001', education: 'high school diploma' },
    { year: 1981, code: '7', education: 'college' },
    { year: 1983, code: '9002', education: 'college' },
    { year: 1985, code: '7', education: 'graduate degree' },
  ],
};
const bo: Worker = {
  id: 'w2',
  dataset: 'NLSY79',
  birthYear: null,
  gender: 'male',
  ethnicity: 'black',
  region: 'West',
  records: [
    { year: 1990, code: '905', education: 'less than high school' },
    { year: 1991, code: '4', education: 'some college' },
  ],
};

describe('resume templates (byte-exact)', () => {
  it('resume', () => {
    expect(getTemplate('resume', { taxonomy }).render(ana).text).toBe(
      '<A Resume from the NLSY79 Dataset>\n' +
        'The following resume is of a female worker of hispanic ethnicity living in the South region, born in 1960.\n' +
        '1980 to 1981 (high school diploma): In education\n' +
        '1981 to 1983 (college): Financial managers\n' +
        '1983 to 1985 (college): Unemployed\n' +
        '1985 to present (graduate degree): Financial managers\n' +
        '<END OF RESUME>',
    );
  });

  it('resume leaves out an unknown birth year', () => {
    expect(getTemplate('resume', { taxonomy }).render(bo).text).toBe(
      '<A Resume from the NLSY79 Dataset>\n' +
        'The following resume is of a male worker of black ethnicity living in the West region.\n' +
        '1990 to 1991 (less than high school): Military occupations\n' +
        '1991 to present (some college): Chief executives, public administrators, and legislators\n' +
        '<END OF RESUME>',
    );
  });

  it('resume-no-birth-year', () => {
    expect(getTemplate('resume-no-birth-year', { taxonomy }).render(ana).text).toMatchInlineSnapshot(`
      "<A Resume from the NLSY79 Dataset>
      The following resume is of a female worker of hispanic ethnicity living in the South region.
      1980 to 1981 (high school diploma): In education
      1981 to 1983 (college): Financial managers
      1983 to 1985 (college): Unemployed
      1985 to present (graduate degree): Financial managers
      <END OF RESUME>"
    `);
  });

  it('prediction prompts end right before " " + title + "\\n"', () => {
    const t = getTemplate('resume', { taxonomy });
    expect(t.prompt(ana, 2)).toBe(
      '<A Resume from the NLSY79 Dataset>\n' +
        'The following resume is of a female worker of hispanic ethnicity living in the South region, born in 1960.\n' +
        '1980 to 1981 (high school diploma): In education\n' +
        '1981 to 1983 (college): Financial managers\n' +
        '1983 to 1985 (college):',
    );
    expect(t.prompt(ana, 0)).toBe(
      '<A Resume from the NLSY79 Dataset>\n' +
        'The following resume is of a female worker of hispanic ethnicity living in the South region, born in 1960.\n' +
        '1980 to 1981 (high school diploma):',
    );
    expect(t.prompts(ana).map((p) => [p.index, p.year, p.code, p.title])).toEqual([
      [0, 1980, '9001', 'In education'],
      [1, 1981, '7', 'Financial managers'],
      [2, 1983, '9002', 'Unemployed'],
      [3, 1985, '7', 'Financial managers'],
    ]);
    expect(() => t.prompt(ana, -1)).toThrow(StateError);
    expect(() => t.prompt(ana, 4)).toThrow(/no record 4 \(valid: 0\.\.3\)/);
  });
});

describe('off-the-shelf templates (byte-exact)', () => {
  it('off-the-shelf', () => {
    expect(getTemplate('off-the-shelf', { taxonomy }).render(ana).text).toBe(
      'Career history of a worker from the NLSY79 survey: a female worker of hispanic ethnicity living in the South region, born in 1960.\n' +
        "Each line gives a year, the worker's education that year in parentheses, and the worker's occupation that year.\n" +
        '1980 (high school diploma): In education\n' +
        '1981 (college): Financial managers\n' +
        '1983 (college): Unemployed\n' +
        '1985 (graduate degree): Financial managers\n',
    );
    expect(getTemplate('off-the-shelf', { taxonomy }).prompt(ana, 1)).toBe(
      'Career history of a worker from the NLSY79 survey: a female worker of hispanic ethnicity living in the South region, born in 1960.\n' +
        "Each line gives a year, the worker's education that year in parentheses, and the worker's occupation that year.\n" +
        '1980 (high school diploma): In education\n' +
        '1981 (college):',
    );
  });

  it('off-the-shelf-titles lists every title first', () => {
    const small = new Taxonomy('small', [
      { code: 'a', title: 'Cooks', group: 'Food' },
      { code: 'b', title: 'Unemployed', group: 'Special state' },
    ]);
    const w: Worker = { ...bo, gender: 'unknown', records: [{ year: 2000, code: 'a', education: 'college' }, { year: 2001, code: 'b', education: 'college' }] };
    expect(getTemplate('off-the-shelf-titles', { taxonomy: small }).render(w).text).toBe(
      'Every occupation below is one of these titles:\n' +
        'Cooks\n' +
        'Unemployed\n' +
        '\n' +
        'Career history of a worker from the NLSY79 survey: an unknown worker of black ethnicity living in the West region.\n' +
        "Each line gives a year, the worker's education that year in parentheses, and the worker's occupation that year.\n" +
        '2000 (college): Cooks\n' +
        '2001 (college): Unemployed\n',
    );
    const full = getTemplate('off-the-shelf-titles', { taxonomy }).render(ana).text;
    expect(full.split('\n').slice(1, 335)).toEqual(taxonomy.titles());
  });
});

describe('in-context learning (byte-exact)', () => {
  const resume = getTemplate('resume', { taxonomy });
  it('puts k example resumes from the pool before the worker, never the worker itself', () => {
    const icl = getTemplate('icl', { taxonomy, icl: { pool: [ana, bo], k: 2, seed: 1 } });
    // Only bo is eligible for ana: k is capped at what the pool can give.
    expect(icl.render(ana).text).toBe(`${resume.render(bo).text}\n\n${resume.render(ana).text}`);
    expect(icl.prompt(ana, 1)).toBe(`${resume.render(bo).text}\n\n${resume.prompt(ana, 1)}`);
    expect(getTemplate('icl', { taxonomy, icl: { pool: [ana, bo], k: 0 } }).render(ana).text).toBe(resume.render(ana).text);
  });

  it('draws examples reproducibly per worker and seed', () => {
    const pool = Array.from({ length: 50 }, (_, i) => ({ ...bo, id: `p${i}`, birthYear: 1900 + i }));
    const a = getTemplate('icl', { taxonomy, icl: { pool, k: 3, seed: 5 } }).render(ana).text;
    expect(getTemplate('icl', { taxonomy, icl: { pool: [...pool], k: 3, seed: 5 } }).render(ana).text).toBe(a);
    expect(a.split('<END OF RESUME>')).toHaveLength(5); // 3 examples + the worker, each ending with the marker
    expect(new Set(a.match(/born in \d+/g)).size).toBe(4); // 3 distinct examples + the worker (1960)
    const seeds = new Set([1, 2, 3, 4, 6].map((seed) => getTemplate('icl', { taxonomy, icl: { pool, k: 3, seed } }).render(ana).text));
    expect(seeds.size).toBeGreaterThan(1);
  });

  it('needs a pool', () => {
    expect(() => getTemplate('icl', { taxonomy })).toThrow(/needs a pool/);
  });
});

describe('registry and spans', () => {
  it('rejects unknown names, listing the valid ones', () => {
    expect(() => getTemplate('chat', { taxonomy })).toThrow(NotFoundError);
    expect(() => getTemplate('chat', { taxonomy })).toThrow(
      'unknown template "chat": valid templates are resume, resume-no-birth-year, off-the-shelf, off-the-shelf-titles, icl',
    );
  });

  for (const name of TEMPLATE_NAMES) {
    it(`${name}: spans hold " " + title + "\\n" and prompt + continuation is the text up to the span end`, () => {
      const t = getTemplate(name, { taxonomy, icl: { pool: [bo], k: 1 } });
      const r = t.render(ana);
      expect(r.spans).toHaveLength(ana.records.length);
      for (const s of r.spans) {
        const title = taxonomy.titleOf(s.code);
        expect(r.text.slice(s.start, s.end)).toBe(continuationOf(title));
        expect(r.text.slice(s.titleStart, s.titleEnd)).toBe(title);
        expect(t.prompt(ana, s.index) + continuationOf(title)).toBe(r.text.slice(0, s.end));
      }
    });
  }

  it('utf8Spans converts to byte offsets', () => {
    const t = new Taxonomy('u', [{ code: 'x', title: 'Café workers', group: '' }]);
    const w: Worker = { ...bo, region: 'Région', records: [{ year: 2000, code: 'x', education: 'college' }] };
    const r = getTemplate('resume', { taxonomy: t }).render(w);
    const [s] = utf8Spans(r);
    const bytes = Buffer.from(r.text, 'utf8');
    expect(bytes.subarray(s?.titleStart, s?.titleEnd).toString('utf8')).toBe('Café workers');
    expect(s?.start).toBe((r.spans[0]?.start ?? 0) + 1);
  });
});
