/**
 * PEFT LoRA adapters: converted to llama.cpp's GGUF adapter format and applied at load, they give the
 * scores of the same adapter merged into the weights by this test (the reference forward pass over
 * W + scale * alpha / r * B A); one loaded base serves two adapters in turn; adapters that do not fit
 * the base are refused clearly, by the converter and by the engine.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLora } from '../../../src/models/convert/convert-lora.js';
import { convertModel } from '../../../src/models/convert/convert-model.js';
import { Model } from '../../../src/engine/model.js';
import { InputError } from '../../../src/errors.js';
import { hashName, Xoshiro128 } from '../../../src/models/gguf/prng.js';
import { randomLlamaWeights, spanError, writeHfCheckpoint, writeSafetensors, type HfShape, type HfWeights } from '../../helpers/hf-checkpoint.js';
import { tinyModelPath } from '../../helpers/models.js';

const dir = mkdtempSync(join(tmpdir(), 'convert-lora-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shape: HfShape = { vocab: 32000, hidden: 64, layers: 2, heads: 4, kvHeads: 2, ff: 96, ropeTheta: 10000, rmsEps: 1e-5, tied: false };
const base = randomLlamaWeights(shape, 21, false);
const RANK = 4;
const ALPHA = 8;

interface Adapter {
  /** HF module name ("model.layers.0.self_attn.q_proj") to its A [r, in] and B [out, r]. */
  modules: Map<string, { a: Float32Array; b: Float32Array; out: number; in: number }>;
}

function randomAdapter(seed: number, targets: string[]): Adapter {
  const modules: Adapter['modules'] = new Map();
  for (const [name, t] of base) {
    const module = name.replace(/\.weight$/, '');
    if (t.shape.length !== 2 || !targets.some((x) => module.endsWith(x))) continue;
    const [out, inp] = t.shape as [number, number];
    const a = new Float32Array(RANK * inp);
    const b = new Float32Array(out * RANK);
    new Xoshiro128(seed, hashName(`${module}.A`)).fillUniform(a, 1 / Math.sqrt(inp));
    new Xoshiro128(seed, hashName(`${module}.B`)).fillUniform(b, 0.3 / Math.sqrt(RANK));
    modules.set(module, { a, b, out, in: inp });
  }
  return { modules };
}

/** W + scale * alpha / r * B A, in the Hugging Face layout. */
function merged(adapter: Adapter, scale: number): HfWeights {
  const w: HfWeights = new Map();
  for (const [name, t] of base) {
    const m = adapter.modules.get(name.replace(/\.weight$/, ''));
    if (m === undefined) {
      w.set(name, t);
      continue;
    }
    const v = Float32Array.from(t.values);
    const s = (scale * ALPHA) / RANK;
    for (let o = 0; o < m.out; o++) {
      for (let i = 0; i < m.in; i++) {
        let d = 0;
        for (let k = 0; k < RANK; k++) d += m.b[o * RANK + k]! * m.a[k * m.in + i]!;
        v[o * m.in + i] = v[o * m.in + i]! + s * d;
      }
    }
    w.set(name, { shape: t.shape, values: v });
  }
  return w;
}

async function writeAdapter(path: string, adapter: Adapter, config: Record<string, unknown> = {}): Promise<void> {
  mkdirSync(path, { recursive: true });
  const targets = [...new Set([...adapter.modules.keys()].map((m) => m.split('.').at(-1)!))];
  writeFileSync(
    join(path, 'adapter_config.json'),
    JSON.stringify({ peft_type: 'LORA', r: RANK, lora_alpha: ALPHA, target_modules: targets, modules_to_save: null, use_rslora: false, use_dora: false, ...config }),
  );
  const tensors = [...adapter.modules].flatMap(([module, m]) => [
    { name: `base_model.model.${module}.lora_A.weight`, dtype: 'F32' as const, shape: [RANK, m.in], values: () => m.a },
    { name: `base_model.model.${module}.lora_B.weight`, dtype: 'F32' as const, shape: [m.out, RANK], values: () => m.b },
  ]);
  await writeSafetensors(join(path, 'adapter_model.safetensors'), tensors);
}

