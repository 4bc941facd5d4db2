/**
 * Typed errors. Every error the toolkit raises on purpose is a LaborLlmError with a stable `code`,
 * so that the CLI can map it to an exit code and library users can branch on it.
 */

export type ErrorCode =
  | 'INPUT' // malformed user input (files, options)
  | 'NOT_FOUND' // a file, model or named thing that does not exist
  | 'MODEL' // a GGUF the engine cannot load or use
  | 'ENGINE' // a failure inside the native engine
  | 'CANCELLED' // an operation stopped by its AbortSignal
  | 'STATE' // an operation on something already closed or freed
  | 'SERVICE' // a remote fine-tuning service answered with an error
  | 'CONFIG'; // missing configuration (API keys, base URLs)

export class LaborLlmError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Where in a user's file a problem is. Lines and columns are 1-based. */
export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
  field?: string;
}

export function formatLocation(loc: SourceLocation): string {
  let s = loc.file;
  if (loc.line !== undefined) s += `:${loc.line}`;
  if (loc.column !== undefined) s += `:${loc.column}`;
  if (loc.field !== undefined) s += ` (field "${loc.field}")`;
  return s;
}

/** Bad data in a user's file: the message names file, line and field. */
export class InputError extends LaborLlmError {
  readonly location: SourceLocation | undefined;
  constructor(message: string, location?: SourceLocation, options?: { cause?: unknown }) {
    super('INPUT', location ? `${formatLocation(location)}: ${message}` : message, options);
    this.location = location;
  }
}

/**
 * A parameter of a library call whose value is refused, or that is the way out of an error (a store
 * made by another evaluation: choose another `out`). The message names parameters as a TypeScript
 * caller writes them, in backticks (`topK`, `sample.fraction`); the CLI prints each as its flag
 * (`--top-k`, src/cli/flags.ts), so flags are spelled in the CLI alone.
 */
export class ParameterError extends InputError {
  /** The parameter the error is about. */
  readonly parameter: string;
  /** The message without its location. */
  readonly detail: string;
  constructor(parameter: string, message: string, location?: SourceLocation, options?: { cause?: unknown }) {
    super(message, location, options);
    this.parameter = parameter;
    this.detail = message;
  }
}

export class NotFoundError extends LaborLlmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}

export class ModelError extends LaborLlmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MODEL', message, options);
  }
}

export class EngineError extends LaborLlmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ENGINE', message, options);
  }
}

export class CancelledError extends LaborLlmError {
  constructor(message = 'the operation was cancelled') {
    super('CANCELLED', message);
  }
}

export class StateError extends LaborLlmError {
  constructor(message: string) {
    super('STATE', message);
  }
}

export class ConfigError extends LaborLlmError {
  constructor(message: string) {
    super('CONFIG', message);
  }
}

/** Process exit codes used by the CLI (documented in the README). */
export const EXIT_CODES: Record<ErrorCode | 'OK' | 'UNEXPECTED', number> = {
  OK: 0,
  UNEXPECTED: 1,
  INPUT: 2,
  NOT_FOUND: 3,
  MODEL: 4,
  ENGINE: 5,
  CANCELLED: 130,
  STATE: 6,
  SERVICE: 7,
  CONFIG: 8,
};
