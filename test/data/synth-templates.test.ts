import { describe, expect, it } from 'vitest';
import { recordsOf } from '../../src/data/panel/validate.js';
import { synthesizePanel } from '../../src/data/synth/index.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { continuationOf, getTemplate, TEMPLATE_NAMES } from '../../src/data/template/index.js';

// Every prediction prompt of every transition of synthetic panels, for every template.
describe('prediction prompts on synthetic panels', () => {
  const taxonomies = [loadTaxonomy(), loadTaxonomy('occ1990dd', { numbered: { seed: 3 } })];
  const panels = (['psid81', 'nlsy79', 'nlsy97'] as const).map((profile) => synthesizePanel({ profile, workers: 15, seed: 2 }).panel);
  for (const name of TEMPLATE_NAMES) {
    it(`${name}: each prompt is a prefix of the worker's text, followed by " " + title + "\\n"`, () => {
      let checked = 0;
      for (const taxonomy of taxonomies) {
        for (const panel of panels) {
          const template = getTemplate(name, { taxonomy, icl: { pool: panel.workers, k: 2, seed: 1 } });
          for (const w of panel.workers) {
            const r = template.render(w);
            const prompts = template.prompts(w);
            expect(prompts.map((p) => p.index)).toEqual(recordsOf(w).map((t) => t.index));
            for (const p of prompts) {
              const span = r.spans[p.index];
              expect(r.text.startsWith(p.prompt)).toBe(true);
              expect(p.prompt.length).toBe(span?.start);
              expect(p.title).toBe(taxonomy.titleOf(w.records[p.index]?.code as string));
              expect(r.text.slice(p.prompt.length, span?.end)).toBe(continuationOf(p.title));
              checked++;
            }
          }
        }
      }
      expect(checked).toBeGreaterThan(500);
    });
  }
});
