/**
 * The one place hosted clients talk HTTP: Node's built-in fetch (undici) plus what every call
 * needs on top of it: base URL and bearer auth, a per-request timeout, the retry policy (429 after
 * its Retry-After, 5xx and network failures with backoff, all within a bound), and conversion of
 * every failure into a redacted ServiceError. A retry library would bring the loop but none of the
 * HTTP-specific decisions (Retry-After, idempotency, x-should-retry), which are most of this file.
 */
import { STATUS_CODES } from 'node:http';
import { CancelledError } from '../../../errors.js';
import { Redactor, ServiceError, type ServiceErrorDetails, type ServiceErrorKind } from './errors.js';
import { isLoopback } from './config.js';
import { DEFAULT_RETRY_POLICY, backoffDelay, parseRetryAfter, realClock, type Clock, type RetryPolicy } from './retry.js';
import type { Provider } from './types.js';

/**
 * Which failures a request may be repeated after. `idempotent`: all transient ones.
 * `rate-limit-only`: only 429, because a rate-limited request was refused before it did anything,
 * whereas a 5xx or a lost connection may hide a request that did take effect (a created job).
 */
export type RetryMode = 'idempotent' | 'rate-limit-only' | 'none';

/** A request body that can be produced again for a retry (streams can be read only once). */
export interface StreamBody {
  contentType: string;
  length: number;
  open(): AsyncIterable<Uint8Array>;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Relative to the base URL, e.g. `/fine-tunes`. */
  path?: string;
  /** Absolute URL (presigned upload locations); used instead of `path`. */
  url?: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  form?: Record<string, string>;
  body?: StreamBody;
  headers?: Record<string, string>;
  /** Send the bearer token (default true; presigned storage URLs must not get it). */
  auth?: boolean;
  retry?: RetryMode;
  /** Statuses outside 2xx that the caller handles itself (302 of an upload slot, 409 duplicate). */
  expect?: number[];
  /** Do not follow redirects (Together's upload slot answers 302). */
  manualRedirect?: boolean;
  signal?: AbortSignal;
  /** Per-attempt timeout until the answer's headers arrive (and, for JSON, its body). */
  timeoutMs?: number;
}

export interface RetryInfo {
  method: string;
  path: string;
  /** The retry about to be made, 1-based. */
  retry: number;
  delayMs: number;
  reason: string;
}

export interface HttpClientOptions {
  provider: Provider;
  baseUrl: string;
  apiKey: string;
  retry?: Partial<RetryPolicy>;
  /** Default per-attempt timeout (60 s). */
  timeoutMs?: number;
  clock?: Clock;
  /** Told before each retry (the CLI logs it). */
  onRetry?: (info: RetryInfo) => void;
}

export interface JsonResponse<T> {
  status: number;
  headers: Headers;
  data: T;
}

const MAX_ERROR_BODY = 64 * 1024;

export class HttpClient {
  readonly provider: Provider;
  readonly baseUrl: string;
  readonly policy: RetryPolicy;
  readonly clock: Clock;
  readonly redactor: Redactor;
  readonly timeoutMs: number;
  readonly #apiKey: string;
  readonly #onRetry: ((info: RetryInfo) => void) | undefined;

  constructor(options: HttpClientOptions) {
    this.provider = options.provider;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.clock = options.clock ?? realClock;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.redactor = new Redactor([options.apiKey]);
    this.#onRetry = options.onRetry;
  }

  /**
   * Sends with retries; resolves to a 2xx answer (or one in `expect`) whose body is unread. The
   * request's signal stays linked to the answer, so aborting it also stops reading the body.
   */
  send(req: HttpRequest): Promise<Response> {
    return this.#run(req, async (res) => res, true);
  }

