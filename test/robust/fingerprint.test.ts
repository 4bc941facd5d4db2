/** The model fingerprint: a change anywhere in the file changes it; the cache never hides a change. */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../../src/errors.js';
import { hashCachePath, modelFingerprint } from '../../src/eval/fingerprint.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-fingerprint-'));
const saved = process.env.LABOR_LLM_CACHE_DIR;
beforeAll(() => {
  process.env.LABOR_LLM_CACHE_DIR = join(dir, 'cache');
});
afterAll(() => {
  if (saved === undefined) delete process.env.LABOR_LLM_CACHE_DIR;
  else process.env.LABOR_LLM_CACHE_DIR = saved;
  rmSync(dir, { recursive: true, force: true });
});

/** Rewrites one byte in place and puts size and mtime back, as a careless copy tool might. */
function flipKeepingMtime(path: string, offset: number): void {
  const st = statSync(path);
  const bytes = readFileSync(path);
  bytes[offset] = bytes[offset]! ^ 0xff;
  writeFileSync(path, bytes);
  utimesSync(path, st.atime, st.mtime);
}

describe('modelFingerprint', () => {
  it('changes when a byte outside the old sampled blocks changes (same name, size and mtime)', async () => {
    const path = join(dir, 'model.gguf');
    const bytes = Buffer.alloc(5 << 20);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 0xff;
    writeFileSync(path, bytes);
    const before = await modelFingerprint(path);
    // 1 MiB + 10: after the first sampled MiB, before the first 64 KiB middle block.
    flipKeepingMtime(path, (1 << 20) + 10);
    const after = await modelFingerprint(path);
    expect(after.size).toBe(before.size);
    expect(after.sha256).not.toBe(before.sha256);
    expect(after.sha256).toMatch(/^full:[0-9a-f]{64}$/);
  });

  it('answers from the cache while the file is untouched, and hashes again after any write', async () => {
    const path = join(dir, 'cached.gguf');
    writeFileSync(path, 'GGUF model bytes');
    const first = await modelFingerprint(path);
    // Plant a marker in the cache entry: an answer from the cache returns it.
    const cache = JSON.parse(readFileSync(hashCachePath(), 'utf8')) as Record<string, { path: string; sha256: string }>;
    const key = Object.keys(cache).find((k) => cache[k]!.path === path)!;
    cache[key]!.sha256 = 'a'.repeat(64);
    writeFileSync(hashCachePath(), JSON.stringify(cache));
    expect((await modelFingerprint(path)).sha256).toBe(`full:${'a'.repeat(64)}`);
    // --full-hash ignores the cache.
    expect((await modelFingerprint(path, { full: true })).sha256).toBe(first.sha256);
    writeFileSync(hashCachePath(), JSON.stringify(cache));
    // The same bytes written again: ctime moves, so the cache entry no longer applies.
    flipKeepingMtime(path, 3);
    flipKeepingMtime(path, 3);
    expect((await modelFingerprint(path)).sha256).toBe(first.sha256);
  });

  it('a damaged cache is ignored', async () => {
    const path = join(dir, 'other.gguf');
    writeFileSync(path, 'x');
    writeFileSync(hashCachePath(), '{not json');
    expect((await modelFingerprint(path)).sha256).toMatch(/^full:/);
  });

  it('a folder or a missing file is a typed error (eval --model DIR)', async () => {
    const folder = join(dir, 'folder.gguf');
    mkdirSync(folder);
    await expect(modelFingerprint(folder)).rejects.toThrow(InputError);
    await expect(modelFingerprint(folder)).rejects.toThrow(/not a folder/);
    await expect(modelFingerprint(join(dir, 'none.gguf'))).rejects.toThrow(NotFoundError);
  });
});
