/**
 * Ctrl-C (SIGINT) and SIGTERM abort the running operation: the library stops at its next step, keeps
 * what is complete (stores, checkpoints, partial downloads) and throws CancelledError (exit 130).
 */

/** Runs `f` with a signal that SIGINT or SIGTERM aborts; the handlers are removed when `f` settles. */
export async function withInterrupt<T>(f: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await f(controller.signal);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/** Resolves at the first SIGINT or SIGTERM (a server that runs until stopped). */
export function untilInterrupted(): Promise<void> {
  return withInterrupt((signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })));
}
