/**
 * The plotting library, inlined into every HTML report so the file opens offline: Vega, Vega-Lite and
 * vega-embed's browser builds, read from the installed packages at report time.
 *
 * The packages' `exports` maps hide their `build/` folders from require.resolve, so the main entry is
 * resolved and the package folder found by walking up to the package.json that names the package.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NotFoundError } from '../../errors.js';

/** The scripts in load order: vega-lite needs the `vega` global, vega-embed both. */
export const PLOT_LIBRARIES = [
  { name: 'vega', file: 'build/vega.min.js' },
  { name: 'vega-lite', file: 'build/vega-lite.min.js' },
  { name: 'vega-embed', file: 'build/vega-embed.min.js' },
] as const;

export interface PlotLibrary {
  name: string;
  version: string;
  path: string;
  source: string;
}

/** The folder of an installed package, found from its resolved main entry. */
export function packageDir(name: string): string {
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch (err) {
    throw new NotFoundError(`the package "${name}" is not installed (run npm install): it draws the HTML report's plots`, {
      cause: err,
    });
  }
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string };
      if (parsed.name === name) return dir;
    }
    if (dirname(dir) === dir) throw new NotFoundError(`cannot find the folder of the package "${name}" above ${entry}`);
  }
}

let cache: PlotLibrary[] | undefined;

/** The three browser builds with their versions (read once per process). */
export function plotLibraries(): PlotLibrary[] {
  if (cache) return cache;
  cache = PLOT_LIBRARIES.map(({ name, file }) => {
    const dir = packageDir(name);
    const path = join(dir, file);
    if (!existsSync(path)) throw new NotFoundError(`${path} is missing: reinstall the package "${name}"`);
    const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? '?';
    return { name, version, path, source: readFileSync(path, 'utf8') };
  });
  return cache;
}

/**
 * Script text made safe inside an inline <script> element: the HTML parser ends the element at the first
 * "</script" whatever the JavaScript context, and "<!--" switches it into an escaped state.
 */
export function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** JSON for an inline <script type="application/json"> element (parsed back with JSON.parse). */
export function inlineJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
