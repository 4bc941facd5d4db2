/**
 * Downloads a checkpoint so that an interruption costs only the bytes not yet received: the body
 * goes to `<name>.part`, a failed or cut transfer is resumed with `Range: bytes=<have>-`, and the
 * file gets its final name (an atomic rename in the same directory) only once its size matches
 * what the server announced and its SHA-256 matches the expected one, when one is given. A `.part`
 * left by an earlier process is resumed only when its sidecar `<name>.part.json` says it came from the
 * same request (and then with the ETag it had, so a changed file comes back whole); any other `.part`
 * is discarded. An attempt slower than `minBytesPerSecond` is cut, and counts as one without progress,
 * so a slow drip ends within the retry bound instead of resetting it with every few bytes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CancelledError } from '../../../errors.js';
import type { ServiceError } from './errors.js';
import type { HttpClient, HttpRequest } from './http.js';
import { backoffDelay } from './retry.js';
import type { DownloadResult, ProgressCallback } from './types.js';

export interface ResumableDownloadOptions {
  http: HttpClient;
  /** The GET to repeat (with a Range header added when resuming). */
  request: HttpRequest;
  partPath: string;
  /** Final path, chosen once the answer's content type is known (for the archive extension). */
  finalPath: (contentType: string | undefined) => string;
  sha256?: string;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** Abort an attempt that received nothing for this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Abort an attempt that received less than this per second over an idle-timeout window (default 4 KiB/s). */
  minBytesPerSecond?: number;
}

export const DEFAULT_MIN_BYTES_PER_SECOND = 4096;

interface PartSidecar {
  source: string;
  etag?: string;
}

/** What a `.part` sidecar records as the download it belongs to. */
export function partSource(request: HttpRequest): string {
  return JSON.stringify([request.method, request.url ?? null, request.path ?? null, request.query ?? null]);
}

