/**
 * Progress for long CLI steps: one bar per step with a rate-based ETA.
 *
 * - On a terminal (stderr is a TTY) each step is a cli-progress bar redrawn in place.
 * - Elsewhere (CI logs, files) a bar would print control characters, so a step prints one line when it
 *   starts, a status line with its ETA at most every `intervalMs`, and one line when it ends.
 * - Under --quiet or --json nothing is printed: stdout stays one JSON document and stderr stays clean.
 *
 * Steps report through `update(done, total?)`, `increment()` or the `callback()` adapter, which matches the
 * `onProgress(done, total)` hooks of scorers and trainers.
 */
import cliProgress from 'cli-progress';
import type { GlobalOptions } from './output.js';

export interface ProgressOptions {
  /** Where progress goes (default process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Force bar (true) or line (false) output; default: bars when the stream is a TTY. */
  tty?: boolean;
  /** Minimum time between status lines in line mode (default 10 s). */
  intervalMs?: number;
  /** Clock for tests (milliseconds). */
  now?: () => number;
}

/** One step of work: `total` units (transitions, batches, epochs...). */
export interface ProgressStep {
  readonly label: string;
  /** Sets the units done (and optionally a new total). */
  update(done: number, total?: number): void;
  increment(by?: number): void;
  /** An `onProgress(done, total)` hook bound to this step. */
  callback(): (done: number, total: number) => void;
  /** Ends the step; `summary` (e.g. "perplexity 12.3") is appended to its last line. */
  done(summary?: string): void;
}

export interface Progress {
  /** False under --quiet / --json: callers may skip work that only feeds the display. */
  readonly enabled: boolean;
  step(label: string, total: number, unit?: string): ProgressStep;
  /** A message line between steps (suppressed like the bars). */
  log(message: string): void;
}

/** Seconds as "42s", "3m 05s" or "1h 02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Remaining seconds at the average rate so far; null before the first unit is done. */
export function estimateRemaining(done: number, total: number, elapsedSeconds: number): number | null {
  if (done <= 0 || total <= 0 || elapsedSeconds <= 0) return null;
  if (done >= total) return 0;
  return (elapsedSeconds / done) * (total - done);
}

const SILENT_STEP: ProgressStep = {
  label: '',
  update: () => undefined,
  increment: () => undefined,
  callback: () => () => undefined,
  done: () => undefined,
};

/** The progress display for a command's global options. */
export function createProgress(opts: Pick<GlobalOptions, 'json' | 'quiet'>, popts: ProgressOptions = {}): Progress {
  if (opts.json || opts.quiet) {
    return { enabled: false, step: () => SILENT_STEP, log: () => undefined };
  }
  const stream = popts.stream ?? process.stderr;
  const tty = popts.tty ?? Boolean((stream as { isTTY?: boolean }).isTTY);
  const now = popts.now ?? (() => performance.now());
  const intervalMs = popts.intervalMs ?? 10_000;
  const write = (line: string) => {
    stream.write(`${line}\n`);
  };
  return {
    enabled: true,
    log: write,
    step: (label, total, unit = '') =>
      tty ? barStep(stream, label, total, unit) : lineStep(write, now, intervalMs, label, total, unit),
  };
}

function barStep(stream: NodeJS.WritableStream, label: string, total: number, unit: string): ProgressStep {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% | {value}/{total}${unit ? ` ${unit}` : ''} | ETA {eta_formatted} | {duration_formatted}{summary}`,
      barsize: 24,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
      // The ETA is recomputed while a slow unit runs, not only when a unit ends.
      etaAsynchronousUpdate: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let max = Math.max(0, total);
  // A total of 0 means not known yet (the first update brings it).
  bar.start(max || 1, 0, { summary: '' });
  return guardedStep(label, {
    update(done, newTotal) {
      if (newTotal !== undefined && newTotal !== max) {
        max = Math.max(0, newTotal);
        bar.setTotal(max || 1);
      }
      bar.update(done);
    },
    done(done, summary) {
      if (max === 0) bar.setTotal(1);
      bar.update(max === 0 ? 1 : Math.max(done, max), { summary: summary ? ` | ${summary}` : '' });
      bar.stop();
    },
  });
}

function lineStep(
  write: (line: string) => void,
  now: () => number,
  intervalMs: number,
  label: string,
  total: number,
  unit: string,
): ProgressStep {
  const started = now();
  let lastLine = started;
  let max = total;
  const units = unit ? ` ${unit}` : '';
  write(`${label}: started${max > 0 ? ` (${max}${units})` : ''}`);
  return guardedStep(label, {
    update(done, newTotal) {
      if (newTotal !== undefined) max = newTotal;
      const t = now();
      if (t - lastLine < intervalMs || done >= max) return;
      lastLine = t;
      const eta = estimateRemaining(done, max, (t - started) / 1000);
      const pct = max > 0 ? Math.floor((100 * done) / max) : 0;
      write(`${label}: ${done}/${max}${units} (${pct}%), ETA ${eta === null ? '?' : formatDuration(eta)}`);
    },
    done(_done, summary) {
      const secs = (now() - started) / 1000;
      write(`${label}: done in ${formatDuration(secs)}${summary ? ` (${summary})` : ''}`);
    },
  });
}

/** What a display does with a step's updates and its end. */
interface StepDisplay {
  update(done: number, total: number | undefined): void;
  /** `done`: the units done at the end. */
  done(done: number, summary: string | undefined): void;
}

/** A ProgressStep over a display: it keeps the count for increment() and ignores calls after done(). */
function guardedStep(label: string, display: StepDisplay): ProgressStep {
  let value = 0;
  let finished = false;
  const step: ProgressStep = {
    label,
    update(done, total) {
      if (finished) return;
      value = done;
      display.update(done, total);
    },
    increment(by = 1) {
      step.update(value + by);
    },
    callback: () => (done, t) => step.update(done, t),
    done(summary) {
      if (finished) return;
      finished = true;
      display.done(value, summary);
    },
  };
  return step;
}
