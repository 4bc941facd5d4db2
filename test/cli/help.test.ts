/**
 * Every command and subcommand of the CLI answers --help (exit code 0, nothing on stderr) with usage,
 * at least one example of itself, and the --json option. Commands are discovered from the help pages
 * themselves, starting at the top level, so a command added later is checked without editing this file.
 */
import { describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands/index.js';
import { EXIT_CODES } from '../../src/errors.js';
import { runCli as run } from '../helpers/run-cli.js';

/** The lines of a help section ("Commands:", "Options:", "Examples:") up to the next blank line. */
function section(help: string, name: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${name}:`);
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() === '') break;
    out.push(l);
  }
  return out;
}

/** Command paths listed under "Commands:" (words before the first <arg> or [arg]). */
function subcommands(help: string): string[][] {
  const paths: string[][] = [];
  for (const line of section(help, 'Commands')) {
    const m = /^ {2}labor-llm ((?:[a-z][\w-]*)(?: [a-z][\w-]*)*)/.exec(line);
    if (m) paths.push(m[1]!.split(' '));
  }
  return paths;
}

interface HelpPage {
  path: string[];
  code: number;
  stdout: string;
  stderr: string;
}

async function walk(path: string[], pages: HelpPage[]): Promise<void> {
  const r = await run([...path, '--help']);
  pages.push({ path, ...r });
  for (const sub of subcommands(r.stdout)) {
    // Listed paths are absolute ("labor-llm data import"); only go one level down.
    if (sub.length === path.length + 1 && sub.slice(0, path.length).join(' ') === path.join(' ')) await walk(sub, pages);
  }
}

describe('labor-llm --help', () => {
  it('every command and subcommand has help with an example of itself and --json', async () => {
    const pages: HelpPage[] = [];
    await walk([], pages);
    const top = pages[0]!;
    expect(top.code).toBe(0);
    const listed = subcommands(top.stdout).map((p) => p[0]);
    // The top-level help lists every registered command.
    expect(listed.sort()).toEqual(commands.map((c) => String(c.command).split(' ')[0]).sort());
    expect(pages.length).toBeGreaterThan(listed.length);
    // The verbs the README documents.
    expect(listed).toEqual(expect.arrayContaining(['data', 'model', 'score', 'finetune', 'eval', 'merge', 'report', 'bench', 'demo']));

    const problems: string[] = [];
    for (const page of pages.slice(1)) {
      const name = `labor-llm ${page.path.join(' ')}`;
      if (page.code !== 0) problems.push(`${name} --help exited with ${page.code}: ${page.stderr}`);
      if (page.stderr !== '') problems.push(`${name} --help wrote to stderr: ${page.stderr}`);
      if (!page.stdout.startsWith(name)) problems.push(`${name} --help does not start with its usage line`);
      const examples = section(page.stdout, 'Examples');
      if (!examples.some((l) => l.trimStart().startsWith(`${name} `) || l.trim() === name)) {
        problems.push(`${name} --help has no example of "${name}"`);
      }
      if (!section(page.stdout, 'Options').some((l) => /^\s+--json\b/.test(l))) problems.push(`${name} --help lists no --json option`);
    }
    expect(problems).toEqual([]);
  });

  it('an unknown command is a usage error (exit code 2) with a hint', async () => {
    const r = await run(['no-such-command']);
    expect(r.code).toBe(EXIT_CODES.INPUT);
    expect(r.stderr).toContain('--help');
  });
});
