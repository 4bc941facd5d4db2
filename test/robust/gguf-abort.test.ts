/**
 * GGUF headers llama.cpp asserts on (GGML_ASSERT aborts the process) or fails on obscurely: each one is
 * loaded in a child process, so an abort shows as a failed test, and must come back as a ModelError
 * (exit 4) from the engine's own check; `model info` must give the same verdict.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { gguf, type GgufValue } from '../../src/models/gguf/index.js';
import { runCli } from '../helpers/run-cli.js';
import { lowercasingModelPath } from '../helpers/eval-fixtures.js';
import { tinyModelPath } from '../helpers/models.js';
import { loadInChild, loadSource, withMetadata, type Source } from './gguf-mutate.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-gguf-abort-'));

/** Each case: metadata changes and a phrase the refusal must contain. */
function cases(src: Source): [string, Record<string, GgufValue | undefined>, RegExp][] {
  const tokens = src.file.metadata.get('tokenizer.ggml.tokens')!;
  const list = tokens.type === 'array' && tokens.itemType === 'string' ? tokens.value : [];
  return [
    ['block_count 0', { 'llama.block_count': gguf.u32(0) }, /block_count is 0/],
    ['block_count 1000', { 'llama.block_count': gguf.u32(1000) }, /block_count is 1000/],
    ['block_count 2^31-1', { 'llama.block_count': gguf.u32(2 ** 31 - 1) }, /block_count is 2147483647/],
    ['rms epsilon NaN', { 'llama.attention.layer_norm_rms_epsilon': gguf.f32(NaN) }, /layer_norm_rms_epsilon is NaN/],
    ['rms epsilon negative', { 'llama.attention.layer_norm_rms_epsilon': gguf.f32(-1e-5) }, /layer_norm_rms_epsilon is -/],
    ['expert_count 1000', { 'llama.expert_count': gguf.u32(1000) }, /no expert would run/],
    ['expert_count 5000', { 'llama.expert_count': gguf.u32(5000), 'llama.expert_used_count': gguf.u32(2) }, /at most 1024 experts/],
    ['expert_used_count without experts', { 'llama.expert_used_count': gguf.u32(5) }, /expert_used_count is 5/],
    ['nextn_predict_layers 5', { 'llama.nextn_predict_layers': gguf.u32(5) }, /nextn_predict_layers is 5/],
    ['rope scaling "cubic"', { 'llama.rope.scaling.type': gguf.str('cubic') }, /rope.scaling.type "cubic"/],
    ['tokenizer "bert" over byte tokens', { 'tokenizer.ggml.model': gguf.str('bert') }, /marks token 3 as a byte token/],
    ['tokenizer "none"', { 'tokenizer.ggml.model': gguf.str('none') }, /tokenizer.ggml.model is "none"/],
    ['identical token strings', { 'tokenizer.ggml.tokens': gguf.strings(list.map(() => 'a')) }, /same string at index 0 and 1/],
    [
      'no byte tokens',
      { 'tokenizer.ggml.tokens': gguf.strings(list.map((t, i) => (/^<0x[0-9A-F]{2}>$/.test(t) ? `byte${i}` : t))) },
      /lacks 256 of the 256 byte tokens/,
    ],
    ['head_count_kv 3', { 'llama.attention.head_count_kv': gguf.u32(3) }, /not a multiple of llama.attention.head_count_kv 3/],
  ];
}

describe('GGUF files llama.cpp would abort on', () => {
  let src: Source;
  let files: { name: string; path: string; why: RegExp }[];
  beforeAll(async () => {
    src = await loadSource(await tinyModelPath('llama-spm'));
    files = [];
    for (const [i, [name, changes, why]] of cases(src).entries()) {
      files.push({ name, path: await withMetadata(src, join(dir, `case-${i}.gguf`), changes), why });
    }
  });

  it('the engine refuses each with a ModelError (exit 4) and the process lives', () => {
    const r = loadInChild(files.map((f) => f.path));
    expect({ status: r.status, signal: r.signal, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
    for (const [i, f] of files.entries()) {
      expect({ name: f.name, code: r.results[i]?.code }).toEqual({ name: f.name, code: 4 });
      expect(r.results[i]!.message).toMatch(f.why);
      expect(r.results[i]!.message).toContain(f.path);
    }
  });

  it('model info gives the same verdict: the summary, then exit 4 naming the problem', async () => {
    for (const f of files) {
      const r = await runCli(['model', 'info', f.path, '--json']);
      expect({ name: f.name, code: r.code }).toEqual({ name: f.name, code: 4 });
      const info = JSON.parse(r.stdout) as { engine: { ok: boolean; problems: string[] } };
      expect(info.engine.ok).toBe(false);
      expect(info.engine.problems.join('; ')).toMatch(f.why);
      expect(r.stderr).toMatch(f.why);
    }
  });

  it('the valid model passes both', async () => {
    const path = await tinyModelPath('llama-spm');
    const r = loadInChild([path, await tinyModelPath('llama-bpe'), await lowercasingModelPath()]);
    // The WordPiece model loads; it only refuses titles it cannot spell (an input error, exit 2).
    expect(r.results.map((x) => x.code)).toEqual([0, 0, 2]);
    expect(r.results[2]!.message).not.toMatch(/cannot load/);
    const info = await runCli(['model', 'info', path]);
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/engine\s+loads it/);
  });
});
