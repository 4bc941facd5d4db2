/**
 * Client for OpenAI-style fine-tuning (`/files`, `/fine_tuning/jobs`), which other providers imitate.
 * Lists are cursor-paginated (newest first, `after` = id of the last item seen); a failed job
 * carries its reason in `error`. The API has no weight download, so downloadCheckpoint refuses.
 */
import { basename } from 'node:path';
import { InputError } from '../../../errors.js';
import { fileSize, multipartFileBody } from './bodies.js';
import { createOnce } from './create-once.js';
import { ServiceError } from './errors.js';
import { HttpClient } from './http.js';
import { asArray, asObject, isoTime, num, setDefined, str, type JsonObject } from './json.js';
import { validateTrainingJsonl } from './jsonl.js';
import { checkCommon, type HostedClientOptions } from './together.js';
import type {
  CreateJobParams,
  DownloadResult,
  EventCursor,
  FineTuneCheckpoint,
  FineTuneEvent,
  FineTuneJob,
  HostedFineTuneClient,
  JobState,
  UploadOptions,
  UploadedFile,
} from './types.js';

const STATE: Record<string, JobState> = {
  validating_files: 'pending',
  queued: 'queued',
  running: 'running',
  succeeded: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
};

const MAX_SUFFIX = 64;
const PAGE = 100;

export class OpenAIClient implements HostedFineTuneClient {
  readonly provider = 'openai' as const;
  readonly #http: HttpClient;
  readonly #pageSize: number;

  /** `pageSize`: items per list request (default 100, the services allow more; tests use less). */
  constructor(options: HostedClientOptions & { pageSize?: number }) {
    const { pageSize, ...rest } = options;
    this.#http = new HttpClient({ ...rest, provider: 'openai' });
    this.#pageSize = pageSize ?? PAGE;
  }

  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  async uploadFile(path: string, options: UploadOptions = {}): Promise<UploadedFile> {
    const size = await fileSize(path);
    if (options.validate !== false) await validateTrainingJsonl(path, { provider: 'openai' });
    const body = multipartFileBody(
      { purpose: 'fine-tune' },
      { field: 'file', filename: basename(path), path, size, contentType: 'application/jsonl' },
      options.onProgress,
    );
    const { data } = await this.#http.json<JsonObject>({ method: 'POST', path: '/files', body, signal: options.signal });
    // `status` is deprecated but some compatible servers still report a failed check there.
    if (str(data.status) === 'error') {
      const why = str(data.status_details) ?? 'the file failed validation';
      throw new ServiceError(`openai: the service rejected ${path}: ${this.#http.redactor.redact(why)}`, {
        provider: 'openai',
        kind: 'invalid_file',
        serviceMessage: this.#http.redactor.redact(why),
      });
    }
    const id = str(data.id);
    if (id === undefined) throw this.#http.fail({ method: 'POST', path: '/files' }, 'protocol', 'the file object has no id');
    return { id, filename: str(data.filename) ?? basename(path), bytes: num(data.bytes) ?? size, lineCount: undefined, raw: data };
  }