const ALL = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
const first = randomAdapter(1, ALL);
// The second adapts the output layer too: the engine's fused output head must step aside for it.
const second = randomAdapter(2, ['q_proj', 'v_proj', 'lm_head']);
let baseGguf: string;
let a1: string;
let a2: string;

beforeAll(async () => {
  const ckpt = join(dir, 'base');
  await writeHfCheckpoint({ dir: ckpt, shape, weights: base, vocab: 'llama-spm', dtype: 'F32' });
  baseGguf = join(dir, 'base.gguf');
  await convertModel({ input: ckpt, out: baseGguf, type: 'f32' });
  await writeAdapter(join(dir, 'first'), first);
  await writeAdapter(join(dir, 'second'), second);
  a1 = join(dir, 'first.gguf');
  a2 = join(dir, 'second.gguf');
  const r = await convertLora({ input: join(dir, 'first'), base: baseGguf, out: a1 });
  expect(r).toMatchObject({ rank: RANK, alpha: ALPHA, modules: 14 });
  await convertLora({ input: join(dir, 'second'), base: baseGguf, out: a2 });
});

describe('LoRA adapters', () => {
  it('applied at load, equal the adapter merged into the weights (1e-4 nats)', async () => {
    const model = await Model.load(baseGguf, { threads: 2, lora: [{ path: a1, scale: 1 }] });
    try {
      expect(model.lora).toEqual([{ path: a1, scale: 1 }]);
      const err = await spanError(model, shape, merged(first, 1));
      console.log(`lora at load vs merged: ${err}`);
      expect(err).toBeLessThan(1e-4);
      // The adapter changes the model by far more than the tolerance.
      expect(await spanError(model, shape, base)).toBeGreaterThan(1e-2);
    } finally {
      await model.free();
    }
  });

  it('one loaded base serves two adapters in turn, and the base alone', async () => {
    const model = await Model.load(baseGguf, { threads: 2 });
    try {
      const steps: [{ path: string; scale: number }[], HfWeights][] = [
        [[{ path: a2, scale: 0.5 }], merged(second, 0.5)],
        [[{ path: a1, scale: 1 }], merged(first, 1)],
        [[], base],
        [[{ path: a2, scale: 1 }], merged(second, 1)],
        [[{ path: a1, scale: 1 }], merged(first, 1)],
      ];
      for (const [lora, weights] of steps) {
        await model.setLora(lora);
        expect(model.lora).toEqual(lora);
        const err = await spanError(model, shape, weights);
        expect(err, JSON.stringify(lora)).toBeLessThan(1e-4);
      }
    } finally {
      await model.free();
    }
  });

  it('refuses adapters that do not fit the base', async () => {
    // Shapes of another model.
    const other = randomAdapter(3, ['q_proj']);
    for (const m of other.modules.values()) {
      m.in = 32;
      m.a = new Float32Array(RANK * 32);
    }
    await writeAdapter(join(dir, 'other'), other);
    await expect(convertLora({ input: join(dir, 'other'), base: baseGguf, out: join(dir, 'x.gguf') })).rejects.toThrow(/wrong base model/);

    // A module llama has not.
    const unknown = randomAdapter(4, ['q_proj']);
    const [q] = [...unknown.modules.values()];
    unknown.modules = new Map([['model.layers.0.self_attn.foo_proj', q!]]);
    await writeAdapter(join(dir, 'unknown'), unknown);
    const err = await convertLora({ input: join(dir, 'unknown'), base: baseGguf, out: join(dir, 'y.gguf') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/target module "model.layers.0.self_attn.foo_proj" is not supported/);

    // The engine refuses a converted adapter on another base (the tiny test model's shapes differ).
    const tiny = await tinyModelPath('llama-spm');
    await expect(Model.load(tiny, { threads: 1, lora: [{ path: a1 }] })).rejects.toThrow(/does not fit/);
    // And a file that is not an adapter.
    await expect(Model.load(baseGguf, { threads: 1, lora: [{ path: baseGguf }] })).rejects.toThrow(/not a LoRA adapter/);
  });
});
