/** `labor-llm model convert` and `--lora` end to end, through the CLI's main(). */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import { EXIT_CODES } from '../../../src/errors.js';
import { startFakeServer } from '../../../src/models/finetune/fake-server/index.js';
import { writeTextJsonl } from '../../helpers/finetune.js';
import { randomLlamaWeights, writeHfCheckpoint, writeSafetensors, type HfShape } from '../../helpers/hf-checkpoint.js';
import { runCli as run } from '../../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'convert-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shape: HfShape = { vocab: 32000, hidden: 32, layers: 1, heads: 2, kvHeads: 1, ff: 48, ropeTheta: 10000, rmsEps: 1e-5, tied: true };

describe('labor-llm model convert', () => {
  it('converts a checkpoint and an adapter; score applies the adapter with --lora FILE:SCALE', async () => {
    const weights = randomLlamaWeights(shape, 5, true);
    const ckpt = join(dir, 'ckpt');
    await writeHfCheckpoint({ dir: ckpt, shape, weights, vocab: 'llama-spm', dtype: 'BF16' });
    const model = join(dir, 'm.gguf');
    const made = await run(['model', 'convert', ckpt, '--out', model, '--type', 'bf16', '--json']);
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ path: model, architecture: 'LlamaForCausalLM', tokenizer: 'spm', tiedOutput: true });

    const adapter = join(dir, 'adapter');
    mkdirSync(adapter);
    writeFileSync(join(adapter, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['v_proj'] }));
    const a = Float32Array.from({ length: 2 * 32 }, (_, i) => Math.sin(i));
    const b = Float32Array.from({ length: 16 * 2 }, (_, i) => Math.cos(i));
    await writeSafetensors(join(adapter, 'adapter_model.safetensors'), [
      { name: 'base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight', dtype: 'F32', shape: [2, 32], values: () => a },
      { name: 'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight', dtype: 'F32', shape: [16, 2], values: () => b },
    ]);
    const lora = join(dir, 'a.gguf');
    expect((await run(['model', 'convert', adapter, '--out', lora])).code).toBe(2); // --base is required
    const conv = await run(['model', 'convert', adapter, '--base', model, '--out', lora, '--json']);
    expect(conv.code, conv.stderr).toBe(0);
    expect(JSON.parse(conv.stdout)).toMatchObject({ rank: 2, alpha: 4, modules: 1 });

    const prompt = join(dir, 'prompt.txt');
    writeFileSync(prompt, 'Occupation history.\n2001 (graduate degree): Lawyers and judges\n2002 (graduate degree):');
    const score = async (extra: string[]): Promise<number[]> => {
      const r = await run(['score', '--model', model, '--prompt-file', prompt, '--threads', '1', '--json', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { titles: { logProb: number }[] }).titles.map((t) => t.logProb).sort();
    };
    const plain = await score([]);
    expect(await score(['--lora', `${lora}:0`])).toEqual(plain);
    const adapted = await score(['--lora', `${lora}:1.5`]);
    expect(Math.max(...adapted.map((x, i) => Math.abs(x - plain[i]!)))).toBeGreaterThan(1e-3);
  });

  it('refuses an unsupported architecture with exit code 2, naming the field', async () => {
    const ckpt = join(dir, 'gpt2');
    await writeHfCheckpoint({ dir: ckpt, shape, weights: randomLlamaWeights(shape, 5, false), vocab: 'llama-spm', dtype: 'F32', config: { architectures: ['GPT2LMHeadModel'] } });
    const r = await run(['model', 'convert', ckpt, '--out', join(dir, 'x.gguf')]);
    expect(r.code).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toMatch(/config\.json.*architectures.*GPT2LMHeadModel/s);
    expect(() => readFileSync(join(dir, 'x.gguf'))).toThrow();
  });

  it('finetune download --gguf converts the downloaded archive, and keeps it when conversion fails', async () => {
    // The fake service's checkpoints hold placeholder weights and a config without the MLP width:
    // the download succeeds and the conversion refuses, naming the field; the archive stays for a rerun.
    const fake = await startFakeServer({ apiKey: 'k', clock: 'manual', scenario: { advanceEveryNPolls: 1 }, weightBytes: 1000 });
    const env = { TOGETHER_API_KEY: process.env.TOGETHER_API_KEY, TOGETHER_BASE_URL: process.env.TOGETHER_BASE_URL };
    process.env.TOGETHER_API_KEY = 'k';
    process.env.TOGETHER_BASE_URL = fake.baseUrl;
    try {
      const train = writeTextJsonl(join(dir, 'train.jsonl'), 5);
      const archive = join(dir, 'ft.tar.zst');
      const r = await run(['finetune', 'submit', train, '-m', 'meta-llama/Meta-Llama-3.1-8B-Reference', '--download', '-o', archive, '--gguf', join(dir, 'ft.gguf'), '--poll-interval', '0.001']);
      expect(r.code).toBe(EXIT_CODES.INPUT);
      expect(r.stderr).toMatch(/ft\.tar\.zst:[^ ]*config\.json \(field "intermediate_size"\)/);
      expect(readFileSync(archive).length).toBeGreaterThan(0);
    } finally {
      for (const [k, v] of Object.entries(env)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await fake.close();
    }
  });
});
