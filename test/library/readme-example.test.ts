/**
 * The README's library example runs as written: the TypeScript block between the markers
 * `<!-- example:library -->` and `<!-- /example:library -->` in README.md is type-checked against the
 * sources and executed, with `from 'labor-llm'` pointing at src/index.ts (the package's entry point).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { packageRoot } from '../../src/package.js';

const root = packageRoot();
const START = '<!-- example:library -->';
const END = '<!-- /example:library -->';

/** The code of the fenced ts block between the markers; throws a message saying what is missing. */
function extractExample(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < 0 || b < a) throw new Error(`README.md has no ${START} ... ${END} block with the library example`);
  const m = /```(?:ts|typescript)\n([\s\S]*?)\n```/.exec(readme.slice(a + START.length, b));
  if (!m) throw new Error('the library example block in README.md has no ```ts fenced code');
  return m[1]!;
}

const file = join(root, 'test', 'library', 'readme-example.tmp.ts');
afterAll(() => rmSync(file, { force: true }));

describe('README library example', () => {
  const code = extractExample(readFileSync(join(root, 'README.md'), 'utf8'));
  // Imports of the package name go to the sources; the file sits in test/library, hence the relative path.
  const local = code.replace(/from 'labor-llm'/g, "from '../../src/index.js'");

  it('imports only from labor-llm and node: modules', () => {
    const specifiers = [...code.matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
    expect(specifiers).toContain('labor-llm');
    expect(specifiers.filter((s) => s !== 'labor-llm' && !s.startsWith('node:'))).toEqual([]);
  });

  it('type-checks against the sources', () => {
    writeFileSync(file, local);
    const config = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
    const program = ts.createProgram([file], { ...parsed.options, noEmit: true });
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === file || d.file === undefined);
    const text = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(text).toEqual([]);
  });

  it('runs and prints each run\'s perplexity', async () => {
    writeFileSync(file, local);
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      lines.push(a.map(String).join(' '));
    });
    try {
      await import(pathToFileURL(file).href);
    } finally {
      spy.mockRestore();
    }
    const printed = lines.join('\n');
    expect(printed).toMatch(/oracle\s+\d+\.\d+/);
    expect(printed).toMatch(/empirical\s+\d+\.\d+/);
  });
});
