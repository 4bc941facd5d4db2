/**
 * docs/reproduce-paper.md runs as written: every `labor-llm ...` line of its blocks marked
 * `<!-- reproduce:run -->` is run, in order, through the CLI, from a folder holding a small synthetic
 * stand-in of what the doc says a user brings (CAREER-format surveys, CAREER score files, GGUF models).
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BaselineScorer } from '../../src/eval/baseline.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { completeSplits, writeCareerDir } from '../../src/data/io/index.js';
import { ResultsStore } from '../../src/results/results-store.js';
import { synthesizePanel } from '../../src/data/synth/index.js';
import { packageRoot } from '../../src/package.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { runCli } from '../helpers/run-cli.js';
import { removeTempDirs, tempDir } from '../helpers/eval-fixtures.js';
import { tinyModelPath } from '../helpers/models.js';

afterAll(removeTempDirs);

const SURVEYS = [
  ['psid81', 'PSID81'],
  ['nlsy79', 'NLSY79'],
  ['nlsy97', 'NLSY97'],
] as const;

/** The command lines of each block marked to run, in document order. */
function runnableBlocks(doc: string): string[][] {
  const blocks: string[][] = [];
  const re = /<!-- reproduce:run -->\n```sh\n([\s\S]*?)\n```/g;
  for (const m of doc.matchAll(re)) blocks.push(m[1]!.split('\n').filter((l) => l.startsWith('labor-llm ')));
  return blocks;
}

async function runLine(line: string): Promise<void> {
  const r = await runCli([...line.split(/\s+/).slice(1), '--quiet']);
  expect(r.code, `${line}\n${r.stderr}`).toBe(0);
}

describe('docs/reproduce-paper.md', () => {
  it("runs its commands as written and prints the paper's table forms", async () => {
    const doc = readFileSync(join(packageRoot(), 'docs', 'reproduce-paper.md'), 'utf8');
    const blocks = runnableBlocks(doc);
    expect(blocks.map((b) => b.length)).toEqual([3, 13, 7, 3]);

    const dir = await tempDir('labor-llm-reproduce-');
    const taxonomy = loadTaxonomy('occ1990dd');
    for (const [i, [name]] of SURVEYS.entries()) {
      const { panel } = synthesizePanel({ profile: name, workers: 25, seed: 10 + i, taxonomy });
      const short = { ...panel, workers: panel.workers.map((w) => ({ ...w, records: w.records.slice(0, 6) })) };
      const { splits } = completeSplits(short, new Map(), { seed: 1 });
      await writeCareerDir(join(dir, 'career-data', name), short, splits);
    }
    mkdirSync(join(dir, 'models'), { recursive: true });
    const tiny = await tinyModelPath('llama-spm', 1);
    for (const m of ['ft-7b-nby', 'ft-13b-nby', 'llama-3.1-8b']) copyFileSync(tiny, join(dir, 'models', `${m}.gguf`));

    const cwd = process.cwd();
    process.chdir(dir);
    try {
      for (const line of blocks[0]!) await runLine(line);
      // CAREER's scores, as its NLL dict converted: here the empirical baseline's log-probs stand in.
      mkdirSync('career', { recursive: true });
      for (const [name] of SURVEYS) {
        const scratch = join(dir, `scratch-${name}.duckdb`);
        await evaluate({ data: `panels/${name}`, out: scratch, scorer: new BaselineScorer('empirical') });
        const s = await ResultsStore.open(scratch, { readOnly: true });
        const rows = await s.results('empirical');
        await s.close();
        writeFileSync(`career/${name}-scores.csv`, ['worker_id,year,log_prob', ...rows.map((r) => `${r.workerId},${r.year},${r.rawLogProb}`)].join('\n'));
      }
      for (const block of blocks.slice(1)) for (const line of block) await runLine(line);

      const table6 = readFileSync('table6.md', 'utf8');
      expect(table6).toContain('| Dataset | PSID81 | NLSY79 | NLSY97 |');
      const counts = await Promise.all(
        SURVEYS.map(async ([name]) => {
          const s = await ResultsStore.open(`results/${name}.duckdb`, { readOnly: true });
          const n = s.meta.dataset.transitions;
          await s.close();
          return n;
        }),
      );
      expect(table6).toContain(`| Number of records (\u2211 T_i) | ${counts.join(' | ')} |`);
      for (const run of ['empirical', 'CAREER', 'FT-7B-NBY', 'FT-13B-NBY']) expect(table6).toMatch(new RegExp(`\\| ${run} \\| \\d`));
      expect(table6).toMatch(/\| PPL\(CAREER\)\u2212PPL\(FT-7B-NBY\) \| /);
      // CAREER's stand-in is the empirical baseline: their paired difference is zero.
      expect(table6).toMatch(/\| PPL\(CAREER\)\u2212PPL\(empirical\) \| 0\.00 \(0\.00\)/);
      // Section 5: the mixtures and the randomized panel are panel folders the other commands read.
      for (const p of ['panels/mix20', 'panels/psid81-plus10', 'panels/psid81-gender']) expect(readFileSync(join(p, 'meta.json'), 'utf8')).toMatch(/"workers"/);
      const ots = readFileSync('off-the-shelf.md', 'utf8');
      expect(ots).toContain('| **Models without job titles in prompt** |');
      expect(ots).toMatch(/\| OTS-Llama-3\.1-8B-titles \| 0 \| /);
    } finally {
      process.chdir(cwd);
    }
  });
});