  /** Sends and parses a JSON answer (within the timeout). A body that is not JSON is a protocol error. */
  async json<T>(req: HttpRequest): Promise<JsonResponse<T>> {
    return this.#run(
      req,
      async (res) => {
        const text = await res.text();
        if (text.trim() === '') return { status: res.status, headers: res.headers, data: {} as T };
        try {
          return { status: res.status, headers: res.headers, data: redactJson(JSON.parse(text), this.redactor) as T };
        } catch (err) {
          throw this.#error(
            this.#label(req),
            { provider: this.provider, kind: 'protocol', status: res.status, method: req.method, path: this.#path(req) },
            `the answer is not JSON (${this.redactor.redact(text.slice(0, 120))})`,
            err,
          );
        }
      },
      false,
    );
  }

  async #run<T>(req: HttpRequest, consume: (res: Response) => Promise<T>, keepLinked: boolean): Promise<T> {
    const started = this.clock.now();
    const label = this.#label(req);
    for (let attempt = 1; ; attempt++) {
      let details: ServiceErrorDetails;
      let retryAfterMs: number | undefined;
      let shouldRetryHint: boolean | undefined;
      let cause: unknown;
      try {
        const outcome = await this.#once(
          req,
          async (res): Promise<{ ok: T } | { failed: ServiceErrorDetails; headers: Headers }> => {
            if ((res.status >= 200 && res.status < 300) || req.expect?.includes(res.status)) return { ok: await consume(res) };
            return { failed: await this.errorDetails(res, req), headers: res.headers };
          },
          keepLinked,
        );
        if ('ok' in outcome) return outcome.ok;
        details = outcome.failed;
        retryAfterMs = parseRetryAfter(outcome.headers, Date.now());
        const hint = outcome.headers.get('x-should-retry');
        if (hint === 'true') shouldRetryHint = true;
        if (hint === 'false') shouldRetryHint = false;
      } catch (err) {
        if (err instanceof CancelledError || err instanceof ServiceError) throw err;
        if (err instanceof RedirectRefusal) {
          throw this.#error(label, { provider: this.provider, kind: 'protocol', method: req.method, path: this.#path(req) }, err.message, err);
        }
        cause = err;
        details = this.#transportDetails(err, req);
      }
      const retryable = shouldRetryHint ?? isRetryable(details.kind, req.retry ?? 'idempotent');
      const mayRetry = retryable && req.retry !== 'none' && attempt <= this.policy.maxRetries;
      let delay = retryAfterMs ?? backoffDelay(attempt, this.policy, () => this.clock.random());
      let giveUpNote = attempt > 1 ? `gave up after ${attempt} attempts` : '';
      if (mayRetry && retryAfterMs !== undefined && retryAfterMs > this.policy.maxRetryAfterMs) {
        giveUpNote = `the service asked to wait ${Math.ceil(retryAfterMs / 1000)} s, more than the ${Math.ceil(this.policy.maxRetryAfterMs / 1000)} s allowed`;
        delay = Number.POSITIVE_INFINITY;
      } else if (mayRetry && this.clock.now() - started + delay > this.policy.maxElapsedMs) {
        giveUpNote = `gave up after ${attempt} attempts: retrying would exceed ${Math.round(this.policy.maxElapsedMs / 1000)} s`;
        delay = Number.POSITIVE_INFINITY;
      }
      if (!mayRetry || !Number.isFinite(delay)) {
        throw this.#error(label, { ...details, attempts: attempt }, giveUpNote, cause);
      }
      this.#onRetry?.({
        method: req.method,
        path: details.path ?? '',
        retry: attempt,
        delayMs: delay,
        reason: this.#summary(details),
      });
      await this.clock.sleep(delay, req.signal);
    }
  }

  /** Builds a ServiceError for a failure found by a caller (short body, missing header, ...). */
  fail(req: Pick<HttpRequest, 'method' | 'path' | 'url'>, kind: ServiceErrorKind, message: string, extra?: Partial<ServiceErrorDetails>): ServiceError {
    const r = req as HttpRequest;
    return this.#error(this.#label(r), { provider: this.provider, kind, method: r.method, path: this.#path(r), ...extra }, message);
  }

  /** Reads an error answer: status, the service's error body, request id. */
  async errorDetails(res: Response, req: HttpRequest): Promise<ServiceErrorDetails> {
    let text = '';
    try {
      text = await readLimited(res, MAX_ERROR_BODY);
    } catch {
      // A body we cannot read still leaves the status to report.
    }
    const parsed = parseErrorBody(text);
    const details: ServiceErrorDetails = {
      provider: this.provider,
      kind: kindForStatus(res.status),
      status: res.status,
      method: req.method,
      path: this.#path(req),
    };
    const requestId = res.headers.get('x-request-id');
    if (requestId) details.requestId = requestId;
    if (parsed.message !== undefined) details.serviceMessage = this.redactor.redact(parsed.message);
    if (parsed.type !== undefined) details.serviceType = parsed.type;
    if (parsed.code !== undefined) details.serviceCode = parsed.code;
    if (parsed.param !== undefined) details.param = parsed.param;
    return details;
  }

  async #once<T>(req: HttpRequest, use: (res: Response) => Promise<T>, keepLinked: boolean): Promise<T> {
    const url = this.#url(req);
    const headers: Record<string, string> = { 'user-agent': 'labor-llm', ...req.headers };
    if (req.auth !== false) headers.authorization = `Bearer ${this.#apiKey}`;
    let body: NonNullable<RequestInit['body']> | AsyncIterable<Uint8Array> | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    } else if (req.body !== undefined) {
      headers['content-type'] ??= req.body.contentType;
      // Storage behind presigned URLs refuses chunked uploads: the length must be declared.
      headers['content-length'] = String(req.body.length);
      body = req.body.open();
    }
    const controller = new AbortController();
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onUserAbort = (): void => controller.abort();
    if (req.signal?.aborted) throw new CancelledError();
    req.signal?.addEventListener('abort', onUserAbort, { once: true });
    try {
      const init: RequestInit & { duplex?: 'half' } = {
        method: req.method,
        headers,
        signal: controller.signal,
        // Redirects are followed here, not by fetch, so that each hop obeys the base URL's rule.
        redirect: 'manual',
      };
      if (body !== undefined) init.body = body as NonNullable<RequestInit['body']>;
      if (req.body !== undefined) init.duplex = 'half';
      let res = await fetch(url, init);
      let at = new URL(url);
      for (let hop = 0; !req.manualRedirect && REDIRECTS.has(res.status); hop++) {
        const location = res.headers.get('location');
        if (location === null) break;
        if (hop >= MAX_REDIRECTS) throw new RedirectRefusal(`more than ${MAX_REDIRECTS} redirects`);
        const next = new URL(location, at);
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && isLoopback(next.hostname))) {
          throw new RedirectRefusal(`a redirect to ${next.protocol}//${next.host} (only https, or http to this machine, is followed)`);
        }
        await res.body?.cancel().catch(() => undefined);
        const hopHeaders: Record<string, string> = { ...headers };
        // The key goes to the service's own origin only (as fetch does), never to where it points.
        if (next.origin !== at.origin) delete hopHeaders.authorization;
        const keepBody = res.status === 307 || res.status === 308;
        const hopInit: RequestInit & { duplex?: 'half' } = { ...init, headers: hopHeaders };
        if (keepBody) {
          if (req.body !== undefined) hopInit.body = req.body.open() as unknown as NonNullable<RequestInit['body']>;
        } else {
          hopInit.method = 'GET';
          delete hopInit.body;
          delete hopInit.duplex;
          delete hopHeaders['content-type'];
          delete hopHeaders['content-length'];
        }
        at = next;
        res = await fetch(next, hopInit);
      }
      const out = await use(res);
      if (!keepLinked) req.signal?.removeEventListener('abort', onUserAbort);
      return out;
    } catch (err) {
      req.signal?.removeEventListener('abort', onUserAbort);
      if (req.signal?.aborted) throw new CancelledError();
      if (timedOut) throw new TimeoutSignal(timeoutMs, err);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  #transportDetails(err: unknown, req: HttpRequest): ServiceErrorDetails {
    const base = { provider: this.provider, method: req.method, path: this.#path(req) };
    if (err instanceof TimeoutSignal) {
      return { ...base, kind: 'timeout', serviceMessage: `no answer within ${Math.round(err.ms / 100) / 10} s` };
    }
    let host = '';
    try {
      host = new URL(this.#url(req)).host;
    } catch {
      // the URL was already used successfully to build the request; keep going without a host
    }
    const code = errorCode(err);
    const why = code ?? (err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err));
    return { ...base, kind: 'network', serviceMessage: this.redactor.redact(`could not reach ${host} (${why})`) };
  }

  #error(label: string, details: ServiceErrorDetails, note: string, cause?: unknown): ServiceError {
    const message = this.redactor.redact(`${this.provider}: ${label}: ${this.#summary(details)}${note ? ` (${note})` : ''}`);
    return new ServiceError(message, details, cause === undefined ? undefined : { cause });
  }

  /** "404 Not Found: <service message> (parameter "model")" */
  #summary(d: ServiceErrorDetails): string {
    const parts: string[] = [];
    if (d.status !== undefined) parts.push(`${d.status} ${STATUS_CODES[d.status] ?? ''}`.trim());
    if (d.serviceMessage) parts.push(d.serviceMessage);
    else if (d.status === undefined) parts.push(d.kind);
    return parts.join(': ') + (d.param ? ` (parameter "${d.param}")` : '');
  }

  #label(req: HttpRequest): string {
    return `${req.method} ${req.url !== undefined ? 'upload URL' : this.#path(req)}`;
  }

  #path(req: HttpRequest): string {
    if (req.url !== undefined) {
      try {
        return new URL(req.url).pathname;
      } catch {
        return '(upload URL)';
      }
    }
    return req.path ?? '/';
  }

  #url(req: HttpRequest): string {
    const u = new URL(req.url ?? `${this.baseUrl}${req.path ?? ''}`);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;

