/**
 * Local fine-tuning end to end on a tiny f32 llama model and a small synthetic panel: the validation
 * loss falls, the test split's perplexity over true next titles (scored by the engine on the written
 * checkpoint) falls, same seed + one thread gives identical weights, and bad input is a typed error
 * with nothing written. Sizes are kept small (a few dozen 256-token optimizer steps per run).
 */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, InputError, ModelError } from '../../../../src/errors.js';
import { Model } from '../../../../src/engine/model.js';
import {
  finetuneLocal,
  finetuneTexts,
  panelSplitsFromSynth,
  type LocalFinetuneProgress,
  type LocalFinetuneResult,
  type PanelSplits,
} from '../../../../src/models/finetune/local/index.js';
import { gguf, readGguf, readTensorData, writeGguf } from '../../../../src/models/gguf/index.js';
import type { Worker } from '../../../../src/data/panel/types.js';
import { getTemplate, type Template } from '../../../../src/data/template/index.js';
import { tinyModelPath } from '../../../helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-finetune-local-'));
let model: string;
let splits: PanelSplits;
let template: Template;
let texts: { trainTexts: string[]; validTexts: string[] };

beforeAll(async () => {
  model = await tinyModelPath('llama-spm', 1);
  splits = panelSplitsFromSynth({ profile: 'nlsy79', workers: 40, seed: 3 });
  template = getTemplate('resume', { taxonomy: splits.taxonomy });
  texts = finetuneTexts(splits, template, { source: 'synthetic nlsy79', maxTrain: 8, maxValid: 2 });
});

/** Files other tests leave on purpose. */
const keepFiles: string[] = [];

/** Files in the test folder other than the given ones: temporaries must never outlive a run. */
function strayFiles(keep: string[]): string[] {
  return readdirSync(dir).filter((f) => !keep.includes(f));
}

/** Mean log P(" title\n" | resume so far) over every transition of the workers, from the engine. */
async function meanTitleLogProb(path: string, workers: readonly Worker[]): Promise<{ mean: number; n: number }> {
  const m = await Model.load(path, { threads: 2 });
  try {
    let sum = 0;
    let n = 0;
    for (const w of workers) {
      const r = template.render(w);
      const spans = r.spans.filter((s) => s.index >= 1).map((s) => [s.start, s.end] as const);
      if (spans.length === 0) continue;
      const scores = await m.scoreSpans(r.text, spans);
      for (const lp of scores.logProbs) sum += lp;
      n += spans.length;
    }
    return { mean: sum / n, n };
  } finally {
    await m.free();
  }
}

async function tensorBytes(path: string): Promise<Map<string, Float32Array>> {
  const f = await readGguf(path);
  const out = new Map<string, Float32Array>();
  for (const t of f.tensors) out.set(t.name, await readTensorData(f, t.name));
  return out;
}

