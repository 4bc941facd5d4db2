/**
 * Shards: `--shard i/n` evaluates the workers whose id hashes to i modulo n (0 <= i < n), so n jobs of
 * a Slurm array (`--array=0-(n-1)`, `--shard $SLURM_ARRAY_TASK_ID/n`) cover every worker exactly once,
 * each job's share depends on nothing but the worker ids, and the same command on any machine picks the
 * same workers.
 */
import { ParameterError } from '../errors.js';
import { hash32 } from '../data/synth/prng.js';

export interface ShardSpec {
  /** 0-based shard index, 0 <= index < count. */
  index: number;
  count: number;
}

export const UNSHARDED: ShardSpec = Object.freeze({ index: 0, count: 1 });

/** Fixed seed of the shard hash (changing it would move workers between shards of existing stores). */
const SHARD_SEED = 0x5a4d;

/** Parses "i/n" (0-based i): "0/4" .. "3/4". */
export function parseShard(text: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new ParameterError('shard', `\`shard\` must look like i/n (e.g. 0/4), got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new ParameterError('shard', `\`shard\` ${text}: the number of shards must be at least 1`);
  if (index >= count) {
    throw new ParameterError('shard', `\`shard\` ${text}: shard indices are 0-based, from 0 to ${count - 1}`);
  }
  return { index, count };
}

export function formatShard(s: ShardSpec): string {
  return `${s.index}/${s.count}`;
}

/** The shard (0..count-1) a worker belongs to. */
export function shardOfWorker(workerId: string, count: number): number {
  if (count <= 1) return 0;
  return hash32(workerId, SHARD_SEED) % count;
}

/** Default store name: results.duckdb, or results.shard-I-of-N.duckdb for a shard (`eval --out`'s default). */
export function defaultStorePath(shard: string | undefined): string {
  if (shard === undefined) return 'results.duckdb';
  const s = parseShard(shard);
  return s.count === 1 ? 'results.duckdb' : `results.shard-${s.index}-of-${s.count}.duckdb`;
}
