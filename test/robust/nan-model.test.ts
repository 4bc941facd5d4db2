/** A model whose weights hold NaN: a ModelError when it is used, not empty scores with exit 0. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Model } from '../../src/engine/model.js';
import { InputError, ModelError } from '../../src/errors.js';
import { safeFileName } from '../../src/models/finetune/hosted/json.js';
import { loadSource, smallModel, withMetadata } from './gguf-mutate.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-nan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('scoring titles or spans with NaN weights is a ModelError naming the model', async () => {
  const src = await loadSource(await smallModel(join(dir, 'base.gguf')));
  src.tensors = src.tensors.map((t) => (t.name === 'output_norm.weight' ? { ...t, data: new Float32Array((t.data as Float32Array).length).fill(NaN) } : t));
  const path = await withMetadata(src, join(dir, 'nan.gguf'), {});
  const model = await Model.load(path, { threads: 1, contextSize: 128 });
  try {
    const set = await model.titleSet(['Nurse', 'Teacher']);
    const err = await model.scoreTitles('Occupation:', set).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/nan\.gguf: the model computes NaN log-probabilities/);
    const spans = await model.scoreSpans('Occupation: Nurse', [[11, 17]]).catch((e: unknown) => e);
    expect(spans).toBeInstanceOf(ModelError);
  } finally {
    await model.free();
  }
});

it('a 300-character output name from a service becomes a file name that fits', () => {
  const name = safeFileName(`org/${'x'.repeat(300)}`);
  expect(name.length).toBeLessThanOrEqual(160);
  expect(safeFileName(`org/${'x'.repeat(300)}`)).toBe(name);
  expect(safeFileName(`org/${'x'.repeat(299)}y`)).not.toBe(name);
  expect(safeFileName('org/model')).toBe('org--model');
});

it('span scoring of a text far beyond the context fails at the first tokenization (a 10 MB field)', async () => {
  const model = await Model.load(await smallModel(join(dir, 'small.gguf')), { threads: 1, contextSize: 128 });
  try {
    const text = `Occupation: ${'Nurse '.repeat(50_000)}`;
    const spans = Array.from({ length: 20 }, (_, i): [number, number] => [12 + 6 * i, 17 + 6 * i]);
    const err = await model.scoreSpans(text, spans).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/the text has \d+ tokens, more than the context size of \d+ tokens/);
  } finally {
    await model.free();
  }
});