/** A redirect this client will not follow (reported as a protocol error, never retried). */
class RedirectRefusal extends Error {}

/** Every string of a parsed JSON answer through the redactor: a service may echo the key in a 200 answer too. */
function redactJson(value: unknown, redactor: Redactor): unknown {
  if (typeof value === 'string') return redactor.redact(value);
  if (Array.isArray(value)) return value.map((v) => redactJson(v, redactor));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactor.redact(k), redactJson(v, redactor)]));
  }
  return value;
}

class TimeoutSignal extends Error {
  constructor(
    readonly ms: number,
    cause: unknown,
  ) {
    super(`timeout after ${ms} ms`, { cause });
  }
}

function isRetryable(kind: ServiceErrorKind, mode: RetryMode): boolean {
  if (mode === 'none') return false;
  if (mode === 'rate-limit-only') return kind === 'rate_limit';
  return kind === 'rate_limit' || kind === 'server' || kind === 'network' || kind === 'timeout';
}

export function kindForStatus(status: number): ServiceErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 402) return 'payment';
  if (status === 404) return 'not_found';
  if (status === 409) return 'conflict';
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate_limit';
  // 501 (not implemented) and 505 will not get better by asking again.
  if (status >= 500 && status !== 501 && status !== 505) return 'server';
  if (status >= 300 && status < 400) return 'protocol';
  return 'bad_request';
}

