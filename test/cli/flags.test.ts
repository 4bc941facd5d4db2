/**
 * The library names parameters, the CLI flags: a ParameterError's message says `topK`, the CLI prints
 * --top-k (src/cli/flags.ts), with the exit code of bad input.
 */
import { describe, expect, it } from 'vitest';
import { cliMessage, flagOf } from '../../src/cli/flags.js';
import { EXIT_CODES, InputError, ParameterError } from '../../src/errors.js';
import { buildReport } from '../../src/report/build.js';
import { runCli } from '../helpers/run-cli.js';

describe('parameters as flags', () => {
  it('turns camelCase and dotted parameters into kebab-case flags, with the exceptions of the table', () => {
    expect(flagOf('topK')).toBe('--top-k');
    expect(flagOf('laborForce')).toBe('--labor-force');
    expect(flagOf('engine.contextSize')).toBe('--context-size');
    expect(flagOf('icl.k')).toBe('--k');
    expect(flagOf('B')).toBe('--bootstrap');
    expect(flagOf('learningRate')).toBe('--lr');
    expect(flagOf('sample.fraction')).toBe('--sample');
    expect(flagOf('sample.seed')).toBe('--sample-seed');
    expect(flagOf('resources.extra')).toBe('--sbatch');
    expect(flagOf('overwrite')).toBe('--force');
  });

  it('rewrites every parameter a ParameterError names, and nothing in other errors', () => {
    const err = new ParameterError('reference', '`reference` "x" has raw log-probs only; use `variant` raw to compare with it');
    expect(err).toBeInstanceOf(InputError);
    expect(err.parameter).toBe('reference');
    expect(cliMessage(err)).toBe('--reference "x" has raw log-probs only; use --variant raw to compare with it');
    expect(cliMessage(new InputError('a `quoted` value', { file: 'p.csv', line: 2 }))).toBe('p.csv:2: a `quoted` value');
    // The location is a file name: left as it is, only the message proper is rewritten.
    const located = new ParameterError('out', 'write to a new `out` store', { file: 'a`b`.duckdb', field: 'dataset' });
    expect(located.message).toBe('a`b`.duckdb (field "dataset"): write to a new `out` store');
    expect(cliMessage(located)).toBe('a`b`.duckdb (field "dataset"): write to a new --out store');
  });

  it('the library error names the parameter; the CLI prints the flag', async () => {
    await expect(buildReport(['none.duckdb'], { B: 1 })).rejects.toThrow(/^`B` must be an integer >= 2, got 1$/);
    const r = await runCli(['report', 'none.duckdb', '--bootstrap', '1']);
    expect(r.code).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toBe('labor-llm: --bootstrap must be an integer >= 2, got 1\n');
  });
});
