/**
 * Errors of the hosted fine-tuning clients. A ServiceError is what a remote service (or the road to
 * it) did wrong; it carries the HTTP status and the service's own message so that users see why.
 * Every string that goes into one passes through a Redactor first: services sometimes echo the
 * key they were given ("Incorrect API key provided: sk-..."), and error messages end up in logs.
 */
import { LaborLlmError } from '../../../errors.js';
import type { Provider } from './types.js';

/** What went wrong, coarse enough to branch on. */
export type ServiceErrorKind =
  | 'auth' // 401/403: missing, wrong or under-funded key
  | 'payment' // 402: billing limit reached
  | 'bad_request' // 400/422: the service rejected the parameters
  | 'not_found' // 404: unknown model, file or job id
  | 'conflict' // 409
  | 'rate_limit' // 429 that was not cured by waiting within the bound
  | 'server' // 5xx that persisted
  | 'network' // no HTTP answer: refused, reset, DNS
  | 'timeout' // no answer within the per-request timeout
  | 'protocol' // an answer that breaks the documented contract (missing header, short body)
  | 'invalid_file' // the service found the uploaded training file unusable
  | 'job_failed'; // the fine-tuning job itself ended in error

export interface ServiceErrorDetails {
  provider: Provider;
  kind: ServiceErrorKind;
  /** HTTP status; undefined when no answer came back or the failure is not an HTTP one. */
  status?: number;
  /** The service's own message (`error.message` of its error body), already redacted. */
  serviceMessage?: string;
  /** The service's `error.type`, `error.code` and `error.param`, where it gave them. */
  serviceType?: string;
  serviceCode?: string;
  param?: string;
  /** `x-request-id` of the failing answer, for support tickets. */
  requestId?: string;
  method?: string;
  /** Path of the request, without query string or host. */
  path?: string;
  /** How many attempts were made before giving up (1 = no retry). */
  attempts?: number;
}

export class ServiceError extends LaborLlmError {
  readonly provider: Provider;
  readonly kind: ServiceErrorKind;
  readonly status: number | undefined;
  readonly serviceMessage: string | undefined;
  readonly serviceType: string | undefined;
  readonly serviceCode: string | undefined;
  readonly param: string | undefined;
  readonly requestId: string | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly attempts: number;

  constructor(message: string, details: ServiceErrorDetails, options?: { cause?: unknown }) {
    super('SERVICE', message, options);
    this.provider = details.provider;
    this.kind = details.kind;
    this.status = details.status;
    this.serviceMessage = details.serviceMessage;
    this.serviceType = details.serviceType;
    this.serviceCode = details.serviceCode;
    this.param = details.param;
    this.requestId = details.requestId;
    this.method = details.method;
    this.path = details.path;
    this.attempts = details.attempts ?? 1;
  }

  /** Whether another attempt might succeed (used by the retry loop). */
  get transient(): boolean {
    return this.kind === 'rate_limit' || this.kind === 'server' || this.kind === 'network' || this.kind === 'timeout';
  }
}

/** A fine-tuning job that ended in failure; `serviceMessage` is the reason the service gave. */
export class JobFailedError extends ServiceError {
  readonly jobId: string;
  readonly jobStatus: string;
  constructor(provider: Provider, jobId: string, jobStatus: string, reason: string | undefined) {
    super(`${provider}: fine-tuning job ${jobId} ended with status "${jobStatus}"${reason ? `: ${reason}` : ''}`, {
      provider,
      kind: 'job_failed',
      ...(reason !== undefined ? { serviceMessage: reason } : {}),
    });
    this.jobId = jobId;
    this.jobStatus = jobStatus;
  }
}

/**
 * Removes secrets from text before it reaches an error message or a log. Besides the exact key it
 * masks anything after "Bearer ", since a service may echo a header we never meant to show.
 */
export class Redactor {
  readonly #secrets: string[];
  constructor(secrets: readonly (string | undefined)[]) {
    // Very short "secrets" would mask ordinary words; real keys are long.
    this.#secrets = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
  }
  redact(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join('[REDACTED]');
    return out.replace(/(Bearer\s+)[^\s"',;]+/gi, '$1[REDACTED]');
  }
}
