/** Models and prompts shared by the engine tests: tiny f32 llama models written at test time. */
import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeTinyLlama, TINY_LLAMA_VERSION, type VocabName } from '../../src/models/gguf/index.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';

const cacheDir = join(process.cwd(), '.cache', 'test-models');

/** A tiny f32 llama model with the given real tokenizer, written once and cached. */
export async function tinyModel(vocab: VocabName, seed = 7): Promise<string> {
  mkdirSync(cacheDir, { recursive: true });
  const out = join(cacheDir, `engine-${vocab}-s${seed}-v${TINY_LLAMA_VERSION}.gguf`);
  if (!existsSync(out)) await writeTinyLlama({ vocab, seed, out });
  return out;
}

export const occTitles = (): string[] => loadTaxonomy('occ1990dd').titles();
export const socTitles = (): string[] => loadTaxonomy('soc2018').titles();

/** Prompts in the shape templates produce: they end right before the title's leading space. */
export const PROMPTS = [
  '<A Resume from the PSID81 Dataset>\nThe following is the resume of a male white US worker residing in the South.\n1990 to 1991 (college):',
  '<A Resume from the NLSY79 Dataset>\nThe following is the resume of a female black US worker residing in the Midwest born in 1961.\n1984 to 1985 (high school diploma): Cooks\n1985 to 1986 (high school diploma): Unemployed\n1986 to 1987 (some college):',
  'Occupation history.\n2001 (graduate degree): Lawyers and judges\n2002 (graduate degree): Lawyers and judges\n2003 (graduate degree):',
];

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
