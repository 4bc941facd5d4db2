import { describe, expect, it } from 'vitest';
import { NotFoundError, StateError } from '../../src/errors.js';
import type { Worker } from '../../src/data/panel/types.js';
import { loadTaxonomy, Taxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { continuationOf, getTemplate, ICL_DEFAULT_K, TEMPLATE_NAMES, TITLE_LIST_INTRO, titleListBlock, utf8Spans } from '../../src/data/template/index.js';

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

// The talk's NLSY79 fine-tuning example (/work/shared/paper/labor-llm-talk.txt, lines 264-278; the slide
// wraps the third line, which is one line), its titles given by a small custom taxonomy.
const TALK_RESUME =
  '<A Resume from the NLSY79 Dataset>\n' +
  'The following is the resume of a male white US worker residing in the northcentral region.\n' +
  'The worker has the following work experience on the resume, one entry per line, including job code, year, education level and a description of the job:\n' +
  '1988 to 1989 (graduate degree): Secretaries and administrative assistants\n' +
  '1989 to 1990 (graduate degree): Carpet, floor, and tile installers and finishers\n' +
  '1990 to 1991 (graduate degree): Elementary and middle school teachers\n' +
  '1991 to 1992 (graduate degree): Elementary and middle school teachers\n' +
  '1992 to present (graduate degree): Adult Basic and Secondary Education and Literacy Teachers and Instructors\n' +
  '<END OF RESUME>';

// The talk's off-the-shelf example (lines 152-159): the prompt for the 1989 record.
const TALK_OFF_THE_SHELF_PROMPT =
  '<A worker from the PSID dataset>\n' +
  'The following information is available about the work history of a female black or african american US worker residing in the south region.\n' +
  'The worker was born in 1963.\n' +
  'The worker has the following records of work experience, one entry per line, including year, education level, and the job title:\n' +
  '1984 (some college): Cooks\n' +
  '1985 (some college): Cooks\n' +
  '1987 (some college): Food servers, nonrestaurant\n' +
  '1989 (some college):';

const talkTaxonomy = new Taxonomy('talk', [
  { code: 's', title: 'Secretaries and administrative assistants', group: 'Office' },
  { code: 'c', title: 'Carpet, floor, and tile installers and finishers', group: 'Construction' },
  { code: 'e', title: 'Elementary and middle school teachers', group: 'Education' },
  { code: 'a', title: 'Adult Basic and Secondary Education and Literacy Teachers and Instructors', group: 'Education' },
  { code: 'k', title: 'Cooks', group: 'Food' },
  { code: 'f', title: 'Food servers, nonrestaurant', group: 'Food' },
]);

const talkNlsyWorker: Worker = {
  id: 'talk-nlsy79',
  dataset: 'NLSY79',
  birthYear: 1960,
  gender: 'male',
  ethnicity: 'white',
  region: 'northcentral',
  records: ['s', 'c', 'e', 'e', 'a'].map((code, i) => ({ year: 1988 + i, code, education: 'graduate degree' })),
};

const talkPsidWorker: Worker = {
  id: 'talk-psid',
  dataset: 'PSID81',
  birthYear: 1963,
  gender: 'female',
  ethnicity: 'black or african american',
  region: 'south',
  records: [
    { year: 1984, code: 'k', education: 'some college' },
    { year: 1985, code: 'k', education: 'some college' },
    { year: 1987, code: 'f', education: 'some college' },
    { year: 1989, code: 'f', education: 'some college' },
  ],
};

describe("the talk's examples, byte for byte", () => {
  it('resume renders the NLSY79 example exactly', () => {
    const r = getTemplate('resume', { taxonomy: talkTaxonomy }).render(talkNlsyWorker);
    expect(r.text).toBe(TALK_RESUME);
    expect(Buffer.from(r.text, 'utf8').equals(Buffer.from(TALK_RESUME, 'utf8'))).toBe(true);
  });

  it('off-the-shelf gives the PSID example prompt exactly', () => {
    const t = getTemplate('off-the-shelf', { taxonomy: talkTaxonomy });
    expect(t.prompt(talkPsidWorker, 3)).toBe(TALK_OFF_THE_SHELF_PROMPT);
    expect(t.render(talkPsidWorker).text).toBe(`${TALK_OFF_THE_SHELF_PROMPT} Food servers, nonrestaurant\n`);
    // The first record's prompt: the preamble (through the records line) and its line head.
    const preamble = TALK_OFF_THE_SHELF_PROMPT.slice(0, TALK_OFF_THE_SHELF_PROMPT.indexOf('1984'));
    expect(t.prompt(talkPsidWorker, 0)).toBe(`${preamble}1984 (some college):`);
    expect(getTemplate('resume', { taxonomy: talkTaxonomy }).prompt(talkNlsyWorker, 0)).toBe(
      `${TALK_RESUME.slice(0, TALK_RESUME.indexOf('1988'))}1988 to 1989 (graduate degree):`,
    );
  });

  it('writes demographic words in lower case and regions as the paper spells them', () => {
    const resume = getTemplate('resume', { taxonomy: talkTaxonomy });
    for (const region of ['Midwest', 'North Central', 'NorthCentral', 'north_central']) {
      expect(resume.render({ ...talkNlsyWorker, gender: 'Male', ethnicity: 'White', region }).text).toBe(TALK_RESUME);
    }
    const ots = getTemplate('off-the-shelf', { taxonomy: talkTaxonomy });
    expect(ots.prompt({ ...talkPsidWorker, ethnicity: 'Black or African American', region: 'South' }, 3)).toBe(TALK_OFF_THE_SHELF_PROMPT);
    // A region outside the Census scheme is written as it is, lower-cased.
    expect(ots.prompt({ ...talkPsidWorker, region: 'Pacific Northwest' }, 1)).toContain('residing in the pacific northwest region.\n');
  });
});

describe('resume templates (byte-exact)', () => {
  it('resume: the paper\'s fine-tuning resume, no birth year', () => {
    expect(getTemplate('resume', { taxonomy }).render(ana).text).toBe(
      '<A Resume from the NLSY79 Dataset>\n' +
        'The following is the resume of a female hispanic US worker residing in the south region.\n' +
        'The worker has the following work experience on the resume, one entry per line, including job code, year, education level and a description of the job:\n' +
        '1980 to 1981 (high school diploma): In education\n' +
        '1981 to 1983 (college): Financial managers\n' +
        '1983 to 1985 (college): Unemployed\n' +
        '1985 to present (graduate degree): Financial managers\n' +
        '<END OF RESUME>',
    );
  });

  it('resume-birth-year writes the birth year as the off-the-shelf prompt does, and leaves an unknown one out', () => {
    const t = getTemplate('resume-birth-year', { taxonomy });
    expect(t.render(ana).text).toMatchInlineSnapshot(`
      "<A Resume from the NLSY79 Dataset>
      The following is the resume of a female hispanic US worker residing in the south region.
      The worker was born in 1960.
      The worker has the following work experience on the resume, one entry per line, including job code, year, education level and a description of the job:
      1980 to 1981 (high school diploma): In education
      1981 to 1983 (college): Financial managers
      1983 to 1985 (college): Unemployed
      1985 to present (graduate degree): Financial managers
      <END OF RESUME>"
    `);
    expect(t.render(bo).text).toBe(getTemplate('resume', { taxonomy }).render(bo).text);
  });

  it('names PSID81 "PSID" in the header, as the paper does', () => {
    expect(getTemplate('resume', { taxonomy }).render({ ...bo, dataset: 'PSID81' }).text.split('\n')[0]).toBe('<A Resume from the PSID Dataset>');
    expect(getTemplate('resume', { taxonomy }).render({ ...bo, dataset: 'NLSY97' }).text.split('\n')[0]).toBe('<A Resume from the NLSY97 Dataset>');
    expect(getTemplate('off-the-shelf', { taxonomy }).render({ ...bo, dataset: 'MyPanel' }).text.split('\n')[0]).toBe('<A worker from the MyPanel dataset>');
  });

  it('prediction prompts end right before " " + title + "\\n"', () => {
    const t = getTemplate('resume', { taxonomy });
    expect(t.prompt(ana, 2)).toBe(
      '<A Resume from the NLSY79 Dataset>\n' +
        'The following is the resume of a female hispanic US worker residing in the south region.\n' +
        'The worker has the following work experience on the resume, one entry per line, including job code, year, education level and a description of the job:\n' +
        '1980 to 1981 (high school diploma): In education\n' +
        '1981 to 1983 (college): Financial managers\n' +
        '1983 to 1985 (college):',
    );
    expect(t.prompt(ana, 0)).toBe(
      '<A Resume from the NLSY79 Dataset>\n' +
        'The following is the resume of a female hispanic US worker residing in the south region.\n' +
        'The worker has the following work experience on the resume, one entry per line, including job code, year, education level and a description of the job:\n' +
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
    const preamble =
      '<A worker from the NLSY79 dataset>\n' +
      'The following information is available about the work history of a female hispanic US worker residing in the south region.\n' +
      'The worker was born in 1960.\n' +
      'The worker has the following records of work experience, one entry per line, including year, education level, and the job title:\n';
    expect(getTemplate('off-the-shelf', { taxonomy }).render(ana).text).toBe(
      preamble +
        '1980 (high school diploma): In education\n' +
        '1981 (college): Financial managers\n' +
        '1983 (college): Unemployed\n' +
        '1985 (graduate degree): Financial managers\n',
    );
    expect(getTemplate('off-the-shelf', { taxonomy }).prompt(ana, 1)).toBe(preamble + '1980 (high school diploma): In education\n' + '1981 (college):');
  });

  it('off-the-shelf-titles lists every title first (wording ours), and leaves out an unknown birth year', () => {
    const small = new Taxonomy('small', [
      { code: 'a', title: 'Cooks', group: 'Food' },
      { code: 'b', title: 'Unemployed', group: 'Special state' },
    ]);
    const w: Worker = { ...bo, gender: 'unknown', records: [{ year: 2000, code: 'a', education: 'college' }, { year: 2001, code: 'b', education: 'college' }] };
    expect(getTemplate('off-the-shelf-titles', { taxonomy: small }).render(w).text).toBe(
      'The following is the list of job titles, one per line. Every job title in the records below is one of them:\n' +
        'Cooks\n' +
        'Unemployed\n' +
        '\n' +
        '<A worker from the NLSY79 dataset>\n' +
        'The following information is available about the work history of an unknown black US worker residing in the west region.\n' +
        'The worker has the following records of work experience, one entry per line, including year, education level, and the job title:\n' +
        '2000 (college): Cooks\n' +
        '2001 (college): Unemployed\n',
    );
    const full = getTemplate('off-the-shelf-titles', { taxonomy }).render(ana).text;
    expect(full.split('\n').slice(1, 335)).toEqual(taxonomy.titles());
    expect(full.split('\n')[335]).toBe('');
  });
});

describe('in-context learning (byte-exact)', () => {
  const ots = getTemplate('off-the-shelf', { taxonomy });
  it('puts k examples in the off-the-shelf format before the worker, never the worker itself', () => {
    const icl = getTemplate('icl', { taxonomy, icl: { pool: [ana, bo], k: 2, seed: 1 } });
    // Only bo is eligible for ana: k is capped at what the pool can give.
    expect(icl.render(ana).text).toBe(`${ots.render(bo).text}\n${ots.render(ana).text}`);
    expect(icl.prompt(ana, 1)).toBe(`${ots.render(bo).text}\n${ots.prompt(ana, 1)}`);
    expect(getTemplate('icl', { taxonomy, icl: { pool: [ana, bo], k: 0 } }).render(ana).text).toBe(ots.render(ana).text);
  });

  it('icl-titles shows the title list once, above the examples', () => {
    const icl = getTemplate('icl-titles', { taxonomy, icl: { pool: [ana, bo], k: 2, seed: 1 } });
    expect(icl.render(ana).text).toBe(`${titleListBlock(taxonomy)}${ots.render(bo).text}\n${ots.render(ana).text}`);
    expect(icl.prompt(ana, 2)).toBe(`${titleListBlock(taxonomy)}${ots.render(bo).text}\n${ots.prompt(ana, 2)}`);
    expect(icl.prompt(ana, 0)).toBe(`${titleListBlock(taxonomy)}${ots.render(bo).text}\n${ots.prompt(ana, 0)}`);
    expect(icl.render(ana).text.split(TITLE_LIST_INTRO)).toHaveLength(2);
  });

  it('draws 10 examples by default, reproducibly per worker and seed', () => {
    const pool = Array.from({ length: 50 }, (_, i) => ({ ...bo, id: `p${i}`, birthYear: 1900 + i }));
    const a = getTemplate('icl', { taxonomy, icl: { pool, seed: 5 } }).render(ana).text;
    expect(ICL_DEFAULT_K).toBe(10);
    expect(getTemplate('icl', { taxonomy, icl: { pool: [...pool], seed: 5 } }).render(ana).text).toBe(a);
    expect(a.split('<A worker from the NLSY79 dataset>')).toHaveLength(12); // 10 examples + the worker
    expect(new Set(a.match(/born in \d+/g)).size).toBe(11); // 10 distinct examples + the worker (1960)
    const seeds = new Set([1, 2, 3, 4, 6].map((seed) => getTemplate('icl', { taxonomy, icl: { pool, k: 3, seed } }).render(ana).text));
    expect(seeds.size).toBeGreaterThan(1);
  });

  it('needs a pool', () => {
    expect(() => getTemplate('icl', { taxonomy })).toThrow(/"icl" needs a pool/);
    expect(() => getTemplate('icl-titles', { taxonomy })).toThrow(/"icl-titles" needs a pool/);
  });
});

describe('registry and spans', () => {
  it('rejects unknown names, listing the valid ones', () => {
    expect(() => getTemplate('chat', { taxonomy })).toThrow(NotFoundError);
    expect(() => getTemplate('chat', { taxonomy })).toThrow(
      'unknown template "chat": valid templates are resume, resume-birth-year, off-the-shelf, off-the-shelf-titles, icl, icl-titles',
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
