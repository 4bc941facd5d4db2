/**
 * Provider-neutral shapes of the hosted fine-tuning loop. Each client maps its service's JSON onto
 * these and keeps the original object in `raw`, so nothing the service said is lost.
 */

export type Provider = 'together' | 'openai';
export const PROVIDERS: readonly Provider[] = ['together', 'openai'];

/**
 * Job state on one scale for both services. `status` on a job keeps the service's own word
 * (Together `compressing`, OpenAI `validating_files`, ...); `state` is this normalisation.
 */
export type JobState = 'pending' | 'queued' | 'running' | 'cancelling' | 'completed' | 'failed' | 'cancelled' | 'unknown';

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['completed', 'failed', 'cancelled']);

export interface FineTuneJob {
  provider: Provider;
  id: string;
  /** The service's status word, unchanged. */
  status: string;
  state: JobState;
  model: string | undefined;
  /** Name of the fine-tuned model (Together `model_output_name`, OpenAI `fine_tuned_model`). */
  outputModel: string | undefined;
  trainingFile: string | undefined;
  validationFile: string | undefined;
  suffix: string | undefined;
  /** ISO-8601. */
  createdAt: string | undefined;
  updatedAt: string | undefined;
  /** Together: `Lora` or `Full`; undefined for OpenAI. */
  trainingType: string | undefined;
  /** Why the job failed, when the service said so (Together: its job_error event; OpenAI: `error`). */
  error: string | undefined;
  raw: Record<string, unknown>;
}

export interface FineTuneEvent {
  /** OpenAI gives events ids; Together does not. */
  id: string | undefined;
  /** ISO-8601 when the service gave a time. */
  createdAt: string | undefined;
  /** Lower-cased: info, warning/warn, error, ... */
  level: string;
  /** Lower-cased event type (Together `job_start`, ...; OpenAI `message`/`metrics`). */
  type: string;
  message: string;
  /** Training step, where the event has one. */
  step: number | undefined;
  raw: Record<string, unknown>;
}

export interface FineTuneCheckpoint {
  /** Training step; undefined when the service does not say. */
  step: number | undefined;
  createdAt: string | undefined;
  /** Together `checkpoint_type` (Intermediate, Final Merged, ...); OpenAI the checkpoint model name. */
  label: string;
  raw: Record<string, unknown>;
}

export interface UploadedFile {
  id: string;
  filename: string;
  bytes: number;
  /** Lines the service counted, where it reports them. */
  lineCount: number | undefined;
  raw: Record<string, unknown>;
}

export interface TransferProgress {
  phase: 'upload' | 'download';
  /** Local path being sent or written. */
  file: string;
  /** Bytes done so far (for a resumed download: counted from the start of the file). */
  bytes: number;
  /** Total, when known. */
  total: number | undefined;
}

export type ProgressCallback = (p: TransferProgress) => void;

/** LoRA or full-parameter training (Together's `training_type`). */
export type TrainingType =
  | { type: 'lora'; r?: number; alpha?: number; dropout?: number; trainableModules?: string }
  | { type: 'full' };

/** Parameters of a new job. Fields a provider does not support are refused, not silently dropped. */
export interface CreateJobParams {
  model: string;
  /** File id returned by uploadFile. */
  trainingFile: string;
  validationFile?: string;
  epochs?: number;
  /** Together: absolute learning rate. */
  learningRate?: number;
  /** OpenAI: multiplier of the base learning rate. */
  learningRateMultiplier?: number;
  /** A number, or `max` (Together) / `auto` (OpenAI). */
  batchSize?: number | 'max' | 'auto';
  suffix?: string;
  seed?: number;
  /** Together only. */
  nCheckpoints?: number;
  nEvals?: number;
  warmupRatio?: number;
  training?: TrainingType;
  trainOnInputs?: boolean | 'auto';
  /** Further body fields, sent verbatim (for parameters this type does not name). */
  extra?: Record<string, unknown>;
}

export interface UploadOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** Validate the JSONL locally before sending (default true). */
  validate?: boolean;
}

export interface DownloadOptions {
  /** Final path. Default: a name derived from the job in `dir`. */
  output?: string;
  /** Directory for the default name (default: current directory). */
  dir?: string;
  /** Together: `merged` | `adapter` | `model_output_path`; default from the job's training type. */
  checkpoint?: string;
  /** An intermediate checkpoint's step. */
  step?: number;
  /** Expected SHA-256 (hex) of the whole file; the download fails if it differs. */
  sha256?: string;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Bytes that were already on disk from an earlier, interrupted attempt. */
  resumedFrom: number;
  /** HTTP requests the transfer took (1 when nothing went wrong). */
  requests: number;
  contentType: string | undefined;
}

/** Opaque position in a job's event stream, returned by eventsSince. */
export interface EventCursor {
  readonly provider: Provider;
  readonly seen: readonly string[];
}

/** What both hosted clients offer. */
export interface HostedFineTuneClient {
  readonly provider: Provider;
  readonly baseUrl: string;
  uploadFile(path: string, options?: UploadOptions): Promise<UploadedFile>;
  createJob(params: CreateJobParams, options?: { signal?: AbortSignal }): Promise<FineTuneJob>;
  getJob(id: string, options?: { signal?: AbortSignal }): Promise<FineTuneJob>;
  listJobs(options?: { signal?: AbortSignal; limit?: number }): Promise<FineTuneJob[]>;
  cancelJob(id: string, options?: { signal?: AbortSignal }): Promise<FineTuneJob>;
  /** All events so far, oldest first. */
  listEvents(id: string, options?: { signal?: AbortSignal }): Promise<FineTuneEvent[]>;
  /** Events not seen at `cursor` (all, when undefined), oldest first. */
  eventsSince(
    id: string,
    cursor: EventCursor | undefined,
    options?: { signal?: AbortSignal },
  ): Promise<{ events: FineTuneEvent[]; cursor: EventCursor }>;
  listCheckpoints(id: string, options?: { signal?: AbortSignal }): Promise<FineTuneCheckpoint[]>;
  downloadCheckpoint(id: string, options?: DownloadOptions): Promise<DownloadResult>;
}
