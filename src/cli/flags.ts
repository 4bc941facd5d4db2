/**
 * Parameters as flags: the library names a parameter as a TypeScript caller writes it (`topK`), the CLI
 * as its flag (`--top-k`). One rule (camelCase to kebab-case, the last part of a dotted name) and the
 * exceptions below, used when the CLI prints an error.
 */
import { formatLocation, type LaborLlmError, ParameterError } from '../errors.js';

/** Parameters whose flag is not their kebab-case name. */
const FLAG_NAMES: Readonly<Record<string, string>> = {
  B: 'bootstrap',
  overwrite: 'force',
  columns: 'column',
  learningRate: 'lr',
  'sample.fraction': 'sample',
  'sample.seed': 'sample-seed',
  'resources.extra': 'sbatch',
};

/** The flag of a library parameter: `topK` -> `--top-k`, `engine.contextSize` -> `--context-size`. */
export function flagOf(parameter: string): string {
  const name = FLAG_NAMES[parameter] ?? parameter.slice(parameter.lastIndexOf('.') + 1).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return `--${name}`;
}

/** An error's message as the CLI prints it: the parameters a ParameterError names become flags. */
export function cliMessage(err: LaborLlmError): string {
  if (!(err instanceof ParameterError)) return err.message;
  // Only the message proper: the location is a file name, which may hold anything.
  const detail = err.detail.replace(/`([A-Za-z][\w.]*)`/g, (_, p: string) => flagOf(p));
  return err.location ? `${formatLocation(err.location)}: ${detail}` : detail;
}
