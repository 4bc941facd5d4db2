import { describe, expect, it } from 'vitest';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { titleGlossary } from '../../src/data/training/index.js';

describe('titleGlossary', () => {
  const taxonomy = loadTaxonomy('occ1990dd');

  it('lists every title once per copy, in seeded orders, in short documents', () => {
    const docs = titleGlossary(taxonomy, { copies: 3, perDocument: 20, seed: 7 });
    const lines = docs.flatMap((d) => d.split('\n').filter((l) => l.startsWith('Occupation: ')));
    const count = new Map<string, number>();
    for (const l of lines) count.set(l.slice('Occupation: '.length), (count.get(l.slice('Occupation: '.length)) ?? 0) + 1);
    expect(count.size).toBe(taxonomy.size);
    expect([...count.values()].every((n) => n === 3)).toBe(true);
    expect(docs.every((d) => d.startsWith('<Occupations>\n') && d.endsWith('\n') && d.split('\n').length - 2 <= 20)).toBe(true);
    // Each copy has its own order; the same seed gives the same documents.
    const copy = (k: number) => lines.slice(k * taxonomy.size, (k + 1) * taxonomy.size);
    expect(copy(0)).not.toEqual(copy(1));
    expect(titleGlossary(taxonomy, { copies: 3, perDocument: 20, seed: 7 })).toEqual(docs);
    expect(titleGlossary(taxonomy, { copies: 3, perDocument: 20, seed: 8 })).not.toEqual(docs);
  });

  it('refuses impossible settings', () => {
    expect(() => titleGlossary(taxonomy, { copies: -1 })).toThrow(/copies/);
    expect(() => titleGlossary(taxonomy, { perDocument: 0 })).toThrow(/perDocument/);
    expect(titleGlossary(taxonomy, { copies: 0 })).toEqual([]);
  });
});
