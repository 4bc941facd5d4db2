/**
 * Title glossary documents: every title of a taxonomy, one "Occupation: <title>" line each, in a seeded
 * order, split into short documents. A pretrained LLM already knows how occupation names are spelled;
 * a model trained from random weights (the demo's tiny model) does not, and without them every title
 * absent from its few training resumes gets a vanishing probability. Training on the glossary beside
 * the resumes stands in for that prior knowledge: it teaches the titles' token sequences, not who moves
 * where. Say so wherever such a model's numbers are shown.
 */
import { Prng } from '../synth/prng.js';
import type { Taxonomy } from '../taxonomy/taxonomy.js';

export interface GlossaryOptions {
  /** Passes over the whole title list, each in its own order (default 1). */
  copies?: number;
  /** Titles per document (default 20). */
  perDocument?: number;
  seed?: number;
}

export function titleGlossary(taxonomy: Taxonomy, o: GlossaryOptions = {}): string[] {
  const copies = o.copies ?? 1;
  const per = o.perDocument ?? 20;
  if (!Number.isInteger(copies) || copies < 0) throw new RangeError(`copies must be an integer >= 0, got ${copies}`);
  if (!Number.isInteger(per) || per < 1) throw new RangeError(`perDocument must be an integer >= 1, got ${per}`);
  const rng = new Prng(o.seed ?? 0);
  const docs: string[] = [];
  for (let c = 0; c < copies; c++) {
    const titles = rng.shuffle([...taxonomy.titles()]);
    for (let i = 0; i < titles.length; i += per) {
      docs.push(`<Occupations>\n${titles.slice(i, i + per).map((t) => `Occupation: ${t}\n`).join('')}`);
    }
  }
  return docs;
}
