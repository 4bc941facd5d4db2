/** Public shapes of the offline fake fine-tuning service (see server.ts). */

export type FakeProfile = 'together' | 'openai';

/**
 * One job's timeline. Stages use Together's names; the OpenAI profile maps `pending` to
 * `validating_files` and folds compressing/uploading into `running`.
 */
export interface FakeJobScenario {
  /** Virtual ms spent in each non-terminal status; 0 skips the status. */
  pendingMs: number;
  queuedMs: number;
  runningMs: number;
  compressingMs: number;
  uploadingMs: number;
  /** Instead of time: advance one status every N status polls (GET of the job). */
  advanceEveryNPolls?: number;
  outcome: 'completed' | 'error' | 'user_error';
  /** Where a failing job fails (default `running`). */
  failInStatus?: 'pending' | 'queued' | 'running' | 'compressing' | 'uploading';
  /** Message of the job_error event (OpenAI: `error.message`). */
  errorMessage?: string;
  /** Virtual ms in cancel_requested before cancelled (Together; OpenAI cancels at once). */
  cancelGraceMs: number;
}

export const DEFAULT_SCENARIO: FakeJobScenario = {
  pendingMs: 500,
  queuedMs: 1_000,
  runningMs: 3_000,
  compressingMs: 500,
  uploadingMs: 500,
  outcome: 'completed',
  cancelGraceMs: 500,
};

/**
 * A scripted failure. The first queued fault whose method and path match a request is used
 * (`times` times, default once). With `status` the fake answers that instead of the real response
 * (`when: 'after'`: after really handling the request, e.g. a job created whose answer is lost);
 * with `cutAfterBytes` it sends the real response but closes the connection after that many body
 * bytes; with `stallAfterBytes` it sends that many and then nothing more, holding the connection
 * open (a stalled transfer, for idle timeouts); `dropConnection` closes without answering;
 * `delayMs` waits (real time) first.
 */
export interface FakeFault {
  method?: string;
  /** Path (e.g. `/v1/fine-tunes`); `*` matches any run of characters. A RegExp in-process. */
  path: string | RegExp;
  status?: number;
  headers?: Record<string, string>;
  /** JSON value or text; default: the API's error body with a message for the status. */
  body?: unknown;
  times?: number;
  when?: 'before' | 'after';
  cutAfterBytes?: number;
  stallAfterBytes?: number;
  dropConnection?: boolean;
  delayMs?: number;
}

export interface FakeRequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  bodyBytes: number;
  /** The parsed body of JSON requests (job creation, ...). */
  json?: unknown;
  /** Status sent (0 when the connection was dropped). */
  status: number;
  faulted: boolean;
}

export interface FakeServerOptions {
  profile?: FakeProfile;
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The only key accepted (default `fake-key`). */
  apiKey?: string;
  /** Base models that can be fine-tuned; others get 404. */
  models?: string[];
  scenario?: Partial<FakeJobScenario>;
  /** `real`: virtual time follows the wall clock (plus advanceClock); `manual`: only advanceClock moves it. */
  clock?: 'real' | 'manual';
  /** Virtual time at start, ms since the epoch (default 2026-01-01T00:00:00Z). */
  startTime?: number;
  /** Size of the weights file inside each checkpoint archive (default 96 KiB). */
  weightBytes?: number;
  /** Spell event types in upper case, as the Python v1 SDK does. */
  upperCaseEvents?: boolean;
  /** Where invalid training data is reported: at preprocess/create (default), or as a failing job. */
  invalidFileBehaviour?: 'reject' | 'job';
  /** Seed of the id generator. */
  seed?: string;
}

export interface FakeServer {
  readonly profile: FakeProfile;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `url` + `/v1`, what a client is configured with. */
  readonly baseUrl: string;
  readonly port: number;
  readonly apiKey: string;
  /** Every request received, in order. */
  readonly requests: FakeRequestRecord[];
  addFault(fault: FakeFault): void;
  clearFaults(): void;
  /** Faults not yet used up. */
  pendingFaults(): number;
  /** Moves virtual time forward. */
  advanceClock(ms: number): void;
  now(): number;
  /** Default scenario for jobs created from now on, or for jobs created with this suffix. */
  setScenario(scenario: Partial<FakeJobScenario>, forSuffix?: string): void;
  /** The bytes the download endpoint serves for a job's checkpoint (to compare downloads with). */
  archiveBytes(jobId: string, checkpoint?: string, step?: number): Buffer;
  /** Current status of a job as the fake sees it (without counting as a poll). */
  jobStatus(jobId: string): string | undefined;
  close(): Promise<void>;
}
