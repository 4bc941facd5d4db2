/**
 * An offline stand-in for the Together AI and OpenAI fine-tuning services, for tests and manual
 * trials. It listens on 127.0.0.1 only, speaks the documented paths, status codes, headers and
 * bodies (one profile per instance), keeps jobs in a lazily computed state machine (state.ts), and
 * takes a queue of scripted faults, settable in-process or over `/__fake/*` control routes:
 *
 *   POST   /__fake/faults         a FakeFault as JSON (`path` as a string with `*` wildcards)
 *   DELETE /__fake/faults         clear the queue
 *   POST   /__fake/clock/advance  {"ms": n}
 *   POST   /__fake/scenario       a partial FakeJobScenario, optionally with "suffix"
 *   GET    /__fake/requests       the request log
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { apiError, json, type FakeRequest, type FakeResponse } from './http.js';
import { openaiRoute } from './openai.js';
import { FakeState } from './state.js';
import { togetherArchive, togetherRoute, type RouteOptions } from './together.js';
import type { FakeFault, FakeJobScenario, FakeRequestRecord, FakeServer, FakeServerOptions } from './types.js';

export const DEFAULT_FAKE_MODELS = [
  'meta-llama/Meta-Llama-3.1-8B-Instruct-Reference',
  'meta-llama/Meta-Llama-3.1-8B-Reference',
  'meta-llama/Llama-2-7b-hf',
  'meta-llama/Llama-2-13b-hf',
  'gpt-4o-mini-2024-07-18',
  'babbage-002',
];

const MAX_BODY = 256 * 1024 * 1024;

export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const profile = options.profile ?? 'together';
  const apiKey = options.apiKey ?? 'fake-key';
  const state = new FakeState(profile, {
    seed: options.seed ?? 'labor-llm',
    clock: options.clock ?? 'real',
    startTime: options.startTime ?? Date.UTC(2026, 0, 1),
    weightBytes: options.weightBytes ?? 96 * 1024,
    scenario: options.scenario ?? {},
  });
  const routeOptions: RouteOptions = {
    models: options.models ?? DEFAULT_FAKE_MODELS,
    upperCaseEvents: options.upperCaseEvents ?? false,
    invalidFileBehaviour: options.invalidFileBehaviour ?? 'reject',
  };
  const faults: Array<FakeFault & { left: number }> = [];
  const requests: FakeRequestRecord[] = [];
  let origin = '';

  const takeFault = (method: string, path: string): FakeFault | undefined => {
    const i = faults.findIndex((f) => (f.method === undefined || f.method.toUpperCase() === method) && pathMatches(f.path, path));
    if (i === -1) return undefined;
    const f = faults[i] as FakeFault & { left: number };
    if (--f.left <= 0) faults.splice(i, 1);
    return f;
  };

  const control = async (req: FakeRequest): Promise<FakeResponse> => {
    const body = (): Record<string, unknown> => {
      try {
        return JSON.parse(req.body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        return {};
      }
    };
    if (req.method === 'POST' && req.path === '/__fake/faults') {
      const f = body() as unknown as FakeFault;
      if (typeof f.path !== 'string') return apiError(400, 'a fault needs a "path"');
      server.addFault(f);
      return json(200, { queued: faults.length });
    }
    if (req.method === 'DELETE' && req.path === '/__fake/faults') {
      server.clearFaults();
      return json(200, { queued: 0 });
    }
    if (req.method === 'POST' && req.path === '/__fake/clock/advance') {
      const ms = Number(body().ms);
      if (!Number.isFinite(ms) || ms < 0) return apiError(400, '"ms" must be a non-negative number');
      state.advance(ms);
      return json(200, { now: new Date(state.now()).toISOString() });
    }
    if (req.method === 'POST' && req.path === '/__fake/scenario') {
      const { suffix, ...rest } = body();
      server.setScenario(rest as Partial<FakeJobScenario>, typeof suffix === 'string' ? suffix : undefined);
      return json(200, { default: state.defaultScenario });
    }
    if (req.method === 'GET' && req.path === '/__fake/requests') return json(200, { requests });
    return apiError(404, `no control route ${req.method} ${req.path}`);
  };

  const handle = async (inc: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(inc.url ?? '/', origin);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(inc.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of inc) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) {
        inc.socket.destroy();
        return;
      }
      chunks.push(c as Buffer);
    }
    const method = (inc.method ?? 'GET').toUpperCase();
    const req: FakeRequest = { method, path: url.pathname, query: url.searchParams, headers, body: Buffer.concat(chunks), origin };
    const record: FakeRequestRecord = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      bodyBytes: req.body.length,
      status: 0,
      faulted: false,
    };
    if ((headers['content-type'] ?? '').startsWith('application/json')) {
      try {
        record.json = JSON.parse(req.body.toString('utf8')) as unknown;
      } catch {
        // recorded without a parsed body; the route answers 400
      }
    }
    requests.push(record);

    if (url.pathname.startsWith('/__fake/') && !url.pathname.startsWith('/__fake/upload/')) {
      return send(res, await control(req), record);
    }
    const fault = takeFault(method, url.pathname);
    if (fault) record.faulted = true;
    if (fault?.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault?.dropConnection) {
      inc.socket.destroy();
      return;
    }
    const faultResponse = fault?.status !== undefined ? faultToResponse(fault) : undefined;
    if (faultResponse && fault?.when !== 'after') return send(res, faultResponse, record);

    let response: FakeResponse;
    if (!url.pathname.startsWith('/__fake/upload/') && !authorised(headers.authorization, apiKey)) {
      response = unauthorised(headers.authorization);
    } else {
      const routed = profile === 'together' ? await togetherRoute(state, req, routeOptions) : await openaiRoute(state, req, routeOptions);
      response = routed ?? apiError(404, `Unknown request URL: ${method} ${url.pathname}`, { code: 'unknown_url' });
    }
    send(res, faultResponse ?? response, record, fault);
  };

  const http = createServer((inc, res) => {
    handle(inc, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, apiError(500, `fake server bug: ${(err as Error).message}`));
      else res.destroy();
    });
  });
  // Loopback only: the fake must never be reachable from another machine.
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  const server: FakeServer = {
    profile,
    url: origin,
    baseUrl: `${origin}/v1`,
    port,
    apiKey,
    requests,
    addFault(f) {
      faults.push({ ...f, left: f.times ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
    },
    pendingFaults: () => faults.length,
    advanceClock: (ms) => state.advance(ms),
    now: () => state.now(),
    setScenario(s, forSuffix) {
      if (forSuffix !== undefined) state.scenarioBySuffix.set(forSuffix, { ...state.scenarioBySuffix.get(forSuffix), ...s });
      else state.defaultScenario = { ...state.defaultScenario, ...s };
    },
    archiveBytes(jobId, checkpoint, step) {
      return togetherArchive(state, jobId, checkpoint, step);
    },
    jobStatus(jobId) {
      const job = state.jobs.get(jobId);
      if (!job) return undefined;
      state.update(job, false);
      return job.status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
  return server;
}

function pathMatches(pattern: string | RegExp, path: string): boolean {
  if (pattern instanceof RegExp) return pattern.test(path);
  if (!pattern.includes('*')) return pattern === path;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(path);
}

function authorised(header: string | undefined, key: string): boolean {
  return header !== undefined && header === `Bearer ${key}`;
}

function unauthorised(header: string | undefined): FakeResponse {
  // Like the real services, echo what was sent: clients must keep it out of their messages.
  const given = header?.replace(/^Bearer\s+/i, '');
  return apiError(401, given ? `Invalid API key provided: ${given}` : 'Missing API key: send Authorization: Bearer <key>', {
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  });
}

function faultToResponse(f: FakeFault): FakeResponse {
  const status = f.status as number;
  const base =
    f.body !== undefined
      ? { status, body: f.body }
      : apiError(status, defaultFaultMessage(status), status === 429 ? { code: 'rate_limit_exceeded' } : {});
  const headers: Record<string, string> = { ...f.headers };
  if (status === 429 && headers['retry-after'] === undefined && headers['Retry-After'] === undefined) headers['retry-after'] = '1';
  return { ...base, headers };
}

function defaultFaultMessage(status: number): string {
  switch (status) {
    case 401:
      return 'Invalid API key provided';
    case 402:
      return 'Credit limit exceeded: add credits to continue';
    case 404:
      return 'Not found';
    case 429:
      return 'Rate limit exceeded, please retry after the indicated time';
    case 500:
      return 'Internal server error';
    case 502:
      return 'Bad gateway';
    case 503:
      return 'Service overloaded, please retry later';
    case 504:
      return 'Gateway timeout';
    default:
      return `Injected failure ${status}`;
  }
}

function send(res: ServerResponse, r: FakeResponse, record?: FakeRequestRecord, fault?: FakeFault): void {
  let body: Buffer;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
  if (Buffer.isBuffer(r.body)) body = r.body;
  else if (typeof r.body === 'string') body = Buffer.from(r.body);
  else if (r.body === undefined) body = Buffer.alloc(0);
  else {
    body = Buffer.from(JSON.stringify(r.body));
    headers['content-type'] ??= 'application/json';
  }
  headers['content-length'] = String(body.length);
  headers['x-request-id'] ??= `req_${Math.random().toString(36).slice(2, 12)}`;
  if (record) record.status = r.status;
  res.writeHead(r.status, headers);
  if (fault?.stallAfterBytes !== undefined && fault.stallAfterBytes < body.length) {
    // Part of the body, then silence until the client gives up and closes.
    res.write(body.subarray(0, fault.stallAfterBytes));
    return;
  }
  const cutAfterBytes = fault?.cutAfterBytes;
  if (cutAfterBytes !== undefined && cutAfterBytes < body.length) {
    // Announce the whole length, send part of it, then close the connection: a cut download.
    // The close waits a moment and is a FIN (end), not a RST (destroy), so that the part sent
    // normally reaches the client before the error does (a fetch body stream that errors drops
    // chunks not yet read, which would make the resume point of a test vary).
    res.write(body.subarray(0, cutAfterBytes), () => setTimeout(() => res.socket?.end(), 50));
    return;
  }
  res.end(body);
}
