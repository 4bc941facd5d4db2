/**
 * Hosted fine-tuning: clients for Together AI and OpenAI-style services behind one interface,
 * with the configuration, polling and download helpers around them.
 */
import { resolveHostedConfig, type ResolveConfigOptions } from './config.js';
import { OpenAIClient, openaiCreateBody } from './openai.js';
import { TogetherClient, togetherCreateBody, type HostedClientOptions } from './together.js';
import type { CreateJobParams, HostedFineTuneClient, Provider } from './types.js';

export * from './types.js';
export { ServiceError, JobFailedError, Redactor, type ServiceErrorKind, type ServiceErrorDetails } from './errors.js';
export { DEFAULT_RETRY_POLICY, realClock, parseRetryAfter, backoffDelay, type RetryPolicy, type Clock } from './retry.js';
export { resolveHostedConfig, resolveBaseUrl, DEFAULT_BASE_URLS, API_KEY_ENV, BASE_URL_ENV, type HostedConfig } from './config.js';
export { validateTrainingJsonl, type DatasetFormat, type JsonlSummary } from './jsonl.js';
export { waitForJob, followEvents, DEFAULT_WAIT_DEADLINE_MS, type WaitOptions } from './poll.js';
export { sha256File } from './download.js';
export type { RetryInfo } from './http.js';
export { TogetherClient, OpenAIClient, type HostedClientOptions };

/** A client for `provider` talking to `baseUrl` with `apiKey`. */
export function createHostedClient(provider: Provider, options: HostedClientOptions): HostedFineTuneClient {
  return provider === 'together' ? new TogetherClient(options) : new OpenAIClient(options);
}

/** A client configured from the environment (API key, base URL), as the CLI does. */
export function hostedClientFromEnv(
  opts: ResolveConfigOptions & Omit<HostedClientOptions, 'baseUrl' | 'apiKey'>,
): HostedFineTuneClient {
  const { provider, baseUrl: _b, env: _e, ...rest } = opts;
  const cfg = resolveHostedConfig(opts);
  return createHostedClient(provider, { ...rest, baseUrl: cfg.baseUrl, apiKey: cfg.apiKey });
}

/**
 * Checks job parameters for `provider` without sending anything (InputError on the first problem),
 * so that a command can refuse a bad option before it uploads gigabytes.
 */
export function checkJobParams(provider: Provider, params: CreateJobParams): void {
  if (provider === 'together') togetherCreateBody(params);
  else openaiCreateBody(params);
}
