/**
 * Token lengths of the templates' texts (docs/templates.md): whole texts of the first 100 test workers of
 * a 2,000-worker synthetic panel of each survey profile, tokenized by the real Llama-2 (SentencePiece)
 * and Llama-3 (BPE) vocabularies of tiny models. Prints median / longest per template.
 *
 *   node --import tsx bench/template-lengths.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Model } from '../src/engine/model.js';
import { writeTinyLlama } from '../src/models/gguf/index.js';
import { splitPanel } from '../src/data/split/index.js';
import { synthesizePanel } from '../src/data/synth/index.js';
import { loadTaxonomy } from '../src/data/taxonomy/taxonomy.js';
import { getTemplate, TEMPLATE_NAMES } from '../src/data/template/index.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-lengths-'));
const taxonomy = loadTaxonomy('occ1990dd');
for (const profile of ['psid81', 'nlsy79', 'nlsy97']) {
  const { panel } = synthesizePanel({ profile, workers: 2000, seed: 1, taxonomy });
  const parts = splitPanel(panel, { seed: 0 });
  const test = parts.test.workers.slice(0, 100);
  for (const vocab of ['llama-spm', 'llama-bpe'] as const) {
    const path = join(dir, `${vocab}.gguf`);
    await writeTinyLlama({ vocab, seed: 1, out: path, type: 'f32', preset: 'tiny' });
    const model = await Model.load(path, { threads: 1 });
    const row: string[] = [];
    for (const name of TEMPLATE_NAMES) {
      const t = getTemplate(name, { taxonomy, icl: { pool: parts.train.workers } });
      const n = test.map((w) => model.tokenize(t.render(w).text, { addSpecial: true }).length).sort((a, b) => a - b);
      row.push(`${name} ${n[50]} / ${n[n.length - 1]}`);
    }
    process.stdout.write(`${profile} ${vocab}: ${row.join('; ')}\n`);
    await model.free();
  }
}
