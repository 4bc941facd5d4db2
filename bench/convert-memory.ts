/**
 * Peak memory of `model convert` on a Llama-3.2-1B-shaped checkpoint (random bf16 weights, 128k BPE
 * vocabulary, tied output, Llama 3.1 RoPE scaling): `node --import tsx bench/convert-memory.ts
 * [--type f16|bf16|f32] [--keep DIR]`. The checkpoint is written tensor by tensor (the writer holds one
 * tensor), converted in a fresh process, and deleted afterwards unless --keep is given (a kept
 * checkpoint is reused by the next run with the same --keep).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { llamaTensorList, randomTensor, writeCheckpointFiles, writeSafetensors, type HfShape } from '../test/helpers/hf-checkpoint.js';

const { values } = parseArgs({ options: { type: { type: 'string', default: 'f16' }, keep: { type: 'string' } } });
const shape: HfShape = {
  vocab: 128256,
  hidden: 2048,
  layers: 16,
  heads: 32,
  kvHeads: 8,
  ff: 8192,
  ropeTheta: 500000,
  rmsEps: 1e-5,
  tied: true,
  ropeScaling: { factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
};
const dir = values.keep ?? mkdtempSync(join(tmpdir(), 'convert-1b-'));
try {
  const t0 = performance.now();
  if (!existsSync(join(dir, 'model.safetensors'))) {
    await writeCheckpointFiles(dir, shape, 'llama-bpe');
    const tensors = llamaTensorList(shape).map((t) => ({
      name: t.name,
      dtype: 'BF16' as const,
      shape: t.shape,
      values: () => randomTensor(t.name, t.shape, t.kind, 1, true),
    }));
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  }
  const ckptBytes = statSync(join(dir, 'model.safetensors')).size;
  const genSeconds = (performance.now() - t0) / 1000;
  const genRss = process.resourceUsage().maxRSS;
  const out = join(dir, 'model.gguf');
  const child = execFileSync(process.execPath, ['--import', 'tsx', 'bench/convert-memory-child.ts', dir, out, values.type!], { encoding: 'utf8' });
  const r = JSON.parse(child.trim().split('\n').pop()!) as { seconds: number; peakRssKiB: number; bytes: number; parameterCount: number };
  const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
  console.log(`checkpoint: ${r.parameterCount.toLocaleString('en-US')} parameters, ${mib(ckptBytes)} MiB bf16 safetensors, written in ${genSeconds.toFixed(0)} s (writer peak RSS ${mib(genRss * 1024)} MiB)`);
  console.log(`convert to ${values.type}: ${r.seconds.toFixed(0)} s, GGUF ${mib(r.bytes)} MiB, peak RSS ${mib(r.peakRssKiB * 1024)} MiB (${((r.peakRssKiB * 1024 * 100) / ckptBytes).toFixed(0)}% of the checkpoint)`);
} finally {
  if (values.keep === undefined) rmSync(dir, { recursive: true, force: true });
}
