/**
 * Together AI fine-tuning client (docs/finetune.md; the API as described in the project's
 * finetune-apis reference, section 1). Uploads use the presigned flow every official SDK uses:
 * POST /files answers 302 with the storage URL and the new file id, the bytes go there by PUT
 * without our key, and POST /files/{id}/preprocess asks the service to check them.
 */
import { basename, join } from 'node:path';
import { InputError, StateError } from '../../../errors.js';
import { fileSize, rawFileBody } from './bodies.js';
import { createOnce } from './create-once.js';
import { downloadResumable } from './download.js';
import { ServiceError } from './errors.js';
import { HttpClient, type HttpClientOptions } from './http.js';
import { asArray, asObject, isoTime, num, safeFileName, setDefined, str, type JsonObject } from './json.js';
import { validateTrainingJsonl } from './jsonl.js';
import type {
  CreateJobParams,
  DownloadOptions,
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

export type HostedClientOptions = Omit<HttpClientOptions, 'provider'>;

const STATE: Record<string, JobState> = {
  pending: 'pending',
  queued: 'queued',
  running: 'running',
  compressing: 'running',
  uploading: 'running',
  cancel_requested: 'cancelling',
  cancelled: 'cancelled',
  error: 'failed',
  user_error: 'failed',
  completed: 'completed',
};

export const TOGETHER_CHECKPOINTS = ['merged', 'adapter', 'model_output_path'] as const;

/** Together accepts suffixes of up to 64 characters in one SDK, 40 in another; we keep to 40. */
const MAX_SUFFIX = 40;

export class TogetherClient implements HostedFineTuneClient {
  readonly provider = 'together' as const;
  readonly #http: HttpClient;

  constructor(options: HostedClientOptions) {
    this.#http = new HttpClient({ ...options, provider: 'together' });
  }

  get baseUrl(): string {
    return this.#http.baseUrl;
  }

  async uploadFile(path: string, options: UploadOptions = {}): Promise<UploadedFile> {
    const http = this.#http;
    const signal = options.signal;
    const size = await fileSize(path);
    if (options.validate !== false) await validateTrainingJsonl(path, { provider: 'together' });
    const slot = await this.#withCreditsHint(() =>
      http.send({
        method: 'POST',
        path: '/files',
        form: { purpose: 'fine-tune', file_name: basename(path), file_type: 'jsonl' },
        manualRedirect: true,
        expect: [302, 409],
        signal,
      }),
    );
    // Python SDK v2 sends a checksum and gets 409 {file_id} for a file it already has. We send
    // none, but a compatible server that deduplicates anyway is handled.
    if (slot.status === 409) {
      const id = str(asObject(await slot.json().catch(() => ({}))).file_id);
      if (id === undefined) throw http.fail({ method: 'POST', path: '/files' }, 'conflict', 'the service answered 409 without a file_id');
      return this.#getFile(id, signal);
    }
    await slot.body?.cancel();
    const location = slot.headers.get('location');
    const fileId = slot.headers.get('x-together-file-id');
    if (slot.status !== 302 || location === null || fileId === null) {
      throw http.fail(
        { method: 'POST', path: '/files' },
        'protocol',
        `expected 302 with Location and X-Together-File-Id, got ${slot.status}${location === null ? ' without Location' : ''}${fileId === null ? ' without X-Together-File-Id' : ''}`,
      );
    }
    const uploadUrl = new URL(location, `${http.baseUrl}/`).toString();
    const put = await http.send({ method: 'PUT', url: uploadUrl, auth: false, body: rawFileBody(path, size, options.onProgress), signal });
    await put.body?.cancel();
    if (put.status !== 200) throw http.fail({ method: 'PUT', url: uploadUrl }, 'protocol', `storage answered ${put.status}, expected 200`);
    const { data } = await http.json<JsonObject>({ method: 'POST', path: `/files/${encodeURIComponent(fileId)}/preprocess`, signal });
    const file = this.#checkedFile(data, path);
    return file;
  }

  async createJob(params: CreateJobParams, options: { signal?: AbortSignal } = {}): Promise<FineTuneJob> {
    const body = togetherCreateBody(params);
    return createOnce(
      this.#http,
      params,
      {
        knownIds: async () => new Set((await this.listJobs(options)).map((j) => j.id)),
        list: () => this.listJobs(options),
        create: async () => {
          const { data } = await this.#http.json<JsonObject>({ method: 'POST', path: '/fine-tunes', json: body, retry: 'rate-limit-only', signal: options.signal });
          return togetherJob(data);
        },
      },
      options.signal,
    );
  }

  async getJob(id: string, options: { signal?: AbortSignal } = {}): Promise<FineTuneJob> {
    const { data } = await this.#http.json<JsonObject>({ method: 'GET', path: `/fine-tunes/${encodeURIComponent(id)}`, signal: options.signal });
    const job = togetherJob(data);
    // The reason of a failure is an event, not a job field; the full object usually embeds the events.
    if (job.state === 'failed' && job.error === undefined) job.error = failureReason(await this.listEvents(id, options));
    return job;
  }

  async listJobs(options: { signal?: AbortSignal; limit?: number } = {}): Promise<FineTuneJob[]> {
    const { data } = await this.#http.json<JsonObject>({ method: 'GET', path: '/fine-tunes', signal: options.signal });
    const jobs = asArray(data.data).map((j) => togetherJob(asObject(j)));
    // The order of the list is not documented: newest first, like OpenAI's.
    jobs.sort((a, b) => (Date.parse(b.createdAt ?? '') || 0) - (Date.parse(a.createdAt ?? '') || 0));
    return options.limit !== undefined ? jobs.slice(0, options.limit) : jobs;
  }

  async cancelJob(id: string, options: { signal?: AbortSignal } = {}): Promise<FineTuneJob> {
    const { data } = await this.#http.json<JsonObject>({ method: 'POST', path: `/fine-tunes/${encodeURIComponent(id)}/cancel`, signal: options.signal });
    return togetherJob(data);
  }

  async listEvents(id: string, options: { signal?: AbortSignal } = {}): Promise<FineTuneEvent[]> {
    const { data } = await this.#http.json<JsonObject>({ method: 'GET', path: `/fine-tunes/${encodeURIComponent(id)}/events`, signal: options.signal });
    return chronological(asArray(data.data).map((e) => togetherEvent(asObject(e))));
  }

  async eventsSince(id: string, cursor: EventCursor | undefined, options: { signal?: AbortSignal } = {}): Promise<{ events: FineTuneEvent[]; cursor: EventCursor }> {
    // Together returns the whole list every time and events have no ids: remember what was seen.
    const all = await this.listEvents(id, options);
    const seen = new Set(cursor?.seen ?? []);
    const keys = eventKeys(all);
    const events = all.filter((_, i) => !seen.has(keys[i] as string));
    return { events, cursor: { provider: 'together', seen: keys } };
  }

  async listCheckpoints(id: string, options: { signal?: AbortSignal } = {}): Promise<FineTuneCheckpoint[]> {
    const { data } = await this.#http.json<JsonObject>({ method: 'GET', path: `/fine-tunes/${encodeURIComponent(id)}/checkpoints`, signal: options.signal });
    return asArray(data.data).map((c) => {
      const o = asObject(c);
      return { step: num(o.step), createdAt: isoTime(o.created_at), label: str(o.checkpoint_type) ?? str(o.checkpoint) ?? '', raw: o };
    });
  }

  async downloadCheckpoint(id: string, options: DownloadOptions = {}): Promise<DownloadResult> {
    const job = await this.getJob(id, { ...(options.signal ? { signal: options.signal } : {}) });
    if (job.state !== 'completed') {
      throw new StateError(`job ${id} is "${job.status}"; its checkpoint can be downloaded once it has completed`);
    }
    const full = job.trainingType?.toLowerCase() === 'full';
    let checkpoint = options.checkpoint;
    if (checkpoint === undefined && options.step === undefined) checkpoint = full ? 'model_output_path' : 'merged';
    if (checkpoint !== undefined) {
      if (!(TOGETHER_CHECKPOINTS as readonly string[]).includes(checkpoint)) {
        throw new InputError(`unknown checkpoint "${checkpoint}": use ${TOGETHER_CHECKPOINTS.join(', ')}`, { file: '(options)', field: 'checkpoint' });
      }
      if (full !== (checkpoint === 'model_output_path')) {
        throw new InputError(
          full ? 'a full-parameter job has only the "model_output_path" checkpoint' : 'a LoRA job has the "merged" and "adapter" checkpoints, not "model_output_path"',
          { file: '(options)', field: 'checkpoint' },
        );
      }
    }
    const name =
      safeFileName(job.outputModel ?? id) +
      (options.step !== undefined ? `-checkpoint-${options.step}` : '') +
      (checkpoint === 'adapter' ? '-adapter' : '');
    const dir = options.dir ?? '.';
    const output = options.output;
    return downloadResumable({
      http: this.#http,
      request: {
        method: 'GET',
        path: '/finetune/download',
        query: { ft_id: id, checkpoint, checkpoint_step: options.step },
      },
      partPath: output !== undefined ? `${output}.part` : join(dir, `${name}.part`),
      finalPath: (ct) => output ?? join(dir, name + archiveExtension(ct)),
      // The per-request timeout doubles as the longest silence tolerated inside a body.
      idleTimeoutMs: this.#http.timeoutMs,
      ...(options.sha256 !== undefined ? { sha256: options.sha256 } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async #getFile(id: string, signal?: AbortSignal): Promise<UploadedFile> {
    const { data } = await this.#http.json<JsonObject>({ method: 'GET', path: `/files/${encodeURIComponent(id)}`, signal });
    return this.#checkedFile(data, id);
  }

  /** The service's verdict on an uploaded file: an invalid one is an error naming the reason. */
  #checkedFile(data: JsonObject, label: string): UploadedFile {
    const report = asObject(data.validation_report);
    const status = str(data.processing_status)?.toUpperCase();
    if (status === 'FAILED' || status === 'INVALID_FORMAT' || report.valid === false) {
      const why = str(report.error) ?? `processing status ${status ?? 'invalid'}`;
      throw new ServiceError(`together: the service rejected ${label}: ${this.#http.redactor.redact(why)}`, {
        provider: 'together',
        kind: 'invalid_file',
        serviceMessage: this.#http.redactor.redact(why),
        ...(str(report.error_type) !== undefined ? { serviceCode: str(report.error_type) as string } : {}),
      });
    }
    const id = str(data.id);
    if (id === undefined) throw this.#http.fail({ method: 'GET', path: '/files' }, 'protocol', 'the file object has no id');
    return {
      id,
      filename: str(data.filename) ?? label,
      bytes: num(data.bytes) ?? 0,
      lineCount: num(data.LineCount) ?? num(asObject(data.validation_report).nlines),
      raw: data,
    };
  }

  async #withCreditsHint<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof ServiceError && err.status === 401) {
        throw new ServiceError(`${err.message} (Together also answers 401 here when the account has no credits left)`, err, { cause: err });
      }
      throw err;
    }
  }
}

