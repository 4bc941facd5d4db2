/**
 * The README's "Command line" section stays true: its verb table lists exactly the registered commands,
 * and its exit-code table exactly the codes main() can return (EXIT_CODES).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { EXIT_CODES } from '../../src/errors.js';
import { packageRoot } from '../../src/package.js';

const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');

/** First-column cells of the Markdown table that follows `heading`. */
function firstColumn(heading: string): string[] {
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}" heading`);
  const lines = readme.slice(start + heading.length + 2).split('\n');
  const table = lines.slice(lines.findIndex((l) => l.startsWith('|')));
  const rows = table.slice(0, table.findIndex((l) => !l.startsWith('|'))).slice(2);
  return rows.map((r) => r.split('|')[1]!.trim());
}

describe('README command line section', () => {
  it('lists every command, and only those', () => {
    const verbs = firstColumn('## Command line').map((v) => v.replace(/`/g, ''));
    expect(verbs.sort()).toEqual(commands.map((c) => String(c.command).split(' ')[0]).sort());
  });

  it('documents every exit code', () => {
    const codes = firstColumn('### Exit codes').map(Number);
    expect(codes.sort((a, b) => a - b)).toEqual([...new Set(Object.values(EXIT_CODES))].sort((a, b) => a - b));
  });
});
