import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../../src/errors.js';
import { readGguf } from '../../../src/models/gguf/index.js';
import { runCli as run } from '../../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-model-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('labor-llm model', () => {
  it('tiny writes a model and reports it as JSON; info reads it back', async () => {
    const path = join(dir, 'tiny.gguf');
    const made = await run(['model', 'tiny', '--vocab', 'llama-spm', '--seed', '4', '--out', path, '--n-layer', '1', '--json']);
    expect(made.code).toBe(0);
    const report = JSON.parse(made.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ path, vocab: 'llama-spm', seed: 4, preset: 'tiny', type: 'f32', tensorCount: 12 });
    expect((await readGguf(path)).tensors).toHaveLength(12);

    const info = await run(['model', 'info', path, '--json']);
    expect(info.code).toBe(0);
    const s = JSON.parse(info.stdout) as Record<string, unknown>;
    expect(s).toMatchObject({
      architecture: 'llama',
      tensorCount: 12,
      parameterCount: report.parameterCount,
      llama: { nLayer: 1, nEmbd: 64, nVocab: 32000 },
      tokenizer: { model: 'llama', tokens: 32000 },
      tensorTypes: { f32: 12 },
    });
    expect((s.metadata as Record<string, unknown>)['tokenizer.ggml.tokens']).toEqual({ itemType: 'string', length: 32000 });

    const human = await run(['model', 'info', path, '--tensors']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/tensors\s+12 \(12 f32\)/);
    expect(human.stdout).toContain('blk.0.ffn_down.weight  f32  [128, 64]');
  });

  it('exits with typed error codes on bad input', async () => {
    const missing = await run(['model', 'info', join(dir, 'missing.gguf')]);
    expect(missing.code).toBe(EXIT_CODES.NOT_FOUND);
    const text = join(dir, 'titles.csv');
    writeFileSync(text, 'code,title\n');
    const notGguf = await run(['model', 'info', text]);
    expect(notGguf.code).toBe(EXIT_CODES.MODEL);
    expect(notGguf.stderr).toContain(`${text}: not a GGUF file`);
    const badVocab = await run(['model', 'tiny', '--vocab', 'gpt2', '--out', join(dir, 'x.gguf')]);
    expect(badVocab.code).toBe(EXIT_CODES.INPUT);
    const badSeed = await run(['model', 'tiny', '--vocab', 'llama-spm', '--seed', '1.5', '--out', join(dir, 'x.gguf')]);
    expect(badSeed.code).toBe(EXIT_CODES.INPUT);
    expect(badSeed.stderr).toContain('--seed');
  });
});
