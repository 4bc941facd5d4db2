/** Archives as `finetune download` writes them, built in memory for tests: tar, and zstd frames. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import tar from 'tar-stream';

/** A tar of every file of `dir`, under the folder `prefix` (as checkpoint archives have one). */
export async function tarOf(dir: string, prefix: string): Promise<Buffer> {
  const pack = tar.pack();
  const parts: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) parts.push(c as Buffer);
  })();
  for (const f of readdirSync(dir).sort()) pack.entry({ name: `${prefix}/${f}` }, readFileSync(join(dir, f)));
  pack.finalize();
  await done;
  return Buffer.concat(parts);
}

/**
 * A valid zstd frame holding `data` in raw (stored) blocks: the format without the compression, which
 * is all a decoder test needs and keeps the tests free of a zstd compressor.
 */
export function zstdRawFrame(data: Uint8Array): Buffer {
  const BLOCK = 128 << 10;
  // Magic; frame header descriptor 0 (no content size, no checksum); window descriptor 2^(10+7) = 128 KiB.
  const out: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3])];
  for (let i = 0; i < data.length || i === 0; i += BLOCK) {
    const n = Math.min(BLOCK, data.length - i);
    const last = i + BLOCK >= data.length ? 1 : 0;
    const h = (n << 3) | last; // block type 0 = raw
    out.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), Buffer.from(data.subarray(i, i + n)));
  }
  return Buffer.concat(out);
}
