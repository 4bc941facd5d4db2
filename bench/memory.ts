/**
 * Peak resident memory of scoring one prompt over all titles, each configuration in a fresh
 * process: `node --import tsx bench/memory.ts [--preset tiny|170m] [--vocab llama-spm|llama-bpe]`.
 * Reports the peak RSS above the model's size, for occ1990dd (334 titles) and SOC 2018 (867).
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { benchModelPath } from '../src/bench/engine.js';
import type { TinyPreset, VocabName } from '../src/models/gguf/index.js';

const { values } = parseArgs({
  options: { preset: { type: 'string', default: 'tiny' }, vocab: { type: 'string', default: 'llama-spm' } },
});
const path = await benchModelPath(values.vocab as VocabName, values.preset as TinyPreset);
const prompt = '<A Resume from the PSID81 Dataset>\n1990 to 1991 (college): Cooks\n1991 to 1992 (college):';
const rows = ['occ1990dd', 'soc2018'].map((taxonomy) => {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/memory-child.ts', path, taxonomy, prompt], {
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!) as {
    taxonomy: string;
    titles: number;
    internalNodes: number;
    modelBytes: number;
    baselineRssKiB: number;
    peakRssKiB: number;
  };
});
console.log(`model ${values.preset} ${values.vocab}: ${(rows[0]!.modelBytes / 2 ** 20).toFixed(1)} MiB`);
console.log('| titles | internal nodes | peak RSS (MiB) | peak RSS - model size (MiB) |');
console.log('| ---: | ---: | ---: | ---: |');
for (const r of rows) {
  const peak = r.peakRssKiB / 1024;
  console.log(`| ${r.titles} | ${r.internalNodes} | ${peak.toFixed(0)} | ${(peak - r.modelBytes / 2 ** 20).toFixed(0)} |`);
}
