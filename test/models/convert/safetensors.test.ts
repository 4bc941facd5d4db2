/** Malformed safetensors and archives get InputErrors that name the file and what is wrong, never a crash. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertModel } from '../../../src/models/convert/convert-model.js';
import { InputError } from '../../../src/errors.js';
import { randomLlamaWeights, writeHfCheckpoint, type HfShape } from '../../helpers/hf-checkpoint.js';
import { tarOf } from '../../helpers/archives.js';

const dir = mkdtempSync(join(tmpdir(), 'convert-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const shape: HfShape = { vocab: 32000, hidden: 32, layers: 1, heads: 2, kvHeads: 2, ff: 32, ropeTheta: 10000, rmsEps: 1e-5, tied: true };
let good: Buffer;
let ckpt: string;

beforeAll(async () => {
  ckpt = join(dir, 'good');
  await writeHfCheckpoint({ dir: ckpt, shape, weights: randomLlamaWeights(shape, 1, false), vocab: 'llama-spm', dtype: 'F32' });
  good = readFileSync(join(ckpt, 'model.safetensors'));
});

/** A copy of the good checkpoint with model.safetensors replaced. */
async function convertWith(name: string, bytes: Buffer): Promise<unknown> {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  for (const f of ['config.json', 'tokenizer.model', 'tokenizer_config.json']) writeFileSync(join(d, f), readFileSync(join(ckpt, f)));
  writeFileSync(join(d, 'model.safetensors'), bytes);
  return convertModel({ input: d, out: join(dir, `${name}.gguf`), type: 'f32' }).then(
    () => undefined,
    (e: unknown) => e,
  );
}

function header(): { n: number; json: Record<string, { data_offsets: number[] }> } {
  const n = Number(good.readBigUInt64LE(0));
  return { n, json: JSON.parse(good.subarray(8, 8 + n).toString()) };
}

function withHeader(json: unknown, data: Buffer): Buffer {
  const h = Buffer.from(JSON.stringify(json));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

describe('malformed safetensors', () => {
  it('a good checkpoint converts', async () => {
    expect(await convertWith('ok', good)).toBeUndefined();
  });

  it.each([
    ['shorter than the length field', () => good.subarray(0, 5), /truncated safetensors file/],
    ['header larger than the file', () => good.subarray(0, 100), /header of \d+ bytes is larger than the file/],
    ['bad header JSON', () => Buffer.concat([good.subarray(0, 8), Buffer.from('{"a": ['.padEnd(header().n, ' ')), good.subarray(8 + header().n)]), /not valid JSON/],
    ['truncated data', () => good.subarray(0, good.length - 1000), /out of range/],
    [
      'offsets out of range',
      () => {
        const { n, json } = header();
        const t = json['model.norm.weight']!;
        t.data_offsets = [t.data_offsets[0]!, t.data_offsets[1]! + 1e9];
        return withHeader(json, good.subarray(8 + n));
      },
      /out of range/,
    ],
    [
      'offsets that disagree with the shape',
      () => {
        const { n, json } = header();
        const t = json['model.norm.weight']!;
        t.data_offsets = [t.data_offsets[0]!, t.data_offsets[1]! - 4];
        return withHeader(json, good.subarray(8 + n));
      },
      /needs 128/,
    ],
  ])('%s', async (name, bytes, message) => {
    const err = await convertWith(name.replace(/ /g, '-'), bytes());
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain('model.safetensors');
  });

  it('a cut archive is refused clearly', async () => {
    const gz = gzipSync(await tarOf(ckpt, 'm'));
    const path = join(dir, 'cut.tar.gz');
    writeFileSync(path, gz.subarray(0, gz.length >> 1));
    const err = await convertModel({ input: path, out: join(dir, 'cut.gguf') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/cut\.tar\.gz/);
  });

  it('a weight beyond f16 stops a conversion from an archive midway, clearly and without hanging', async () => {
    const weights = randomLlamaWeights(shape, 2, false);
    weights.get('model.layers.0.self_attn.q_proj.weight')!.values[5] = 1e6;
    const d = join(dir, 'overflow');
    await writeHfCheckpoint({ dir: d, shape, weights, vocab: 'llama-spm', dtype: 'F32', shards: 2 });
    const path = join(dir, 'overflow.tar.gz');
    writeFileSync(path, gzipSync(await tarOf(d, 'm')));
    const err = await convertModel({ input: path, out: join(dir, 'overflow.gguf'), type: 'f16' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/q_proj.weight.*1000000 does not fit f16.*`type` bf16/);
    expect(await convertModel({ input: path, out: join(dir, 'overflow.gguf'), type: 'bf16' })).toMatchObject({ tensorCount: 11 });
  });
});