export function togetherCreateBody(p: CreateJobParams): JsonObject {
  const field = (f: string): { file: string; field: string } => ({ file: '(job parameters)', field: f });
  if (p.learningRateMultiplier !== undefined) throw new InputError('Together takes an absolute learning rate, not a multiplier', field('learningRateMultiplier'));
  if (p.batchSize === 'auto') throw new InputError('Together has no "auto" batch size; use a number or "max"', field('batchSize'));
  checkCommon(p, MAX_SUFFIX);
  const body: JsonObject = { model: p.model, training_file: p.trainingFile };
  setDefined(body, p, {
    validationFile: 'validation_file',
    epochs: 'n_epochs',
    learningRate: 'learning_rate',
    batchSize: 'batch_size',
    suffix: 'suffix',
    seed: 'random_seed',
    nCheckpoints: 'n_checkpoints',
    nEvals: 'n_evals',
    warmupRatio: 'warmup_ratio',
  });
  if (p.training?.type === 'full') body.training_type = { type: 'Full' };
  if (p.training?.type === 'lora') {
    // lora_r and lora_alpha are required inside training_type; alpha = 2r is the SDKs' default.
    const r = p.training.r ?? 16;
    body.training_type = {
      type: 'Lora',
      lora_r: r,
      lora_alpha: p.training.alpha ?? 2 * r,
      lora_dropout: p.training.dropout ?? 0,
      lora_trainable_modules: p.training.trainableModules ?? 'all-linear',
    };
  }
  if (p.trainOnInputs !== undefined) body.training_method = { method: 'sft', train_on_inputs: p.trainOnInputs };
  return { ...body, ...p.extra };
}