async function readSidecar(path: string): Promise<PartSidecar | undefined> {
  try {
    const v = JSON.parse(await readFile(path, 'utf8')) as PartSidecar;
    return typeof v.source === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

export async function downloadResumable(o: ResumableDownloadOptions): Promise<DownloadResult> {
  const { http } = o;
  const policy = http.policy;
  await mkdir(dirname(o.partPath), { recursive: true });
  const sidecarPath = `${o.partPath}.json`;
  const source = partSource(o.request);
  let have = await sizeOf(o.partPath);
  const earlier = await readSidecar(sidecarPath);
  let etag: string | undefined;
  if (have > 0 && earlier?.source !== source) {
    // Another download's leftover, or one whose origin is unknown: resuming it would splice two files.
    await rm(o.partPath, { force: true });
    have = 0;
  } else etag = earlier?.etag;
  const resumedFrom = have;
  let total: number | undefined;
  let contentType: string | undefined;
  let requests = 0;
  let failuresWithoutProgress = 0;
  let lastProgressAt = http.clock.now();
  const progressPath = o.partPath;

  for (;;) {
    if (o.signal?.aborted) throw new CancelledError();
    const attempt = new AbortController();
    const onAbort = (): void => attempt.abort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const headers: Record<string, string> = { ...o.request.headers, accept: 'application/octet-stream', 'accept-encoding': 'identity' };
    if (have > 0) {
      headers.range = `bytes=${have}-`;
      // Resume only if the file is still the one we started; a changed file comes back whole.
      if (etag !== undefined && !etag.startsWith('W/')) headers['if-range'] = etag;
    }
    let failure: ServiceError | undefined;
    let handle: FileHandle | undefined;
    let receivedThisAttempt = 0;
    let slow: string | undefined;
    let done = false;
    try {
      requests++;
      // Errors before the body (4xx, or 429/5xx/network beyond the retry bound) end the download here.
      const res = await http.send({ ...o.request, headers, expect: [206, 416], signal: attempt.signal });
      contentType = res.headers.get('content-type') ?? contentType;
      etag = res.headers.get('etag') ?? etag;
      await writeFile(sidecarPath, JSON.stringify({ source, ...(etag !== undefined ? { etag } : {}) } satisfies PartSidecar));
      if (res.status === 416) {
        // Nothing more to send from `have`: either the .part is already complete or it is not this file.
        await res.body?.cancel();
        const m = /^bytes \*\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
        if (m && Number(m[1]) === have) {
          total = have;
          break;
        }
        have = 0;
        await rm(o.partPath, { force: true });
        continue;
      }
      let start = 0;
      if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== have) {
          await res.body?.cancel();
          throw http.fail(o.request, 'protocol', `partial answer for the wrong range (${res.headers.get('content-range') ?? 'no Content-Range'}, asked from byte ${have})`);
        }
        start = have;
        if (m[3] !== '*') total = Number(m[3]);
      } else {
        // 200: the whole file (first request, or a server that ignored or refused our Range).
        const len = res.headers.get('content-length');
        total = len !== null ? Number(len) : undefined;
      }
      if (res.body === null) throw http.fail(o.request, 'protocol', 'the answer has no body');
      handle = await open(o.partPath, start === 0 ? 'w' : 'a');
      have = start;
      o.onProgress?.({ phase: 'download', file: progressPath, bytes: have, total });
      const reader = res.body.getReader();
      const idleMs = o.idleTimeoutMs ?? 60_000;
      const minRate = o.minBytesPerSecond ?? DEFAULT_MIN_BYTES_PER_SECOND;
      let idle = setTimeout(() => attempt.abort(), idleMs);
      // Every idle-timeout window must bring minRate bytes a second, or the attempt is cut as too slow.
      let windowBytes = 0;
      const rate = setInterval(() => {
        if (windowBytes < (minRate * idleMs) / 1000) {
          slow = `slower than ${minRate} bytes/s (${windowBytes} bytes in ${idleMs / 1000} s)`;
          attempt.abort();
        }
        windowBytes = 0;
      }, idleMs);
      try {
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) break;
          clearTimeout(idle);
          idle = setTimeout(() => attempt.abort(), idleMs);
          await handle.write(chunk.value);
          have += chunk.value.length;
          windowBytes += chunk.value.length;
          receivedThisAttempt += chunk.value.length;
          o.onProgress?.({ phase: 'download', file: progressPath, bytes: have, total });
        }
      } catch (err) {
        if (o.signal?.aborted) throw new CancelledError();
        // A cut or stalled body: what arrived is on disk; the next attempt asks for the rest.
        failure = http.fail(o.request, 'network', `the transfer broke off after ${have} bytes (${slow ?? describe(err)})`);
      } finally {
        clearTimeout(idle);
        clearInterval(rate);
      }
      if (failure === undefined) {
        if (total !== undefined && have < total) {
          failure = http.fail(o.request, 'protocol', `the answer ended after ${have} of ${total} bytes`);
        } else if (total !== undefined && have > total) {
          await handle.close();
          handle = undefined;
          await rm(o.partPath, { force: true });
          throw http.fail(o.request, 'protocol', `received ${have} bytes, more than the announced ${total}; the partial file was removed`);
        } else {
          await handle.sync();
          done = true;
        }
      }
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      await handle?.close();
    }
    if (done) break;
    if (failure === undefined) throw http.fail(o.request, 'protocol', 'the transfer ended in an unexpected state');
    // A transfer that moved forward before breaking is resumed at once; only failures in a row
    // without progress back off, and they are bounded like any retry.
    if (receivedThisAttempt > 0 && slow === undefined) {
      failuresWithoutProgress = 0;
      lastProgressAt = http.clock.now();
      continue;
    }
    failuresWithoutProgress++;
    const delay = backoffDelay(failuresWithoutProgress, policy, () => http.clock.random());
    if (failuresWithoutProgress > policy.maxRetries || http.clock.now() - lastProgressAt + delay > policy.maxElapsedMs) {
      throw failure;
    }
    await http.clock.sleep(delay, o.signal);
  }

  const size = await sizeOf(o.partPath);
  if (total !== undefined && size !== total) {
    throw http.fail(o.request, 'protocol', `downloaded ${size} bytes but the service announced ${total}`);
  }
  const sha256 = await sha256File(o.partPath);
  if (o.sha256 !== undefined && o.sha256.toLowerCase() !== sha256) {
    await rm(o.partPath, { force: true });
    await rm(sidecarPath, { force: true });
    throw http.fail(o.request, 'protocol', `checksum mismatch: expected SHA-256 ${o.sha256}, got ${sha256}; the partial file was removed`);
  }
  const finalPath = o.finalPath(contentType);
  await rename(o.partPath, finalPath);
  await rm(sidecarPath, { force: true });
  return { path: finalPath, bytes: size, sha256, resumedFrom, requests, contentType };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
  return String(err);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