function sameBytes(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

describe('a local fine-tune of a tiny model on a synthetic panel', () => {
  const out = join(dir, 'tuned.gguf');
  let result: LocalFinetuneResult;
  const events: LocalFinetuneProgress[] = [];

  beforeAll(async () => {
    result = await finetuneLocal({
      model,
      out,
      ...texts,
      epochs: 2,
      learningRate: 2e-3,
      seed: 1,
      threads: 1,
      onProgress: (p) => events.push(p),
    });
  });

  it('lowers the validation loss and keeps the best epoch', () => {
    console.log(
      `local fine-tune: ${result.trainTexts} texts, ${result.trainTokens} tokens, ${result.trainWindows} windows; ` +
        `val loss ${result.initialValLoss.toFixed(3)} -> ${result.history.map((h) => h.valLoss.toFixed(3)).join(' -> ')}; ` +
        `${result.seconds.toFixed(1)} s on ${result.threads} threads`,
    );
    expect(result.history.map((h) => h.epoch)).toEqual([1, 2]);
    const losses = result.history.map((h) => h.valLoss);
    const best = Math.min(...losses);
    expect(result.bestValLoss).toBe(best);
    expect(result.bestEpoch).toBe(losses.indexOf(best) + 1);
    // A random tiny model starts near ln(32000) = 10.4 nats per token; resumes are very repetitive.
    expect(result.initialValLoss).toBeGreaterThan(9);
    expect(best).toBeLessThan(result.initialValLoss - 3);
    expect(result.history[1]!.trainLoss).toBeLessThan(result.history[0]!.trainLoss);
    expect(result.history[1]!.valAccuracy).toBeGreaterThan(result.initialValAccuracy);
    expect(existsSync(out)).toBe(true);
    expect(strayFiles(['tuned.gguf'])).toEqual([]);
  });

  it('trains on every text: BOS + tokens of each, packed into windows of 256', async () => {
    const m = await Model.load(model, { threads: 1 });
    try {
      const count = (ts: string[]) => ts.reduce((s, t) => s + m.tokenize(t, { addSpecial: true }).length, 0);
      expect(result.trainTokens).toBe(count(texts.trainTexts));
      expect(result.validTokens).toBe(count(texts.validTexts));
      expect(m.tokenize(texts.trainTexts[0]!, { addSpecial: true })[0]).toBe(1); // BOS of the spm vocabulary
    } finally {
      await m.free();
    }
    expect(result.contextLength).toBe(256);
    expect(result.trainWindows).toBe(Math.ceil((result.trainTokens - 1) / 256));
    expect(result.validWindows).toBe(Math.ceil((result.validTokens - 1) / 256));
  });

  it('reports progress for every window and every epoch, before it resolves', () => {
    const epochs = events.filter((e) => e.phase === 'epoch');
    expect(epochs.map((e) => e.epoch)).toEqual([0, 1, 2]);
    expect(epochs[0]!.phase === 'epoch' && epochs[0]!.valLoss).toBeCloseTo(result.initialValLoss, 10);
    for (const h of result.history) {
      const train = events.filter((e) => e.phase === 'train' && e.epoch === h.epoch);
      expect(train.map((e) => (e.phase === 'train' ? e.window : -1))).toEqual(Array.from({ length: result.trainWindows }, (_, i) => i + 1));
      const last = train[train.length - 1]!;
      expect(last.phase === 'train' && last.loss).toBeCloseTo(h.trainLoss, 10);
      const end = epochs.find((e) => e.epoch === h.epoch)!;
      expect(end.phase === 'epoch' && end.valLoss).toBeCloseTo(h.valLoss, 10);
    }
    expect(events.filter((e) => e.phase === 'validate').length).toBe(3 * result.validWindows);
  });

  it('writes a GGUF with the original metadata and every weight trained', async () => {
    const before = await readGguf(model);
    const after = await readGguf(out);
    expect(after.metadata).toEqual(before.metadata);
    expect(after.tensors.map((t) => [t.name, t.type, t.dims])).toEqual(before.tensors.map((t) => [t.name, t.type, t.dims]));
    const a = await tensorBytes(model);
    const b = await tensorBytes(out);
    const unchanged = [...a.keys()].filter((k) => sameBytes(a.get(k)!, b.get(k)!));
    expect(unchanged).toEqual([]);
    expect(result.trainableParams).toBe(after.tensors.reduce((s, t) => s + t.elements, 0));
  });

  it('lowers the test perplexity over true next titles, scored by the engine', async () => {
    const test = splits.test;
    expect(test.length).toBeGreaterThan(3);
    const base = await meanTitleLogProb(model, test);
    const tuned = await meanTitleLogProb(out, test);
    console.log(
      `test perplexity over ${base.n} true next titles: untrained ${Math.exp(-base.mean).toExponential(3)}, ` +
        `fine-tuned ${Math.exp(-tuned.mean).toExponential(3)} (mean log P ${base.mean.toFixed(2)} -> ${tuned.mean.toFixed(2)})`,
    );
    expect(base.n).toBeGreaterThan(20);
    // exp(-mean) falls by more than a factor e^10.
    expect(tuned.mean).toBeGreaterThan(base.mean + 10);
  });
});

describe('one optimizer step', () => {
  it('changes every tensor: token embeddings, Q, K, V, output projection, feed-forward, norms, output layer', async () => {
    // One window exactly as long as the training stream: one epoch is one AdamW step.
    const trainTexts = texts.trainTexts.slice(0, 1);
    const m = await Model.load(model, { threads: 1 });
    const tokens = m.tokenize(trainTexts[0]!, { addSpecial: true }).length;
    await m.free();
    const stepOut = join(dir, 'one-step.gguf');
    const r = await finetuneLocal({ model, out: stepOut, trainTexts, validTexts: texts.validTexts, contextLength: tokens - 1, epochs: 1, seed: 1, threads: 1 });
    expect(r.trainWindows).toBe(1);
    const a = await tensorBytes(model);
    const b = await tensorBytes(stepOut);
    const names = [...a.keys()];
    // The small llama's whole tensor list, so that a tensor the graph skipped cannot go unnoticed.
    expect(names).toEqual(expect.arrayContaining(['token_embd.weight', 'blk.0.attn_k.weight', 'blk.0.attn_v.weight', 'blk.1.attn_v.weight', 'output.weight']));
    expect(names.length).toBe(3 + 2 * 9);
    const unchanged = names.filter((k) => sameBytes(a.get(k)!, b.get(k)!));
    expect(unchanged).toEqual([]);
    // Every element of K and V moves (Adam's first step moves each weight with a non-zero gradient by about lr).
    for (const k of ['blk.0.attn_k.weight', 'blk.1.attn_v.weight']) {
      const x = a.get(k)!;
      const y = b.get(k)!;
      let moved = 0;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) moved++;
      expect(moved / x.length, k).toBeGreaterThan(0.99);
    }
    // Only the rows of the tokens in the window have an embedding gradient.
    const e0 = a.get('token_embd.weight')!;
    const e1 = b.get('token_embd.weight')!;
    const width = e0.length / 32000;
    const rows = new Set<number>();
    for (let i = 0; i < e0.length; i++) if (e0[i] !== e1[i]) rows.add(Math.floor(i / width));
    expect(rows.size).toBeGreaterThan(10);
    expect(rows.size).toBeLessThan(tokens);
    keepFiles.push('one-step.gguf');
  });
});

