/**
 * The package itself: its root folder (where build/, data/ and vendor/ live), its data files and its
 * version, for every module that needs them. The same code runs from `src/` (tsx, vitest),
 * from `dist/` (after `tsc -p tsconfig.build.json`) and from `dist/src/` (after `tsc -p tsconfig.json`),
 * so instead of a fixed `../..` we walk up from this module until we meet labor-llm's package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from './errors.js';

let cachedRoot: string | undefined;

/** The labor-llm package root (the folder holding its package.json and data/). */
export function packageRoot(): string {
  if (cachedRoot !== undefined) return cachedRoot;
  const start = dirname(fileURLToPath(import.meta.url));
  let dir = start;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
        if (parsed.name === 'labor-llm') {
          cachedRoot = dir;
          return dir;
        }
      } catch {
        // An unreadable package.json on the way up is not ours; keep climbing.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new NotFoundError(`cannot find the labor-llm package root above ${start}`);
    dir = parent;
  }
}

let cachedVersion: string | undefined;

/** labor-llm's version (recorded in every run's identity). */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
    cachedVersion = pkg.version ?? '0.0.0';
  }
  return cachedVersion;
}

/** Absolute path of `data/<file>` in the package; throws NotFoundError if it is missing. */
export function packageDataPath(file: string): string {
  const path = join(packageRoot(), 'data', file);
  if (!existsSync(path)) throw new NotFoundError(`packaged data file is missing: ${path}`);
  return path;
}
