import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, estimateRemaining, formatDuration } from '../../src/cli/progress.js';

class Capture extends Writable {
  text = '';
  isTTY: boolean;
  columns = 100;
  constructor(tty: boolean) {
    super();
    this.isTTY = tty;
  }
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += String(chunk);
    cb();
  }
  // cli-progress moves the cursor on TTY streams.
  cursorTo(): boolean {
    return true;
  }
  clearLine(): boolean {
    return true;
  }
  moveCursor(): boolean {
    return true;
  }
}

describe('progress', () => {
  it('estimates the remaining time at the average rate', () => {
    expect(estimateRemaining(0, 10, 5)).toBeNull();
    expect(estimateRemaining(5, 10, 10)).toBeCloseTo(10);
    expect(estimateRemaining(10, 10, 10)).toBe(0);
    expect(estimateRemaining(1, 4, 2)).toBeCloseTo(6);
  });

  it('formats durations', () => {
    expect(formatDuration(4.4)).toBe('4s');
    expect(formatDuration(65)).toBe('1m 05s');
    expect(formatDuration(3720)).toBe('1h 02m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });

  it('is silent under --quiet and --json', () => {
    for (const opts of [{ json: true, quiet: false }, { json: false, quiet: true }]) {
      const stream = new Capture(false);
      const p = createProgress(opts, { stream });
      expect(p.enabled).toBe(false);
      const s = p.step('scoring', 10);
      s.update(5);
      s.callback()(10, 10);
      s.done('ok');
      p.log('hello');
      expect(stream.text).toBe('');
    }
  });

  it('prints start, throttled status lines with an ETA, and the end off a terminal', () => {
    const stream = new Capture(false);
    let t = 0;
    const p = createProgress({ json: false, quiet: false }, { stream, now: () => t, intervalMs: 1000 });
    const s = p.step('scoring test transitions', 100, 'transitions');
    t = 500;
    s.update(10); // within the interval: no line
    t = 2000;
    s.update(20); // 20 done in 2 s: 80 more take 8 s
    t = 2500;
    s.increment(5); // within the interval again
    t = 10_000;
    s.done('perplexity 12.5');
    expect(stream.text.split('\n').filter(Boolean)).toEqual([
      'scoring test transitions: started (100 transitions)',
      'scoring test transitions: 20/100 transitions (20%), ETA 8s',
      'scoring test transitions: done in 10s (perplexity 12.5)',
    ]);
  });

  it('draws a bar with an ETA on a terminal', () => {
    const stream = new Capture(true);
    const p = createProgress({ json: false, quiet: false }, { stream });
    const s = p.step('training', 4, 'epochs');
    s.update(2);
    s.done('loss 1.23');
    expect(stream.text).toContain('training [');
    expect(stream.text).toContain('ETA');
    expect(stream.text).toContain('4/4 epochs');
    expect(stream.text).toContain('loss 1.23');
  });
});
