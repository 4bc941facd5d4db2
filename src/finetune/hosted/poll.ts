/**
 * Following a job to its end: poll the status, pass on new events in order, stop on any terminal
 * state (not only success), and turn a failed job into a JobFailedError carrying the service's reason.
 */
import { JobFailedError } from './errors.js';
import { realClock } from './retry.js';
import { TERMINAL_STATES, type EventCursor, type FineTuneEvent, type FineTuneJob, type HostedFineTuneClient } from './types.js';

export interface WaitOptions {
  /** Between polls (default 30 s; the services ask for tens of seconds, not one). */
  intervalMs?: number;
  /** Every polled job state. */
  onUpdate?: (job: FineTuneJob) => void;
  /** Each new event once, oldest first. Events are fetched only when this is given. */
  onEvent?: (event: FineTuneEvent) => void;
  signal?: AbortSignal;
  /** Substitute sleeper (tests). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Throw JobFailedError when the job fails (default true); cancelled jobs are returned. */
  throwOnFailure?: boolean;
}

export async function waitForJob(client: HostedFineTuneClient, id: string, options: WaitOptions = {}): Promise<FineTuneJob> {
  const sleep = options.sleep ?? realClock.sleep;
  const signalOpt = options.signal ? { signal: options.signal } : {};
  let cursor: EventCursor | undefined;
  for (;;) {
    const job = await client.getJob(id, signalOpt);
    // Events after the status, so that the events of a final transition arrive with it.
    if (options.onEvent) {
      const r = await client.eventsSince(id, cursor, signalOpt);
      cursor = r.cursor;
      for (const e of r.events) options.onEvent(e);
    }
    options.onUpdate?.(job);
    if (TERMINAL_STATES.has(job.state)) {
      if (job.state === 'failed' && options.throwOnFailure !== false) throw new JobFailedError(client.provider, id, job.status, job.error);
      return job;
    }
    await sleep(options.intervalMs ?? 30_000, options.signal);
  }
}

/** Streams a job's events until it ends (or only those present now, when `follow` is false). */
export async function followEvents(
  client: HostedFineTuneClient,
  id: string,
  onEvent: (event: FineTuneEvent) => void,
  options: Omit<WaitOptions, 'onEvent'> & { follow?: boolean } = {},
): Promise<FineTuneJob | undefined> {
  if (options.follow === false) {
    for (const e of await client.listEvents(id, options.signal ? { signal: options.signal } : {})) onEvent(e);
    return undefined;
  }
  return waitForJob(client, id, { ...options, onEvent, throwOnFailure: false });
}
