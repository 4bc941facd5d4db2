/**
 * Job creation without duplicates. POST /fine-tunes is not idempotent and neither service documents
 * idempotency keys, so a 5xx or a lost connection leaves it unknown whether a (paid) job started.
 * Instead of blindly repeating the POST, we note the jobs that existed before, and after such a
 * failure look for a new job with the same model, training file and suffix: if there is one we
 * adopt it, else we try again within the retry bound. (A 429 is safe to repeat: the request was
 * refused before it did anything; the HTTP layer already does that.)
 */
import { ServiceError } from './errors.js';
import type { HttpClient } from './http.js';
import { backoffDelay } from './retry.js';
import type { CreateJobParams, FineTuneJob } from './types.js';

export interface CreateOnceSteps {
  /** Ids of the jobs that exist now (newest page is enough: new jobs appear there). */
  knownIds(): Promise<Set<string>>;
  create(): Promise<FineTuneJob>;
  /** Jobs as listed after a failure (newest first). */
  list(): Promise<FineTuneJob[]>;
}

export async function createOnce(http: HttpClient, params: CreateJobParams, steps: CreateOnceSteps, signal?: AbortSignal): Promise<FineTuneJob> {
  const known = await steps.knownIds();
  const started = http.clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await steps.create();
    } catch (err) {
      if (!(err instanceof ServiceError) || !(err.kind === 'server' || err.kind === 'network' || err.kind === 'timeout')) throw err;
      const adopted = (await steps.list()).find((j) => !known.has(j.id) && isSameRequest(j, params));
      if (adopted !== undefined) return adopted;
      const delay = backoffDelay(attempt, http.policy, () => http.clock.random());
      if (attempt > http.policy.maxRetries || http.clock.now() - started + delay > http.policy.maxElapsedMs) throw err;
      await http.clock.sleep(delay, signal);
    }
  }
}

function isSameRequest(job: FineTuneJob, p: CreateJobParams): boolean {
  if (job.trainingFile !== p.trainingFile) return false;
  if (job.model !== undefined && job.model !== p.model) return false;
  if (p.suffix !== undefined && job.suffix !== undefined && job.suffix !== p.suffix) return false;
  if (p.validationFile !== undefined && job.validationFile !== undefined && job.validationFile !== p.validationFile) return false;
  return true;
}
