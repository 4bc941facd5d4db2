/**
 * The CLI's helpers for option values, one set for every command: the argument type of a builder, checks
 * that name the flag (yargs reports a bad `choices` value through main's .fail() but still runs the
 * handler, so handlers re-check their choices here) and byte sizes as people read them.
 */
import type { Argv } from 'yargs';
import { InputError } from '../errors.js';
import type { GlobalOptions } from './output.js';

/** The argument type a builder produces (yargs adds camelCase aliases for the handler). */
export type ArgsOf<B> = B extends (y: Argv<GlobalOptions>) => Argv<infer U> ? U : never;

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InputError(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function integer(name: string, value: unknown, min = Number.MIN_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InputError(`--${name} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ''}, got ${String(value)}`);
  }
  return value;
}

/** "512 B", "1.5 KiB", "12.3 MiB", "4.20 GiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** `--out` of the commands that write a panel store (data import, synth, mix, randomize). */
export const PANEL_OUT_OPTION = { type: 'string', demandOption: true, describe: 'panel store folder to write' } as const;

/** `--force` of the commands that write a panel store. */
export const PANEL_FORCE_OPTION = { type: 'boolean', default: false, describe: 'replace an existing --out folder' } as const;
