import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkpointArchive } from '../../../src/models/finetune/fake-server/index.js';
import { tempDir } from '../../helpers/finetune.js';

const script = new URL('../../../scripts/hf-to-gguf.sh', import.meta.url).pathname;
const hasTools = spawnSync('zstd', ['--version']).status === 0 && spawnSync('tar', ['--version']).status === 0;
const hasTorch = spawnSync('python3', ['-c', 'import torch']).status === 0;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function sh(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(!hasTools)('scripts/hf-to-gguf.sh', () => {
  const merged = join(tmp.dir, 'merged.tar.zst');
  const adapter = join(tmp.dir, 'adapter.tar.zst');
  writeFileSync(merged, checkpointArchive('ft-x', 'meta-llama/Llama-2-7b-hf', 'merged', 10, 1000));
  writeFileSync(adapter, checkpointArchive('ft-x', 'meta-llama/Llama-2-7b-hf', 'adapter', 10, 1000));

  it('unpacks a zstd checkpoint archive by content and finds the model or adapter in it', () => {
    const r = sh(merged, '--extract-only', join(tmp.dir, 'm'));
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(`model\t${join(tmp.dir, 'm')}`);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) expect(existsSync(join(tmp.dir, 'm', f))).toBe(true);
    const a = sh(adapter, '--extract-only', join(tmp.dir, 'a'));
    expect(a.out.trim()).toBe(`adapter\t${join(tmp.dir, 'a')}`);
  });

  it('explains bad input and a LoRA adapter without --base', () => {
    const notArchive = join(tmp.dir, 'x.tar.zst');
    writeFileSync(notArchive, '{"text": "not an archive"}\n');
    const r = sh(notArchive, join(tmp.dir, 'x.gguf'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not a zstd, gzip or tar archive/);
    expect(sh(merged).err).toMatch(/name the output \.gguf/);
    expect(sh(merged, 'o.gguf', '--outtype', 'q4').code).toBe(2);
  });

  it.skipIf(hasTorch)('without torch/transformers (as on this machine) says what to install, and writes nothing', () => {
    const out = join(tmp.dir, 'model.gguf');
    const r = sh(merged, out);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/missing here: torch/);
    expect(r.err).toMatch(/requirements-convert_hf_to_gguf\.txt/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.part`)).toBe(false);
  });
});