/** Checks shared by both providers, so that a typo fails before anything is sent. */
export function checkCommon(p: CreateJobParams, maxSuffix: number): void {
  const field = (f: string): { file: string; field: string } => ({ file: '(job parameters)', field: f });
  if (typeof p.model !== 'string' || p.model.trim() === '') throw new InputError('a base model name is required', field('model'));
  if (typeof p.trainingFile !== 'string' || p.trainingFile === '') throw new InputError('a training file id is required', field('trainingFile'));
  if (p.epochs !== undefined && (!Number.isInteger(p.epochs) || p.epochs < 1)) throw new InputError('must be a positive integer', field('epochs'));
  for (const k of ['learningRate', 'learningRateMultiplier'] as const) {
    const v = p[k];
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new InputError('must be a positive number', field(k));
  }
  if (typeof p.batchSize === 'number' && (!Number.isInteger(p.batchSize) || p.batchSize < 1)) throw new InputError('must be a positive integer', field('batchSize'));
  if (p.suffix !== undefined && (p.suffix.length === 0 || p.suffix.length > maxSuffix)) {
    throw new InputError(`must be 1 to ${maxSuffix} characters`, field('suffix'));
  }
  if (p.warmupRatio !== undefined && !(p.warmupRatio >= 0 && p.warmupRatio <= 1)) throw new InputError('must be in [0, 1]', field('warmupRatio'));
}

