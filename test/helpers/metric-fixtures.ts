/** Random result fixtures for metric tests (deterministic: built from the project's seeded Rng). */
import { Rng } from '../../src/metrics/rng.js';
import type { TransitionResult } from '../../src/metrics/types.js';

/** `workers` workers with 1..maxPer transitions each, log-probs in [-6, 0), interleaved worker order. */
export function randomResults(seed: number, workers: number, maxPer: number): TransitionResult[] {
  const rng = new Rng(seed);
  const out: TransitionResult[] = [];
  const perWorker = Array.from({ length: workers }, () => 1 + rng.nextInt(maxPer));
  // Interleave: round-robin over workers so that a worker's transitions are not contiguous.
  for (let index = 1; index <= maxPer; index++) {
    for (let w = 0; w < workers; w++) {
      if (index > perWorker[w]!) continue;
      const lp = -6 * rng.nextFloat() - 1e-3;
      out.push({
        workerId: `w${w}`,
        index,
        year: 1980 + index,
        from: String(rng.nextInt(5)),
        to: String(rng.nextInt(5)),
        logProb: lp,
        rawLogProb: lp - rng.nextFloat(),
        rank: 1 + rng.nextInt(20),
        topK: [],
      });
    }
  }
  return out;
}

/** The same transitions with different log-probs (another "model"). */
export function perturb(results: readonly TransitionResult[], seed: number): TransitionResult[] {
  const rng = new Rng(seed);
  return results.map((r) => ({ ...r, logProb: Math.min(-1e-4, r.logProb + (rng.nextFloat() - 0.6)) }));
}
