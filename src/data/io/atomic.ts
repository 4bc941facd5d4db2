/**
 * Writing outputs so that a failure never leaves something that looks complete: everything is
 * written under a temporary sibling name and renamed into place only once it is whole. A rename
 * within one folder is atomic on POSIX file systems.
 */
import { link, mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ParameterError, InputError } from '../../errors.js';
import { refuseInputAsOutput } from './same-file.js';
import { isErrno } from './text-file.js';

export interface AtomicWriteOptions {
  /** Replace an existing file or folder at the destination (default: refuse). */
  overwrite?: boolean;
  /** What the command reads: the destination may never be one of them (or hold one), with or without `overwrite`. */
  inputs?: readonly string[];
  /** The option that named the destination, for messages (default --out). */
  flag?: string;
}

/** A temporary sibling path of `target`, in the same folder so that the final rename stays atomic. */
export function temporarySibling(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
}

/**
 * Runs `fill(tmp)` to write a new folder under a temporary name, then renames it to `dir`.
 * If `fill` throws, the temporary folder is removed and `dir` is untouched.
 */
export function writeDirAtomic<T>(dir: string, fill: (tmpDir: string) => Promise<T>, opts: AtomicWriteOptions = {}): Promise<T> {
  return writeAtomic(dir, 'folder', fill, opts);
}

/** Runs `fill(tmpPath)` to write one file under a temporary name, then renames it to `path`. */
export function writeFileAtomic<T>(path: string, fill: (tmpPath: string) => Promise<T>, opts: AtomicWriteOptions = {}): Promise<T> {
  return writeAtomic(path, 'file', fill, opts);
}

/** A folder's temporary sibling is created before `fill`; a file's is left for `fill` to create. */
async function writeAtomic<T>(
  target: string,
  kind: 'file' | 'folder',
  fill: (tmp: string) => Promise<T>,
  opts: AtomicWriteOptions,
): Promise<T> {
  await refuseExisting(target, opts);
  await mkdir(dirname(target), { recursive: true });
  const tmp = temporarySibling(target);
  if (kind === 'folder') await mkdir(tmp);
  let result: T;
  try {
    result = await fill(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  await replace(tmp, target, opts);
  return result;
}

async function refuseExisting(target: string, opts: AtomicWriteOptions): Promise<void> {
  refuseInputAsOutput(target, opts.inputs ?? [], opts.flag);
  if (!opts.overwrite && (await exists(target))) {
    throw new ParameterError('overwrite', 'the output already exists; choose another path or allow overwriting (`overwrite`)', {
      file: target,
    });
  }
}

/**
 * Moves `tmp` to `target`; an existing target is moved aside first and removed only after. Without
 * `overwrite`, a target another process created meanwhile is never replaced: a file is hard-linked
 * into place (EEXIST if taken), a folder renamed (which fails onto a non-empty folder).
 */
async function replace(tmp: string, target: string, opts: AtomicWriteOptions): Promise<void> {
  if (!opts.overwrite) {
    try {
      if ((await stat(tmp)).isDirectory()) await rename(tmp, target);
      else {
        await link(tmp, target).catch(async (err: unknown) => {
          // File systems without hard links: the checked rename (a narrow window).
          if (!isErrno(err, 'EPERM') && !isErrno(err, 'ENOTSUP')) throw err;
          if (await exists(target)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
          await rename(tmp, target);
        });
        await rm(tmp, { force: true });
      }
    } catch (err) {
      if (!isErrno(err, 'EEXIST') && !isErrno(err, 'ENOTEMPTY')) throw err;
      await rm(tmp, { recursive: true, force: true });
      throw new ParameterError('overwrite', 'the output was created by another process meanwhile; choose another path or allow overwriting (`overwrite`)', {
        file: target,
      });
    }
    return;
  }
  if (!(await exists(target))) {
    await rename(tmp, target);
    return;
  }
  const old = temporarySibling(target);
  await rename(target, old);
  try {
    await rename(tmp, target);
  } catch (err) {
    await rename(old, target);
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}