  async createJob(params: CreateJobParams, options: { signal?: AbortSignal } = {}): Promise<FineTuneJob> {
    const body = openaiCreateBody(params);
    return createOnce(
      this.#http,
      params,
      {
        knownIds: async () => new Set((await this.listJobs({ ...options, limit: this.#pageSize })).map((j) => j.id)),
        list: () => this.listJobs({ ...options, limit: this.#pageSize }),
        create: async () => {
          const { data } = await this.#http.json<JsonObject>({ method: 'POST', path: '/fine_tuning/jobs', json: body, retry: 'rate-limit-only', signal: options.signal });
          return openaiJob(data);
        },
      },
      options.signal,
    );
  }

  async getJob(id: string, options: { signal?: AbortSignal } = {}): Promise<FineTuneJob> {
    const { data } = await this.#http.json<JsonObject>({ method: 'GET', path: `/fine_tuning/jobs/${encodeURIComponent(id)}`, signal: options.signal });
    return openaiJob(data);
  }

  async listJobs(options: { signal?: AbortSignal; limit?: number } = {}): Promise<FineTuneJob[]> {
    const items = await this.#pages('/fine_tuning/jobs', options.limit ?? Number.POSITIVE_INFINITY, undefined, options.signal);
    return items.map(openaiJob);
  }

  async cancelJob(id: string, options: { signal?: AbortSignal } = {}): Promise<FineTuneJob> {
    const { data } = await this.#http.json<JsonObject>({ method: 'POST', path: `/fine_tuning/jobs/${encodeURIComponent(id)}/cancel`, signal: options.signal });
    return openaiJob(data);
  }

  async listEvents(id: string, options: { signal?: AbortSignal } = {}): Promise<FineTuneEvent[]> {
    return (await this.eventsSince(id, undefined, options)).events;
  }

  async eventsSince(id: string, cursor: EventCursor | undefined, options: { signal?: AbortSignal } = {}): Promise<{ events: FineTuneEvent[]; cursor: EventCursor }> {
    // Newest first: read pages until the newest event seen last time turns up.
    const lastSeen = cursor?.seen[0];
    const items = await this.#pages(`/fine_tuning/jobs/${encodeURIComponent(id)}/events`, Number.POSITIVE_INFINITY, lastSeen, options.signal);
    const fresh = items.map(openaiEvent);
    const newest = fresh[0]?.id ?? lastSeen;
    return { events: fresh.reverse(), cursor: { provider: 'openai', seen: newest !== undefined ? [newest] : [] } };
  }

  async listCheckpoints(id: string, options: { signal?: AbortSignal } = {}): Promise<FineTuneCheckpoint[]> {
    const items = await this.#pages(`/fine_tuning/jobs/${encodeURIComponent(id)}/checkpoints`, Number.POSITIVE_INFINITY, undefined, options.signal);
    return items.map((o) => ({
      step: num(o.step_number),
      createdAt: isoTime(o.created_at),
      label: str(o.fine_tuned_model_checkpoint) ?? str(o.id) ?? '',
      raw: o,
    }));
  }

  async downloadCheckpoint(id: string): Promise<DownloadResult> {
    throw new InputError(
      `the OpenAI fine-tuning API offers no weight download (job ${id}); use the fine-tuned model by name, or a provider with downloads (--provider together)`,
    );
  }

  /**
   * Follows the cursor from the newest item until `limit` items, the end, or `stopAt` (an id not
   * itself returned). The OpenAI Node SDK's loop: next page `after` = last id of this page.
   */
  async #pages(path: string, limit: number, stopAt: string | undefined, signal: AbortSignal | undefined): Promise<JsonObject[]> {
    const out: JsonObject[] = [];
    let after: string | undefined;
    for (;;) {
      const { data } = await this.#http.json<JsonObject>({ method: 'GET', path, query: { limit: this.#pageSize, after }, signal });
      const page = asArray(data.data).map(asObject);
      for (const item of page) {
        if (stopAt !== undefined && str(item.id) === stopAt) return out;
        out.push(item);
        if (out.length >= limit) return out;
      }
      const last = str(page[page.length - 1]?.id);
      if (data.has_more !== true || page.length === 0 || last === undefined) return out;
      after = last;
    }
  }
}

export function openaiCreateBody(p: CreateJobParams): JsonObject {
  const field = (f: string): { file: string; field: string } => ({ file: '(job parameters)', field: f });
  for (const k of ['learningRate', 'nCheckpoints', 'nEvals', 'warmupRatio', 'training', 'trainOnInputs'] as const) {
    if (p[k] !== undefined) throw new InputError('not supported by OpenAI-style fine-tuning (Together only)', field(k));
  }
  if (p.batchSize === 'max') throw new InputError('OpenAI has no "max" batch size; use a number or "auto"', field('batchSize'));
  checkCommon(p, MAX_SUFFIX);
  const hyper: JsonObject = {};
  setDefined(hyper, p, { epochs: 'n_epochs', batchSize: 'batch_size', learningRateMultiplier: 'learning_rate_multiplier' });
  const body: JsonObject = { model: p.model, training_file: p.trainingFile };
  setDefined(body, p, { validationFile: 'validation_file', suffix: 'suffix', seed: 'seed' });
  if (Object.keys(hyper).length > 0) body.method = { type: 'supervised', supervised: { hyperparameters: hyper } };
  return { ...body, ...p.extra };
}

export function openaiJob(o: JsonObject): FineTuneJob {
  const status = str(o.status) ?? 'unknown';
  const err = asObject(o.error);
  return {
    provider: 'openai',
    id: str(o.id) ?? '',
    status,
    state: STATE[status.toLowerCase()] ?? 'unknown',
    model: str(o.model),
    outputModel: str(o.fine_tuned_model),
    trainingFile: str(o.training_file),
    validationFile: str(o.validation_file),
    suffix: str(o.suffix),
    createdAt: isoTime(o.created_at),
    updatedAt: isoTime(o.finished_at),
    trainingType: undefined,
    error: str(err.message),
    raw: o,
  };
}

function openaiEvent(o: JsonObject): FineTuneEvent {
  const data = asObject(o.data);
  return {
    id: str(o.id),
    createdAt: isoTime(o.created_at),
    level: (str(o.level) ?? 'info').toLowerCase(),
    type: (str(o.type) ?? 'message').toLowerCase(),
    message: str(o.message) ?? '',
    step: num(data.step),
    raw: o,
  };
}
