/**
 * Upload bodies streamed from disk with a declared length and byte-level progress. fetch's own
 * FormData would stream a file Blob too, but reports no progress; a multipart body is simple
 * enough to frame by hand, and framing it ourselves lets us state its length up front.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InputError } from '../../../errors.js';
import type { StreamBody } from './http.js';
import type { ProgressCallback } from './types.js';

/** Reads `path` (of `size` bytes), telling `onProgress` after every chunk. */
async function* fileChunks(path: string, size: number, onProgress: ProgressCallback | undefined): AsyncGenerator<Uint8Array> {
  let sent = 0;
  onProgress?.({ phase: 'upload', file: path, bytes: 0, total: size });
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    const c = chunk as Buffer;
    yield c;
    sent += c.length;
    onProgress?.({ phase: 'upload', file: path, bytes: sent, total: size });
  }
}

/** The raw file as the body (Together's presigned PUT). */
export function rawFileBody(path: string, size: number, onProgress?: ProgressCallback): StreamBody {
  return { contentType: 'application/octet-stream', length: size, open: () => fileChunks(path, size, onProgress) };
}

/** multipart/form-data with text fields and one file part (OpenAI's POST /files, Together's /files/upload). */
export function multipartFileBody(
  fields: Record<string, string>,
  file: { field: string; filename: string; path: string; size: number; contentType?: string },
  onProgress?: ProgressCallback,
): StreamBody {
  const boundary = `----labor-llm-${randomBytes(12).toString('hex')}`;
  const quote = (s: string): string => s.replace(/["\r\n\\]/g, (c) => encodeURIComponent(c));
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quote(name)}"\r\n\r\n${value}\r\n`;
  }
  head +=
    `--${boundary}\r\nContent-Disposition: form-data; name="${quote(file.field)}"; filename="${quote(file.filename)}"\r\n` +
    `Content-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`;
  const headBytes = Buffer.from(head, 'utf8');
  const tailBytes = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: headBytes.length + file.size + tailBytes.length,
    async *open() {
      yield headBytes;
      yield* fileChunks(file.path, file.size, onProgress);
      yield tailBytes;
    },
  };
}

/** Size of a file to upload; a missing or special file is an InputError naming it. */
export async function fileSize(path: string): Promise<number> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new InputError('not a regular file', { file: path });
    return st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read the file: ${(err as Error).message}`, { file: path });
  }
}
