/**
 * A misbehaving fine-tuning service: it echoes the key in successful answers, redirects to plain
 * http elsewhere, stalls, and sends answers that cannot be read. Served by a few lines of node:http
 * here (the fake server plays a well-behaved service).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadResumable, type ResumableDownloadOptions } from '../../src/models/finetune/hosted/download.js';
import { HttpClient } from '../../src/models/finetune/hosted/http.js';
import { runCli } from '../helpers/run-cli.js';

const KEY = 'sk-robust-secret-0123456789';
type Route = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Route>();
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const route = routes.get(req.url ?? '');
    if (route) route(req, res);
    else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no such route"}}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function json(status: number, body: unknown): Route {
  return (_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

async function openai(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL };
  process.env.OPENAI_API_KEY = KEY;
  process.env.OPENAI_BASE_URL = base;
  try {
    return await runCli(['finetune', ...argv, '--provider', 'openai']);
  } finally {
    for (const [k, v] of [['OPENAI_API_KEY', saved.key], ['OPENAI_BASE_URL', saved.url]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('a service that misbehaves', () => {
  it('a key echoed in a 200 answer is never printed (human and --json)', async () => {
    routes.set(
      '/v1/fine_tuning/jobs/ftjob-echo',
      json(200, {
        id: 'ftjob-echo',
        object: 'fine_tuning.job',
        status: 'failed',
        model: `gpt-4o-mini ${KEY}`,
        suffix: KEY,
        error: { message: `bad header Authorization: Bearer ${KEY}` },
        [`key-${KEY}`]: KEY,
      }),
    );
    for (const extra of [[], ['--json']]) {
      const r = await openai(['status', 'ftjob-echo', ...extra]);
      expect(r.stdout.length).toBeGreaterThan(0);
      expect(r.stdout + r.stderr).not.toContain(KEY);
      expect(r.stdout).toContain('[REDACTED]');
    }
  });

  it('a redirect to plain http on another host is refused, not followed', async () => {
    routes.set('/v1/fine_tuning/jobs/ftjob-redirect', (_req, res) => res.writeHead(302, { location: 'http://example.invalid/steal' }).end());
    const r = await openai(['status', 'ftjob-redirect']);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/redirect to http:\/\/example\.invalid/);
    // A redirect to https, or to this machine, is followed as before.
    routes.set('/v1/fine_tuning/jobs/ftjob-hop', (_req, res) => res.writeHead(307, { location: `${base}/fine_tuning/jobs/ftjob-echo` }).end());
    expect((await openai(['status', 'ftjob-hop'])).code).toBe(0);
  });
});

describe('waits', () => {
  it('status --wait on answers without a readable status gives up (exit 7) instead of polling forever', async () => {
    routes.set('/v1/fine_tuning/jobs/ftjob-garbled', json(200, { id: 'ftjob-garbled', status: 42 }));
    routes.set('/v1/fine_tuning/jobs/ftjob-garbled/events?limit=100', json(200, { object: 'list', data: [], has_more: false }));
    const r = await openai(['status', 'ftjob-garbled', '--wait', '--poll-interval', '0.01']);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/3 answers in a row without a readable status \(status: 42\)/);
  });

  it('status --wait gives up after --max-wait (exit 7), saying the job goes on', async () => {
    routes.set('/v1/fine_tuning/jobs/ftjob-slow', json(200, { id: 'ftjob-slow', status: 'running' }));
    routes.set('/v1/fine_tuning/jobs/ftjob-slow/events?limit=100', json(200, { object: 'list', data: [], has_more: false }));
    const r = await openai(['status', 'ftjob-slow', '--wait', '--poll-interval', '0.05', '--max-wait', '0.3']);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/still "running" after 0\.3 s; gave up waiting/);
  });
});

describe('downloads', () => {
  const bytes = Buffer.from(Array.from({ length: 64 * 1024 }, (_, i) => (i * 7) & 0xff));
  /** Serves `bytes` with Range support, like a checkpoint store. */
  const ranged: Route = (req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m ? Number(m[1]) : 0;
    const head = { 'content-type': 'application/octet-stream', etag: '"v1"' };
    if (m) res.writeHead(206, { ...head, 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` });
    else res.writeHead(200, { ...head, 'content-length': String(bytes.length) });
    res.end(bytes.subarray(from));
  };

  async function download(path: string, dir: string, extra: Partial<ResumableDownloadOptions> = {}): Promise<unknown> {
    const http = new HttpClient({ provider: 'together', baseUrl: base, apiKey: KEY, timeoutMs: 2000, retry: { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 20 } });
    return downloadResumable({
      http,
      request: { method: 'GET', path },
      partPath: join(dir, 'model.part'),
      finalPath: () => join(dir, 'model.bin'),
      ...extra,
    });
  }

  it('a leftover .part from another download is not spliced into this one', async () => {
    routes.set('/v1/ckpt', ranged);
    const dir = mkdtempSync(join(tmpdir(), 'labor-llm-dl-'));
    writeFileSync(join(dir, 'model.part'), Buffer.alloc(1000, 0xee));
    await download('/ckpt', dir);
    expect(readFileSync(join(dir, 'model.bin')).equals(bytes)).toBe(true);
    // A .part of this very download (its sidecar says so) is still resumed.
    writeFileSync(join(dir, 'model.part'), bytes.subarray(0, 1000));
    writeFileSync(join(dir, 'model.part.json'), JSON.stringify({ source: JSON.stringify(['GET', null, '/ckpt', null]), etag: '"v1"' }));
    rmSync(join(dir, 'model.bin'));
    const r = (await download('/ckpt', dir)) as { resumedFrom: number };
    expect(r.resumedFrom).toBe(1000);
    expect(readFileSync(join(dir, 'model.bin')).equals(bytes)).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a slow drip ends within the retry bound instead of running on', async () => {
    const timers: NodeJS.Timeout[] = [];
    routes.set('/v1/drip', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(1 << 20) });
      // 10 bytes every 50 ms: never idle, 200 bytes/s.
      const t = setInterval(() => res.write(Buffer.alloc(10, 1)), 50);
      timers.push(t);
      res.on('close', () => clearInterval(t));
    });
    const dir = mkdtempSync(join(tmpdir(), 'labor-llm-dl-'));
    const started = Date.now();
    const outcome = await Promise.race([
      download('/drip', dir, { idleTimeoutMs: 400, minBytesPerSecond: 1000 }).then(
        () => 'finished',
        (e: unknown) => (e as Error).message,
      ),
      new Promise<string>((done) => setTimeout(() => done('still running after 20 s'), 20_000)),
    ]);
    timers.forEach(clearInterval);
    expect(outcome).toMatch(/slower than 1000 bytes\/s/);
    expect(Date.now() - started).toBeLessThan(10_000);
    rmSync(dir, { recursive: true, force: true });
  });
});