export function togetherJob(o: JsonObject): FineTuneJob {
  const id = str(o.id) ?? str(o.job_id) ?? '';
  const status = str(o.status) ?? 'unknown';
  const events = asArray(o.events).map((e) => togetherEvent(asObject(e)));
  return {
    provider: 'together',
    id,
    status,
    state: STATE[status.toLowerCase()] ?? 'unknown',
    model: str(o.model),
    outputModel: str(o.model_output_name) ?? str(o.output_name),
    trainingFile: str(o.training_file),
    validationFile: str(o.validation_file),
    suffix: str(o.suffix),
    createdAt: isoTime(o.created_at),
    updatedAt: isoTime(o.updated_at),
    trainingType: str(asObject(o.training_type).type),
    error: failureReason(events) ?? str(asObject(o.error).message),
    raw: o,
  };
}

export function togetherEvent(o: JsonObject): FineTuneEvent {
  return {
    id: undefined,
    createdAt: isoTime(o.created_at),
    level: (str(o.level) ?? 'info').toLowerCase(),
    type: (str(o.type) ?? 'message').toLowerCase(),
    message: str(o.message) ?? '',
    step: num(o.step),
    raw: o,
  };
}

function failureReason(events: FineTuneEvent[]): string | undefined {
  const e = [...events].reverse().find((ev) => ev.type === 'job_error' || ev.type === 'job_user_error' || ev.level === 'error');
  return e?.message || undefined;
}

/** Oldest first; the service's order is not documented, so sort by time (stable for ties). */
function chronological(events: FineTuneEvent[]): FineTuneEvent[] {
  return events
    .map((e, i) => ({ e, i, t: Date.parse(e.createdAt ?? '') }))
    .sort((a, b) => (Number.isNaN(a.t) || Number.isNaN(b.t) ? a.i - b.i : a.t - b.t || a.i - b.i))
    .map((x) => x.e);
}

/** Identity of each event for de-duplication across polls; repeats of one key are numbered. */
function eventKeys(events: FineTuneEvent[]): string[] {
  const count = new Map<string, number>();
  return events.map((e) => {
    const k = `${e.createdAt ?? ''}|${e.type}|${e.step ?? ''}|${e.message}`;
    const n = (count.get(k) ?? 0) + 1;
    count.set(k, n);
    return `${k}#${n}`;
  });
}

/** The SDKs' naming: a zstd tar unless the service says it is a plain or gzip tar. */
export function archiveExtension(contentType: string | undefined): string {
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('gzip') || ct.includes('x-tar')) return '.tar.gz';
  return '.tar.zst';
}
