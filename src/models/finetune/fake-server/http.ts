/** Request and response values passed between the fake's plumbing (server.ts) and its routes. */

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
  /** `http://127.0.0.1:<port>`, for URLs the fake hands out (presigned uploads). */
  origin: string;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  /** Buffer/string sent as is; anything else as JSON. */
  body?: unknown;
}

export function json(status: number, body: unknown, headers?: Record<string, string>): FakeResponse {
  return headers ? { status, body, headers } : { status, body };
}

/** The error body both services use: {"error": {message, type, param, code}}. */
export function apiError(status: number, message: string, extra: { type?: string; code?: string | null; param?: string | null } = {}): FakeResponse {
  const type = extra.type ?? (status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error');
  return json(status, { error: { message, type, param: extra.param ?? null, code: extra.code ?? null } });
}

/** Reads a urlencoded or multipart body the way a server would (undici parses both). */
export async function formFields(req: FakeRequest): Promise<{ fields: Record<string, string>; file?: { name: string; data: Buffer } }> {
  const ct = req.headers['content-type'] ?? '';
  const fields: Record<string, string> = {};
  for (const [k, v] of req.query) fields[k] = v;
  if (!ct.startsWith('multipart/form-data') && !ct.startsWith('application/x-www-form-urlencoded')) return { fields };
  const form = await new Response(req.body, { headers: { 'content-type': ct } }).formData();
  let file: { name: string; data: Buffer } | undefined;
  for (const [k, v] of form.entries()) {
    if (typeof v === 'string') fields[k] = v;
    else if (k === 'file') file = { name: v.name, data: Buffer.from(await v.arrayBuffer()) };
  }
  return file ? { fields, file } : { fields };
}

export function parseJsonBody(req: FakeRequest): { ok: true; value: Record<string, unknown> } | { ok: false; response: FakeResponse } {
  try {
    const v = JSON.parse(req.body.toString('utf8')) as unknown;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, response: apiError(400, 'request body must be a JSON object') };
    return { ok: true, value: v as Record<string, unknown> };
  } catch {
    return { ok: false, response: apiError(400, 'request body is not valid JSON') };
  }
}

/**
 * Serves `data` honouring a single `Range` (bytes=a-b, a-, -n) and `If-Range`: 206 with
 * Content-Range, 416 when unsatisfiable, 200 otherwise.
 */
export function rangeResponse(req: FakeRequest, data: Buffer, headers: Record<string, string>): FakeResponse {
  const base = { ...headers, 'accept-ranges': 'bytes' };
  const range = req.headers.range;
  const ifRange = req.headers['if-range'];
  if (range === undefined || (ifRange !== undefined && ifRange !== headers.etag)) {
    return { status: 200, headers: base, body: data };
  }
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!m || (m[1] === '' && m[2] === '')) return { status: 200, headers: base, body: data };
  const total = data.length;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, total - Number(m[2]));
    end = total - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? total - 1 : Math.min(Number(m[2]), total - 1);
  }
  if (start >= total || start > end) {
    return { status: 416, headers: { ...base, 'content-range': `bytes */${total}` }, body: Buffer.alloc(0) };
  }
  return { status: 206, headers: { ...base, 'content-range': `bytes ${start}-${end}/${total}` }, body: data.subarray(start, end + 1) };
}
