/**
 * The report's cell texts and the sentences every format uses to say what a number is: one definition
 * each, shared by the tables (report/tables.ts), the Markdown and HTML pages and the paper layout.
 */
import type { BootstrapEstimate } from '../metrics/index.js';

/** Decimals that show a standard error to two significant digits (at least `min`, at most 6). */
function decimalsFor(se: number, min = 2): number {
  if (!(se > 0) || !Number.isFinite(se)) return min;
  return Math.max(min, Math.min(6, 1 - Math.floor(Math.log10(se))));
}

/**
 * "12.34 (0.56)"; a negative value gets a true minus sign so columns read well. An SE below 1e-9 of the
 * estimate is rounding noise (a uniform model's draws) and shows as 0; huge values use exponents.
 */
export function formatEstimate(e: Pick<BootstrapEstimate, 'estimate' | 'se'>, opts: { signed?: boolean } = {}): string {
  const value = Math.abs(e.estimate);
  const se = e.se <= 1e-9 * Math.max(1, value) ? 0 : e.se;
  const sign = e.estimate < 0 ? '\u2212' : opts.signed && e.estimate > 0 ? '+' : '';
  if (!Number.isFinite(value) || value >= 1e6) {
    return `${sign}${value.toPrecision(3)} (${Number.isFinite(se) ? se.toPrecision(2) : String(se)})`;
  }
  const d = decimalsFor(se);
  return `${sign}${value.toFixed(d)} (${se.toFixed(d)})`;
}

/** A rate as a percentage with one decimal. */
export function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** What each perplexity variant is, in words (one definition for every table). */
export const VARIANT_TEXT = {
  raw: 'raw: from the product of the title\u2019s token probabilities (the paper\u2019s perplexity)',
  normalized: 'normalized: from the probabilities renormalized over the taxonomy\u2019s titles',
} as const;

/** Which records the perplexities average over. */
export function recordsText(transitionsOnly: boolean): string {
  return transitionsOnly ? 'records 2..T of each test worker (transitions only)' : 'every record of each test worker, the first included (t = 1..T, as the paper)';
}
