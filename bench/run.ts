/**
 * `npm run bench [-- --vocab llama-spm|llama-bpe|both --preset tiny|170m --iterations N --no-reference --json]`
 * Runs the engine benchmark (src/bench/engine.ts; also `labor-llm bench`) and writes
 * bench/results/engine-<date>.json beside the printed table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpus } from 'node:os';
import { engineBenchRecord, formatEngineBench, runEngineBench, type EngineBenchResult } from '../src/bench/engine.js';
import type { TinyPreset, VocabName } from '../src/models/gguf/index.js';

const { values } = parseArgs({
  options: {
    vocab: { type: 'string', default: 'both' },
    preset: { type: 'string', default: 'tiny' },
    taxonomy: { type: 'string', default: 'occ1990dd' },
    iterations: { type: 'string', default: '5' },
    threads: { type: 'string', default: String(cpus().length) },
    'batch-size': { type: 'string', default: '256' },
    'no-reference': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

const vocabs: VocabName[] = values.vocab === 'both' ? ['llama-spm', 'llama-bpe'] : [values.vocab as VocabName];
const results: EngineBenchResult[] = [];
for (const vocab of vocabs) {
  const r = await runEngineBench({
    vocab,
    preset: values.preset as TinyPreset,
    taxonomy: values.taxonomy!,
    threads: Number(values.threads),
    batchSize: Number(values['batch-size']),
    iterations: Number(values.iterations),
    skipReference: values['no-reference']!,
  });
  results.push(r);
  if (!values.json) console.log(`${formatEngineBench(r)}\n`);
}
const dir = join(process.cwd(), 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `engine-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(engineBenchRecord(results), null, 2)}\n`);
if (values.json) console.log(JSON.stringify(results, null, 2));
else console.log(`written ${file}`);