describe('determinism', () => {
  it('gives identical weights for the same seed on one thread, other weights for another seed', async () => {
    const small = { trainTexts: texts.trainTexts.slice(0, 2), validTexts: texts.validTexts.slice(0, 1) };
    const run = (name: string, seed: number) =>
      finetuneLocal({ model, out: join(dir, name), ...small, epochs: 2, learningRate: 2e-3, seed, threads: 1 });
    const r1 = await run('seed5-a.gguf', 5);
    const r2 = await run('seed5-b.gguf', 5);
    const r3 = await run('seed6.gguf', 6);
    expect(r1.trainWindows).toBeGreaterThan(2); // the seed has orders to choose from
    expect(r2.history).toEqual(r1.history.map((h, i) => ({ ...h, seconds: r2.history[i]!.seconds })));
    const a = await tensorBytes(join(dir, 'seed5-a.gguf'));
    const b = await tensorBytes(join(dir, 'seed5-b.gguf'));
    const c = await tensorBytes(join(dir, 'seed6.gguf'));
    for (const [name, t] of a) expect(sameBytes(t, b.get(name)!), name).toBe(true);
    expect([...a.keys()].some((name) => !sameBytes(a.get(name)!, c.get(name)!))).toBe(true);
  });
});

describe('bad input', () => {
  const out = join(dir, 'never.gguf');
  const keep = ['tuned.gguf', 'seed5-a.gguf', 'seed5-b.gguf', 'seed6.gguf', 'gpt2.gguf', 'moe.gguf'];

  afterAll(() => {
    expect(existsSync(out)).toBe(false);
    expect(strayFiles([...keep, ...keepFiles])).toEqual([]);
  });

  it('refuses an f16 model before training, naming the tensor and the fix', async () => {
    const f16 = await tinyModelPath('llama-spm', 1, { type: 'f16' });
    const err = await finetuneLocal({ model: f16, out, ...texts }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/tensor \S+ is f16; local fine-tuning needs f32 weights/);
  });

  it('refuses other architectures and mixture-of-experts models', async () => {
    const tensors = [{ name: 'x.weight', dims: [4], type: 'f32' as const, data: new Float32Array(4) }];
    const gpt2 = join(dir, 'gpt2.gguf');
    await writeGguf(gpt2, { metadata: [['general.architecture', gguf.str('gpt2')]], tensors });
    // The engine's header check (src/models/gguf/validate.ts) refuses these before the trainer sees them.
    await expect(finetuneLocal({ model: gpt2, out, ...texts })).rejects.toThrow(/gpt2\.block_count is missing/);
    const moe = join(dir, 'moe.gguf');
    await writeGguf(moe, { metadata: [['general.architecture', gguf.str('llama')], ['llama.expert_count', gguf.u32(8)]], tensors });
    await expect(finetuneLocal({ model: moe, out, ...texts })).rejects.toThrow(ModelError);
    await expect(finetuneLocal({ model: moe, out, ...texts })).rejects.toThrow(/expert_count is 8/);
    await expect(finetuneLocal({ model: join(dir, 'missing.gguf'), out, ...texts })).rejects.toThrow(/not found/);
  });

  it('refuses an empty training or validation set, and texts too short for one window', async () => {
    await expect(finetuneLocal({ model, out, trainTexts: [], validTexts: texts.validTexts })).rejects.toThrow(InputError);
    await expect(finetuneLocal({ model, out, trainTexts: texts.trainTexts, validTexts: [] })).rejects.toThrow(/validTexts is empty/);
    await expect(finetuneLocal({ model, out, trainTexts: ['', 'x'], validTexts: texts.validTexts })).rejects.toThrow(/trainTexts\[0\] is an empty text/);
    const err = await finetuneLocal({ model, out, trainTexts: ['1990 to 1991 (college): Cooks'], validTexts: texts.validTexts }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/training texts make \d+ tokens, fewer than one window of context length \+ 1 = 257/);
  });

  it('refuses bad options before loading anything', async () => {
    for (const bad of [{ contextLength: 8 }, { contextLength: 5000 }, { learningRate: 0 }, { learningRate: Number.NaN }, { epochs: 0 }, { weightDecay: 2 }, { seed: -1 }, { threads: 1.5 }]) {
      await expect(finetuneLocal({ model, out, ...texts, ...bad })).rejects.toThrow(InputError);
    }
    writeFileSync(join(dir, 'exists.gguf'), 'x');
    await expect(finetuneLocal({ model, out: join(dir, 'exists.gguf'), ...texts })).rejects.toThrow(/exists/);
    keep.push('exists.gguf');
    await expect(finetuneLocal({ model, out: join(dir, 'no-such-folder', 'x.gguf'), ...texts })).rejects.toThrow(/cannot write/);
  });

  it('stops on cancellation, writing nothing', async () => {
    const ac = new AbortController();
    let windows = 0;
    const err = await finetuneLocal({
      model,
      out,
      ...texts,
      epochs: 3,
      threads: 1,
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase === 'train' && ++windows === 2) ac.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(windows).toBeLessThanOrEqual(3);
    const aborted = new AbortController();
    aborted.abort();
    await expect(finetuneLocal({ model, out, ...texts, signal: aborted.signal })).rejects.toThrow(CancelledError);
  });

  it('stops when the progress callback throws, with that error', async () => {
    const boom = new Error('progress display failed');
    const err = await finetuneLocal({
      model,
      out,
      ...texts,
      onProgress: (p) => {
        if (p.phase === 'train') throw boom;
      },
    }).catch((e: unknown) => e);
    expect(err).toBe(boom);
  });
});
