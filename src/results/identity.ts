/**
 * Comparing identities (dataset identities, run configurations) written by different processes,
 * possibly on different machines: canonical JSON (sorted keys) for equality, and a list of the
 * differing paths for error messages that say what changed.
 */
import type { JsonValue } from './types.js';

/** JSON with object keys sorted at every level: equal values give equal strings. */
export function canonicalJson(value: JsonValue): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k] as JsonValue);
    return out;
  }
  return v;
}

export interface Difference {
  /** Dotted path of the differing field ("engine.kvCache"). */
  path: string;
  stored: JsonValue | undefined;
  given: JsonValue | undefined;
}

/** Fields that differ between two JSON values (leaves and missing keys), in key order. */
export function jsonDifferences(stored: JsonValue | undefined, given: JsonValue | undefined, path = ''): Difference[] {
  const isObj = (v: JsonValue | undefined): v is { [key: string]: JsonValue } =>
    v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
  if (isObj(stored) && isObj(given)) {
    const keys = [...new Set([...Object.keys(stored), ...Object.keys(given)])].sort();
    return keys.flatMap((k) => jsonDifferences(stored[k], given[k], path ? `${path}.${k}` : k));
  }
  const same =
    stored !== undefined && given !== undefined ? canonicalJson(stored) === canonicalJson(given) : stored === given;
  return same ? [] : [{ path: path || '(value)', stored, given }];
}

/** "template: stored "resume", given "icl"; mode: ..." (at most `max` fields). */
export function describeDifferences(diffs: readonly Difference[], max = 4): string {
  const show = (v: JsonValue | undefined): string => (v === undefined ? '(absent)' : JSON.stringify(v));
  const parts = diffs.slice(0, max).map((d) => `${d.path}: store has ${show(d.stored)}, now ${show(d.given)}`);
  if (diffs.length > max) parts.push(`and ${diffs.length - max} more`);
  return parts.join('; ');
}
