/** Bad input gets a typed error with a clear message, and the process (and the model) survive. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError, ModelError, NotFoundError, ParameterError, StateError } from '../../src/errors.js';
import { cliMessage } from '../../src/cli/flags.js';
import { Model, type TitleSet } from '../../src/engine/model.js';
import { gguf, readGguf, readTensorData, writeGguf } from '../../src/models/gguf/index.js';
import { PROMPTS, maxAbsDiff, occTitles, tinyModel } from '../helpers/engine-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-engine-errors-'));

describe('options the engine refuses', () => {
  it('name the parameter (a ParameterError), which the CLI prints as its flag', async () => {
    const model = await tinyModel('llama-spm');
    const err = await Model.load(model, { contextSize: 32 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParameterError);
    expect((err as ParameterError).parameter).toBe('contextSize');
    expect((err as Error).message).toMatch(/: `contextSize` must be an integer in \[64, 2147483647\], got 32$/);
    expect(cliMessage(err as ParameterError)).toMatch(/: --context-size must be an integer in \[64, 2147483647\], got 32$/);
    // A nested option keeps its path and stays a plain input error.
    const nested = await Model.load(model, { lora: [{ path: model, scale: Number.NaN }] }).catch((e: unknown) => e);
    expect(nested).toBeInstanceOf(InputError);
    expect(nested).not.toBeInstanceOf(ParameterError);
  });
});

describe('loading bad model files', () => {
  it('rejects a missing file', async () => {
    await expect(Model.load(join(dir, 'nope.gguf'))).rejects.toThrow(NotFoundError);
    await expect(Model.load(join(dir, 'nope.gguf'))).rejects.toThrow(/not found/);
  });

  it('rejects a file that is not GGUF', async () => {
    const f = join(dir, 'text.gguf');
    writeFileSync(f, 'this is not a model\n'.repeat(100));
    await expect(Model.load(f)).rejects.toThrow(/not a GGUF file/);
  });

  it('rejects a truncated GGUF', async () => {
    const full = readFileSync(await tinyModel('llama-spm'));
    for (const keep of [12, 5000, Math.floor(full.length / 2), full.length - 100]) {
      const f = join(dir, `truncated-${keep}.gguf`);
      writeFileSync(f, full.subarray(0, keep));
      const err = await Model.load(f).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelError);
      expect((err as Error).message).toContain(f);
    }
  });

  it('rejects a corrupt GGUF header', async () => {
    const full = Buffer.from(readFileSync(await tinyModel('llama-spm')));
    // Keep the magic, scribble over the version, counts and first keys.
    for (let i = 4; i < 200; i++) full[i] = (i * 37) & 0xff;
    const f = join(dir, 'corrupt.gguf');
    writeFileSync(f, full);
    await expect(Model.load(f)).rejects.toThrow(ModelError);
  });

  it('rejects a GGUF of another architecture', async () => {
    const src = await tinyModel('llama-spm');
    const file = await readGguf(src);
    const tensors = await Promise.all(
      file.tensors.map(async (t) => ({ name: t.name, dims: t.dims, type: 'f32' as const, data: await readTensorData(file, t.name) })),
    );
    for (const arch of ['gpt2', 'no-such-architecture']) {
      const metadata = [...file.metadata.entries()].map(([k, v]) =>
        k === 'general.architecture' ? ([k, gguf.str(arch)] as const) : ([k.replace(/^llama\./, `${arch}.`), v] as const),
      );
      const f = join(dir, `${arch}.gguf`);
      await writeGguf(f, { metadata, tensors });
      const err = await Model.load(f).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelError);
      expect((err as Error).message).toContain(arch);
    }
  });

  it('rejects a vocabulary-only GGUF (no weights)', async () => {
    await expect(Model.load('vendor/llama.cpp/models/ggml-vocab-llama-spm.gguf')).rejects.toThrow(ModelError);
  });
});

describe('bad calls on a loaded model', () => {
  let model: Model;
  let titles: TitleSet;
  beforeAll(async () => {
    model = await Model.load(await tinyModel('llama-spm'), { threads: 2, contextSize: 256 });
    titles = await model.titleSet(occTitles());
  });
  afterAll(async () => model.free());

  it('rejects an empty title list', async () => {
    await expect(model.titleSet([])).rejects.toThrow(InputError);
  });

  it('rejects duplicated titles', async () => {
    await expect(model.titleSet(['Cooks', 'Lawyers and judges', 'Cooks'])).rejects.toThrow(/duplicate: "Cooks"/);
  });

  it('rejects empty titles and titles with line breaks', async () => {
    await expect(model.titleSet(['Cooks', ''])).rejects.toThrow(InputError);
    await expect(model.titleSet(['Cooks', 'Two\nlines'])).rejects.toThrow(/line break/);
  });

  it('rejects a prompt longer than the context', async () => {
    const long = `${PROMPTS[0]!}${' Cooks\n1991 to 1992 (college):'.repeat(40)}`;
    const err = await model.scoreTitles(long, titles).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/context/);
    // The model is still fine afterwards.
    const ok = await model.scoreTitles(PROMPTS[0]!, titles);
    expect(ok.logProbs.length).toBe(titles.size);
  });

  it('rejects spans that are not token boundaries', async () => {
    await expect(model.scoreSpans('Cooks and bakers', [[2, 5]])).rejects.toThrow(/token boundary/);
    await expect(model.scoreSpans('Cooks', [[3, 99]])).rejects.toThrow(InputError);
  });

  it('cancels a long call and stays usable', async () => {
    const ac = new AbortController();
    const many = Array.from({ length: 50 }, (_, i) => `${PROMPTS[0]!.replace('1990', String(1900 + i))}`);
    const pending = model.scoreTitlesBatch(many, titles, { signal: ac.signal, reusePrefix: false });
    setTimeout(() => ac.abort(), 50);
    await expect(pending).rejects.toThrow(CancelledError);
    const a = await model.scoreTitles(PROMPTS[0]!, titles, { reusePrefix: false });
    const b = await model.scoreTitles(PROMPTS[0]!, titles, { mode: 'sequential', reusePrefix: false });
    expect(maxAbsDiff(a.logProbs, b.logProbs)).toBeLessThan(1e-3);
  });

  it('refuses an already aborted signal', async () => {
    await expect(model.scoreTitles(PROMPTS[0]!, titles, { signal: AbortSignal.abort() })).rejects.toThrow(CancelledError);
  });

  it('rejects calls on a freed model', async () => {
    const m = await Model.load(await tinyModel('llama-spm'), { threads: 1 });
    const set = await m.titleSet(['Cooks', 'Bakers']);
    await m.free();
    expect(m.freed).toBe(true);
    expect(() => m.tokenize('Cooks')).toThrow(StateError);
    await expect(m.scoreTitles(PROMPTS[0]!, set)).rejects.toThrow(StateError);
    await expect(m.titleSet(['Cooks'])).rejects.toThrow(StateError);
    await m.free(); // freeing twice is harmless
  });
});
