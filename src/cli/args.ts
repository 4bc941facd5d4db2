/**
 * Checks of option values the data subcommands share. yargs reports a bad `choices` value through
 * main's .fail() but still runs the handler, so handlers re-check their choices here.
 */
import type { Argv } from 'yargs';
import { InputError } from '../errors.js';
import type { GlobalOptions } from './output.js';

/** The argument type a builder produces. */
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
