/**
 * `eval` with a LoRA adapter: the adapter's content and scale are part of the run's identity, so a
 * run never mixes scores with and without it, and the adapted run's scores differ from the base's.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertLora } from '../../../src/models/convert/convert-lora.js';
import { evaluate, type EvaluateOptions } from '../../../src/eval/evaluate.js';
import { ModelScorer } from '../../../src/eval/model-scorer.js';
import { ResultsStore } from '../../../src/results/results-store.js';
import { writeSafetensors } from '../../helpers/hf-checkpoint.js';
import { tinyModelPath } from '../../helpers/models.js';
import { removeTempDirs, tempDir, writeSyntheticPanel, type PanelFixture } from '../../helpers/eval-fixtures.js';
import { mkdirSync, writeFileSync } from 'node:fs';

afterAll(removeTempDirs);

let fx: PanelFixture;
let base: string;
let adapter: string;

beforeAll(async () => {
  fx = await writeSyntheticPanel({ workers: 20, maxRecords: 5 });
  base = await tinyModelPath('llama-spm', 1);
  const dir = await tempDir();
  const peft = join(dir, 'peft');
  mkdirSync(peft);
  // The tiny model: n_embd 64, 4 heads of 16; an adapter of rank 2 on layer 0's V projection.
  writeFileSync(join(peft, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 2, target_modules: ['v_proj'] }));
  const a = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i) / 4);
  const b = Float32Array.from({ length: 64 * 2 }, (_, i) => Math.cos(3 * i));
  await writeSafetensors(join(peft, 'adapter_model.safetensors'), [
    { name: 'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight', dtype: 'F32', shape: [2, 64], values: () => a },
    { name: 'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight', dtype: 'F32', shape: [64, 2], values: () => b },
  ]);
  adapter = join(dir, 'adapter.gguf');
  await convertLora({ input: peft, base, out: adapter });
});

function opts(out: string, name: string, lora?: { path: string; scale: number }[]): EvaluateOptions {
  const engine = { threads: 2, kvCache: 'f32', flashAttention: 'off', ...(lora ? { lora } : {}) } as const;
  return { data: fx.dir, out, limit: 3, name, scorer: new ModelScorer({ model: base, template: 'resume', mode: 'perplexity', engine: { ...engine } }) };
}

async function logProbs(out: string, name: string): Promise<number[]> {
  const s = await ResultsStore.open(out, { readOnly: true });
  try {
    return (await s.results(name)).map((r) => r.rawLogProb ?? NaN);
  } finally {
    await s.close();
  }
}

describe('eval --lora', () => {
  it('keeps runs with and without an adapter apart, and the adapter changes the scores', async () => {
    const out = join(await tempDir(), 'r.duckdb');
    await evaluate(opts(out, 'm'));
    await expect(evaluate(opts(out, 'm', [{ path: adapter, scale: 1 }]))).rejects.toThrow(/another configuration.*lora/);
    await evaluate(opts(out, 'm-lora', [{ path: adapter, scale: 1 }]));
    await expect(evaluate(opts(out, 'm-lora', [{ path: adapter, scale: 0.5 }]))).rejects.toThrow(/another configuration.*lora/);
    const [plain, adapted] = [await logProbs(out, 'm'), await logProbs(out, 'm-lora')];
    expect(adapted).toHaveLength(plain.length);
    expect(Math.max(...adapted.map((x, i) => Math.abs(x - plain[i]!)))).toBeGreaterThan(1e-3);
  });
});
