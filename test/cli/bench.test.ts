/**
 * `labor-llm bench` through the CLI entry, on the tiny Llama-2-vocabulary benchmark model: the JSON on
 * stdout has one row per mode, and its token counts agree with the title set and tokenization of the same
 * model built here independently (trie: prompt + internal nodes; sequential: prompt + every title token
 * but each title's last). The human form prints the table on stdout, progress on stderr, and --out
 * writes the same record.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCH_PROMPT, benchModelPath, ENGINE_BENCH_MODES, formatEngineBench, type EngineBenchRecord } from '../../src/bench/engine.js';
import { Model, type TitleSetInfo } from '../../src/engine/model.js';
import { EXIT_CODES } from '../../src/errors.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { runCli } from '../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The title set and prompt length of the benchmark model, computed without the benchmark. */
let expected: { info: TitleSetInfo; promptTokens: number; titles: number };
beforeAll(async () => {
  const model = await Model.load(await benchModelPath('llama-spm', 'tiny'), { threads: 1 });
  try {
    const titles = loadTaxonomy('occ1990dd').titles();
    const set = await model.titleSet(titles);
    // The engine's prompt tokens include the BOS token.
    expected = { info: set.info(), promptTokens: model.tokenize(BENCH_PROMPT, { addSpecial: true }).length, titles: titles.length };
  } finally {
    await model.free();
  }
});

describe('labor-llm bench', () => {
  it('--json: a row per mode whose counts follow from the title trie', async () => {
    const r = await runCli(['bench', '--vocab', 'llama-spm', '--iterations', '1', '--no-reference', '--threads', '1', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT_CODES.OK);
    const record = JSON.parse(r.stdout) as EngineBenchRecord & { command: string };
    expect(record.command).toBe('bench');
    expect(record.cpus).toBeGreaterThan(0);
    expect(record.results).toHaveLength(1);
    const res = record.results[0]!;
    expect(res.model).toMatchObject({ vocab: 'llama-spm', preset: 'tiny' });
    expect(res.settings).toEqual({ threads: 1, batchSize: 256, iterations: 1 });
    expect(res.taxonomy).toBe('occ1990dd');
    expect(res.titles).toBe(expected.titles);
    expect(res.trie).toEqual({
      nodes: expected.info.trieNodes,
      internalNodes: expected.info.internalNodes,
      titleTokens: expected.info.titleTokens,
      maxDepth: expected.info.maxDepth,
    });
    expect(res.promptTokens).toBe(expected.promptTokens);
    // Every mode but the per-title reference (--no-reference), in the benchmark's order.
    expect(res.rows.map((x) => x.mode)).toEqual(ENGINE_BENCH_MODES.filter((m) => !m.reference).map((m) => m.name));
    expect(res.rows.map((x) => x.mode).slice(0, 2)).toEqual(['sequential', 'trie']);
    const trie = res.rows.find((x) => x.mode === 'trie')!;
    const sequential = res.rows.find((x) => x.mode === 'sequential')!;
    // The trie evaluates the prompt once and each internal node once; a title's last token is scored from its parent's logits.
    expect(trie.evaluatedTokens).toBe(res.promptTokens + res.trie.internalNodes);
    // Sequential: the prompt once, then each title's tokens but its last.
    expect(sequential.evaluatedTokens).toBe(res.promptTokens + res.trie.titleTokens - res.titles);
    // One decode for the prompt and one per title.
    expect(sequential.decodeCalls).toBe(res.titles + 1);
    expect(trie.decodeCalls).toBeLessThan(sequential.decodeCalls);
    for (const row of res.rows) {
      expect(row.msPerPrompt).toBeGreaterThan(0);
      expect(row.tokensPerSecond).toBeCloseTo((row.evaluatedTokens / row.msPerPrompt) * 1000, 6);
    }
    expect(res.allLogitsTokensPerSecond).toBeGreaterThan(0);
    expect(res.efficiency).toBeGreaterThan(0);
    for (const row of res.rows) expect(row.adjacentAllLogitsTokensPerSecond).toBeGreaterThan(0);
    // Efficiency is taken against the yardstick runs beside the trie's.
    expect(res.efficiency).toBeCloseTo(trie.tokensPerSecond / trie.adjacentAllLogitsTokensPerSecond, 9);
    expect(res.speedup.overSequential).toBeCloseTo(sequential.msPerPrompt / trie.msPerPrompt, 9);
    expect(res.speedup.overReference).toBeNull();
    // The ceiling: sequential's time over the trie's tokens at the all-logits rate.
    expect(res.ceiling.overSequential).toBeCloseTo(sequential.msPerPrompt / ((trie.evaluatedTokens / trie.adjacentAllLogitsTokensPerSecond) * 1000), 9);
    expect(res.speedup.overSequential / res.ceiling.overSequential).toBeCloseTo(res.efficiency, 9);
    expect(res.ceiling.overReference).toBeNull();
    // The fused head: on for this CPU build; the trie row without it evaluates the same tokens.
    const plain = res.rows.find((x) => x.mode === 'trie, llama.cpp logits')!;
    expect(plain.evaluatedTokens).toBe(trie.evaluatedTokens);
    expect(plain.decodeCalls).toBe(trie.decodeCalls);
    expect(res.head.status).toBe('fused');
    expect(res.head.overLlamaLogits).toBeCloseTo(plain.msPerPrompt / trie.msPerPrompt, 9);
    expect(res.head.allLogitsTokensPerSecond).toBeGreaterThan(0);
    expect(res.head.efficiency).toBeCloseTo(trie.tokensPerSecond / res.head.allLogitsTokensPerSecond!, 9);
    expect(res.head.ceilingOverSequential).toBeCloseTo(sequential.msPerPrompt / ((trie.evaluatedTokens / res.head.allLogitsTokensPerSecond!) * 1000), 9);
  });

  it('prints the table on stdout, progress per model on stderr, and writes --out', async () => {
    const out = join(dir, 'bench.json');
    const r = await runCli(['bench', '--vocab', 'llama-spm', '--iterations', '1', '--reference', 'false', '--threads', '1', '--out', out]);
    expect(r.code).toBe(EXIT_CODES.OK);
    const record = JSON.parse(readFileSync(out, 'utf8')) as EngineBenchRecord;
    expect(record.results).toHaveLength(1);
    expect(r.stdout).toBe(`${formatEngineBench(record.results[0]!)}\n\n`);
    expect(r.stdout).toMatch(/\| trie \| [\d.]+ \| \d+ \| \d+ \| \d+ \|/);
    expect(r.stdout).not.toMatch(/\| reference \|/);
    expect(r.stderr).toMatch(/^bench tiny llama-spm: started/m);
    expect(r.stderr).toMatch(/^bench tiny llama-spm: done in \d+s \(trie [\d.]+ ms per prompt, efficiency [\d.]+\)$/m);
    expect(r.stderr).toContain(`wrote ${out}`);
  });

  it('rejects a bad option before loading anything (exit code 2)', async () => {
    const r = await runCli(['bench', '--iterations', '0']);
    expect(r.code).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toMatch(/--iterations must be an integer >= 1, got 0/);
    expect(r.stdout).toBe('');
    const v = await runCli(['bench', '--vocab', 'gpt2']);
    expect(v.code).toBe(EXIT_CODES.INPUT);
    expect(v.stderr).toMatch(/vocab/);
  });
});
