/**
 * The per-transition record every scorer (LLM engine or baseline) produces and every metric consumes.
 * The evaluation stores exactly these fields, so metrics never need the model or the full distribution.
 */

export interface TopKEntry {
  code: string;
  /** Normalized probability (over the taxonomy's titles). */
  prob: number;
}

export interface TransitionResult {
  workerId: string;
  /** Index into worker.records of the record being predicted (0 is the first record). */
  index: number;
  /** Calendar year of the predicted record. */
  year: number;
  /** Previous code (records[index - 1].code); null for the first record. */
  from: string | null;
  /** Observed next code (records[index].code). */
  to: string;
  /** Natural log of the true code's probability, normalized over the taxonomy's titles. */
  logProb: number;
  /**
   * Natural log of the true title's unnormalized sequence probability (an LLM's raw product of token
   * probabilities). Baselines are normalized by construction and store the same value as `logProb`.
   */
  rawLogProb?: number;
  /** Probability mass the model put on valid titles before normalization (LLMs only; 1 for baselines). */
  validMass?: number;
  /**
   * 1-based rank of the true code: 1 + the number of codes with strictly higher probability
   * (the best rank it can get under ties; `ties` says how many codes share its probability).
   */
  rank: number;
  /** Number of codes whose probability equals the true code's, the true code included (default 1). */
  ties?: number;
  /** The k most probable codes, most probable first. */
  topK: TopKEntry[];
  /** Model probability that `to === from` (binary task "same occupation"), from the full distribution; absent for a first record. */
  pSame?: number;
  /** Model probability that the next state is in the labor force (see binary.ts), from the full distribution. */
  pLaborForce?: number;
}

/** Which stored log-probability a perplexity uses. */
export type LogProbVariant = 'normalized' | 'raw';
