/**
 * Following a job to its end: poll the status, pass on new events in order, stop on any terminal
 * state (not only success), and turn a failed job into a JobFailedError carrying the service's reason.
 */
import { JobFailedError, ServiceError } from './errors.js';
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
  /** Give up (a ServiceError of kind "timeout") when the job has not ended after this long (default 72 h). */
  deadlineMs?: number;
  /** Substitute clock for the deadline (tests). */
  now?: () => number;
}

/** Long enough for a queued job on a busy service; a wait that never ends is the failure it prevents. */
export const DEFAULT_WAIT_DEADLINE_MS = 72 * 3600_000;
/** Polls in a row whose answer has no readable status before the wait gives up. */
const MAX_UNREADABLE_POLLS = 3;

export async function waitForJob(client: HostedFineTuneClient, id: string, options: WaitOptions = {}): Promise<FineTuneJob> {
  const sleep = options.sleep ?? realClock.sleep;
  const signalOpt = options.signal ? { signal: options.signal } : {};
  const now = options.now ?? Date.now;
  const deadlineMs = options.deadlineMs ?? DEFAULT_WAIT_DEADLINE_MS;
  const giveUpAt = now() + deadlineMs;
  let cursor: EventCursor | undefined;
  let unreadable = 0;
  for (;;) {
    const job = await client.getJob(id, signalOpt);
    // A status that is missing or not a string maps to "unknown": waiting on it would never end.
    const raw = (job.raw as Record<string, unknown> | undefined)?.status;
    unreadable = job.state === 'unknown' && typeof raw !== 'string' ? unreadable + 1 : 0;
    if (unreadable >= MAX_UNREADABLE_POLLS) {
      throw new ServiceError(`${client.provider}: job ${id}: ${unreadable} answers in a row without a readable status (status: ${JSON.stringify(raw) ?? 'missing'})`, {
        provider: client.provider,
        kind: 'protocol',
      });
    }
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
    const interval = options.intervalMs ?? 30_000;
    if (now() + interval > giveUpAt) {
      throw new ServiceError(
        `${client.provider}: job ${id} is still "${job.status}" after ${formatSeconds(deadlineMs)}; gave up waiting ` +
          `(the job goes on: check it later with "labor-llm finetune status ${id}", or wait longer with --max-wait)`,
        { provider: client.provider, kind: 'timeout' },
      );
    }
    await sleep(interval, options.signal);
  }
}

function formatSeconds(ms: number): string {
  return ms >= 3600_000 ? `${Math.round(ms / 360_000) / 10} h` : `${Math.round(ms / 100) / 10} s`;
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
