/**
 * A misbehaving fine-tuning service: it echoes the key in successful answers, redirects to plain
 * http elsewhere, stalls, and sends answers that cannot be read. Served by a few lines of node:http
 * here (the fake server plays a well-behaved service).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.js';

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
