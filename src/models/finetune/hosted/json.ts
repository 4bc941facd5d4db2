/**
 * Tolerant readers for service JSON: both services add fields over time and spell some of them
 * two ways, so clients read what they need, check its type, and keep the rest in `raw`.
 */
import { createHash } from 'node:crypto';

export type JsonObject = Record<string, unknown>;

export function asObject(v: unknown): JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : {};
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/**
 * Sets each field of `params` that has a value on `body`, under the service's name for it (`names`:
 * field -> key). Keys are added in the order of `names`, which is the order they are sent in.
 */
export function setDefined<P extends object>(body: JsonObject, params: P, names: { readonly [K in keyof P]?: string }): void {
  for (const [field, key] of Object.entries(names) as [keyof P, string][]) {
    const value = params[field];
    if (value !== undefined) body[key] = value;
  }
}

/** ISO-8601 from Unix seconds (OpenAI, Together files) or an ISO string (Together jobs). */
export function isoTime(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000).toISOString();
  if (typeof v === 'string' && v !== '') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? v : new Date(t).toISOString();
  }
  return undefined;
}

/** A job or checkpoint name made safe as a file name ("ns/model-x" -> "ns--model-x"). */
export function safeFileName(name: string): string {
  const safe = name.replace(/\//g, '--').replace(/[^A-Za-z0-9._=+-]+/g, '_').replace(/^\.+/, '_');
  // File names end at 255 bytes (ENAMETOOLONG); leave room for "-checkpoint-N-adapter.tar.zst.part.json".
  if (safe.length <= MAX_NAME) return safe;
  return `${safe.slice(0, MAX_NAME - 17)}-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;
}

const MAX_NAME = 160;
