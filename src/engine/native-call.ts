/**
 * What every call into the native addon shares: a cancel flag the C++ side polls, native rejections
 * turned into the toolkit's typed errors, and progress callbacks whose exceptions come back as thrown.
 */
import { CancelledError, EngineError, InputError, LaborLlmError, ModelError, ParameterError, StateError } from '../errors.js';

/**
 * An option the engine refused: its fields tables (native/engine/options.h) name it as the TypeScript
 * options do (`contextSize must be an integer in [64, ...]`), so it becomes a ParameterError the CLI
 * prints with the flag. Nested names (`lora[0].scale`) stay plain input errors.
 */
const OPTION_MESSAGE = /^([A-Za-z][A-Za-z0-9]*) (must be .*)$/s;

/** Turns a native rejection (an Error with a `code`) into the toolkit's typed error. */
export function toTypedError(err: unknown, context: string): LaborLlmError {
  if (err instanceof LaborLlmError) return err;
  const e = err as { code?: string; message?: string };
  const message = `${context}: ${e.message ?? String(err)}`;
  switch (e.code) {
    case 'INPUT': {
      const option = OPTION_MESSAGE.exec(e.message ?? '');
      if (option) return new ParameterError(option[1]!, `${context}: \`${option[1]!}\` ${option[2]!}`);
      return new InputError(message);
    }
    case 'MODEL':
      return new ModelError(message);
    case 'CANCELLED':
      return new CancelledError(message);
    case 'STATE':
      return new StateError(message);
    default:
      return new EngineError(message, { cause: err });
  }
}

/**
 * A cancel flag the native side reads, set when `signal` aborts (CancelledError at once if it already
 * has); `dispose` removes the listener. No signal, no flag: the native side then never stops early.
 */
export function cancelFlag(signal: AbortSignal | undefined): { flag: Int32Array | undefined; dispose: () => void } {
  if (!signal) return { flag: undefined, dispose: () => undefined };
  if (signal.aborted) throw new CancelledError();
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = (): void => {
    Atomics.store(flag, 0, 1);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  return { flag, dispose: () => signal.removeEventListener('abort', onAbort) };
}

/**
 * Runs a long native call that reports progress (a training run): `call` gets the progress callback
 * to hand to the addon and the cancel flag. An exception thrown by `onProgress` stops the run and is
 * rethrown as it was thrown; any other rejection becomes a typed error prefixed with `context`.
 */
export async function callWithProgress<P, R>(
  signal: AbortSignal | undefined,
  onProgress: ((p: P) => void) | undefined,
  context: string,
  call: (onProgress: (p: P) => void, cancel: Int32Array | undefined) => Promise<R>,
): Promise<R> {
  const { flag, dispose } = cancelFlag(signal);
  let callbackError: { error: unknown } | undefined;
  const guarded = (p: P): void => {
    try {
      onProgress?.(p);
    } catch (error) {
      callbackError = { error };
      throw error;
    }
  };
  try {
    return await call(guarded, flag);
  } catch (err) {
    if (callbackError) throw callbackError.error;
    throw toTypedError(err, context);
  } finally {
    dispose();
  }
}
