import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../../src/errors.js';
import { loadTaxonomy, numberTaxonomy, SPECIAL_STATES, Taxonomy } from '../../src/data/taxonomy/taxonomy.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-taxonomy-'));
function csvFile(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('built-in taxonomies', () => {
  it('occ1990dd is the default with 334 titles and the special states', () => {
    const t = loadTaxonomy();
    expect(t.name).toBe('occ1990dd');
    expect(t.size).toBe(334);
    expect(t.titleOf(SPECIAL_STATES.inEducation)).toBe('In education');
    expect(t.titleOf(SPECIAL_STATES.unemployed)).toBe('Unemployed');
    expect(t.titleOf(SPECIAL_STATES.notInLaborForce)).toBe('Not in labor force');
    expect(t.titleOf(SPECIAL_STATES.military)).toBe('Military occupations');
    expect(t.groupOf('7')).toBe('Management');
    expect(t.codeOfTitle('Financial managers')).toBe('7');
    expect(t.codeOfTitle('Astronauts')).toBeUndefined();
    expect(new Set(t.titles()).size).toBe(334);
    expect(t.codes()).toHaveLength(334);
    expect(t.indexOf(t.codes()[10] as string)).toBe(10);
    expect(t.indexOf('nope')).toBe(-1);
  });

  it('soc2018 has exactly the 867 SOC titles (no special states appended)', () => {
    const t = loadTaxonomy('soc2018');
    expect(t.size).toBe(867);
    expect(t.has('9002')).toBe(false);
    expect(t.titleOf('11-1011')).toBe('Chief Executives');
  });

  it('titleOf an unknown code and an unknown taxonomy name are NotFoundErrors', () => {
    expect(() => loadTaxonomy().titleOf('123456')).toThrow(NotFoundError);
    expect(() => loadTaxonomy('occ2010')).toThrow(/unknown taxonomy "occ2010": use one of occ1990dd, soc2018/);
  });
});

describe('numbered variant', () => {
  it('keeps codes and groups and replaces titles by a seeded permutation of job_001..job_334', () => {
    const base = loadTaxonomy();
    const a = loadTaxonomy('occ1990dd', { numbered: { seed: 7 } });
    expect(a.codes()).toEqual(base.codes());
    expect(a.entries.map((e) => e.group)).toEqual(base.entries.map((e) => e.group));
    expect(a.numberedSeed).toBe(7);
    const expected = Array.from({ length: 334 }, (_, i) => `job_${String(i + 1).padStart(3, '0')}`);
    expect([...a.titles()].sort()).toEqual(expected);
    // Not the identity order, reproducible, and seed-dependent.
    expect(a.titles()).not.toEqual(expected);
    expect(loadTaxonomy('occ1990dd', { numbered: { seed: 7 } }).titles()).toEqual(a.titles());
    expect(loadTaxonomy('occ1990dd', { numbered: { seed: 8 } }).titles()).not.toEqual(a.titles());
  });

  it('pads to the width of the largest number', () => {
    const entries = Array.from({ length: 1200 }, (_, i) => ({ code: `c${i}`, title: `t${i}`, group: '' }));
    const t = numberTaxonomy(new Taxonomy('big', entries), 1);
    expect(t.titles()).toContain('job_0001');
    expect(t.titles()).toContain('job_1200');
  });
});

describe('user CSV taxonomies', () => {
  it('loads code,title with quoting and an optional group column', () => {
    const t = loadTaxonomy(csvFile('ok.csv', 'title,code\n"Cooks, chefs",1\nWaiters,2\n'));
    expect(t.size).toBe(2);
    expect(t.titleOf('1')).toBe('Cooks, chefs');
    expect(t.groupOf('1')).toBe('');
    const g = loadTaxonomy(csvFile('group.csv', '\ufeffcode,title,group\n1,Cooks,Food\n'));
    expect(g.groupOf('1')).toBe('Food');
  });

  const bad: [string, string | Buffer, RegExp][] = [
    ['empty.csv', '', /empty\.csv:1: the taxonomy file is empty/],
    ['noheader.csv', '1,Cooks\n2,Waiters\n', /noheader\.csv:1: expected a header row/],
    ['headeronly.csv', 'code,title\n', /headeronly\.csv:1: the taxonomy file has a header but no rows/],
    ['dupcode.csv', 'code,title\n1,Cooks\n2,Waiters\n1,Bakers\n', /dupcode\.csv:4:1 \(field "code"\): duplicate code "1" \(first on line 2\)/],
    ['duptitle.csv', 'code,title\n1,Cooks\n2,Cooks\n', /duptitle\.csv:3:2 \(field "title"\): duplicate title "Cooks"/],
    ['emptytitle.csv', 'code,title\n1,Cooks\n2,\n', /emptytitle\.csv:3:2 \(field "title"\): empty title/],
    ['columns.csv', 'code,title\n1,Cooks\n2,Waiters,extra\n', /columns\.csv:3: malformed CSV/],
    ['newline.csv', 'code,title\n1,"Cooks\nand chefs"\n', /newline\.csv:3:2 \(field "title"\): title .* contains a line break/],
    ['latin1.csv', Buffer.from('code,title\n1,Cooks\n2,Caf\xe9 workers\n', 'latin1'), /latin1\.csv:3: invalid UTF-8/],
    ['utf16.csv', Buffer.from('\ufeffcode,title\n1,Cooks\n', 'utf16le'), /utf16\.csv:1: the file is UTF-16 encoded/],
  ];
  for (const [name, content, message] of bad) {
    it(`rejects ${name} with file and line`, () => {
      const path = csvFile(name, content);
      expect(() => loadTaxonomy(path)).toThrow(InputError);
      expect(() => loadTaxonomy(path)).toThrow(message);
    });
  }
});