interface ParsedError {
  message?: string;
  type?: string;
  code?: string;
  param?: string;
}

/** Both services wrap errors as {"error": {message, type, param, code}}; some proxies send {"message"} or text. */
export function parseErrorBody(text: string): ParsedError {
  const out: ParsedError = {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);
  try {
    const body = JSON.parse(text) as unknown;
    if (body !== null && typeof body === 'object') {
      const o = body as Record<string, unknown>;
      const e = o.error;
      if (e !== null && typeof e === 'object') {
        const eo = e as Record<string, unknown>;
        const m = str(eo.message);
        if (m !== undefined) out.message = m;
        const t = str(eo.type);
        if (t !== undefined) out.type = t;
        const c = str(eo.code);
        if (c !== undefined) out.code = c;
        const p = str(eo.param);
        if (p !== undefined) out.param = p;
      } else if (typeof e === 'string') {
        out.message = e;
      }
      if (out.message === undefined) {
        const m = str(o.message) ?? str(o.detail);
        if (m !== undefined) out.message = m;
      }
      return out;
    }
  } catch {
    // not JSON: fall through to text
  }
  const t = text.trim();
  if (t !== '' && !t.startsWith('<')) out.message = t.slice(0, 500);
  return out;
}

async function readLimited(res: Response, limit: number): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    n += value.length;
    if (n >= limit) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function errorCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e instanceof Error; i++) {
    const code = (e as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = e.cause;
  }
  return undefined;
}
