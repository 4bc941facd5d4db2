/**
 * Reading users' text files strictly: the importers only ever see valid UTF-8, and every way a
 * file can fail to be that (missing, a folder, UTF-16, invalid bytes, binary data) becomes an
 * InputError or NotFoundError that names the file and, where it applies, the line and column.
 */
import { readFile, stat } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { InputError, NotFoundError } from '../../errors.js';

/** Reads `path` as UTF-8 text. A UTF-8 byte order mark is dropped; anything else odd is an error. */
export async function readTextFile(path: string): Promise<string> {
  const bytes = await readBytes(path);
  return decodeUtf8(bytes, path);
}

/** Reads a whole file; a missing path is a NotFoundError, a folder where a file belongs an InputError. */
export async function readBytes(path: string): Promise<Buffer> {
  await checkInputFile(path, 'expected a file, found a folder or special file');
  return readFile(path);
}

/**
 * Checks that an input is a regular file before anything opens it: a missing path is a NotFoundError,
 * one that cannot be examined an InputError, and anything else than a file an InputError saying `notAFile`.
 */
export async function checkInputFile(path: string, notAFile: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(`${path}: no such file`, { cause: err });
    throw new InputError(`cannot read: ${(err as Error).message}`, { file: path }, { cause: err });
  }
  if (!info.isFile()) throw new InputError(notAFile, { file: path });
}

/** Decodes bytes that must be UTF-8 text; `file` names them in errors. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    const which = bytes[0] === 0xff ? 'UTF-16 little-endian' : 'UTF-16 big-endian';
    throw new InputError(`the file is ${which} (it starts with a UTF-16 byte order mark); save it as UTF-8`, {
      file,
      line: 1,
      column: 1,
    });
  }
  let start = 0;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  const body = bytes.subarray(start);
  if (!isUtf8(body)) {
    const bad = start + firstInvalidUtf8Offset(body);
    const { line, column } = lineAndColumnOfByte(bytes, bad);
    const hex = (bytes[bad] ?? 0).toString(16).toUpperCase().padStart(2, '0');
    throw new InputError(`invalid UTF-8 (byte 0x${hex} at byte offset ${bad}); save the file as UTF-8`, {
      file,
      line,
      column,
    });
  }
  const nul = body.indexOf(0);
  if (nul >= 0) {
    const { line, column } = lineAndColumnOfByte(bytes, start + nul);
    throw new InputError('a NUL byte: this looks like a binary file, not text', { file, line, column });
  }
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
}

/**
 * The offset of the first byte that makes `bytes` invalid UTF-8 (only called on invalid input).
 * A streaming fatal decoder accepts any valid prefix, even one cut inside a character, so "this
 * prefix already fails" is monotonic in its length and a binary search finds the first bad byte
 * without a hand-written UTF-8 validator.
 */
function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  const fails = (n: number): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return false;
    } catch {
      return true;
    }
  };
  let lo = 0; // the prefix of length lo decodes
  let hi = bytes.length; // the whole input fails, as a stream or at its end
  if (!fails(hi)) return Math.max(0, lastLeadByte(bytes)); // only the truncated tail is bad
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (fails(mid)) hi = mid;
    else lo = mid;
  }
  // The byte at hi-1 turns a decodable prefix into an undecodable one. When it breaks a multi-byte
  // sequence that started earlier (a Latin-1 "é" followed by ASCII), report where that sequence starts.
  const bad = hi - 1;
  let start = bad - 1;
  while (start >= 0 && bad - start < 4 && ((bytes[start] ?? 0) & 0xc0) === 0x80) start--;
  const lead = bytes[start] ?? 0;
  const length = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return start >= 0 && length > 1 && bad - start < length ? start : bad;
}

function lastLeadByte(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i >= 0; i--) if (((bytes[i] ?? 0) & 0xc0) !== 0x80) return i;
  return 0;
}

/** 1-based line and byte column of a byte offset. */
function lineAndColumnOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Splits text into lines: "\n" ends a line, a "\r" before it is dropped (files saved on Windows),
 * and the final newline does not start an extra empty line.
 */
export function splitLines(text: string): string[] {
  if (text.length === 0) return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
