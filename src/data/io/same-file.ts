/**
 * Comparing paths as files, not strings: `a/./s0.duckdb`, `a/s0.duckdb`, a symlink to it and a hard
 * link are one file. An output that is one of a command's inputs (or a folder holding one, or a file
 * inside an input folder) would destroy what the command is reading, `--force` or not.
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, resolve, sep } from 'node:path';
import { InputError } from '../../errors.js';

/** The real path of `path`, or, where it does not exist yet, of its nearest existing ancestor plus the rest. */
export function realPath(path: string): string {
  const abs = resolve(path);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : resolve(realPath(parent), basename(abs));
  }
}

function inode(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** True when both paths name the same file or folder (same device and inode, or the same real path). */
export function sameFile(a: string, b: string): boolean {
  const ia = inode(a);
  if (ia !== null && ia === inode(b)) return true;
  return realPath(a) === realPath(b);
}

/** True when `inner` is strictly inside the folder `outer`. */
export function isInside(inner: string, outer: string): boolean {
  const o = realPath(outer);
  return realPath(inner).startsWith(o.endsWith(sep) ? o : o + sep);
}

/**
 * Refuses an output that would overwrite or delete an input: the same file, a folder that holds an
 * input, or an existing file inside an input folder. `flag` names the option in the message.
 */
export function refuseInputAsOutput(out: string, inputs: readonly string[], flag = '--out'): void {
  for (const input of inputs) {
    let why: string | null = null;
    if (sameFile(out, input)) why = 'is the input';
    else if (isInside(input, out)) why = 'is a folder that holds the input';
    else if (isInside(out, input) && inode(out) !== null) why = 'is a file of the input folder';
    if (why !== null) {
      throw new InputError(`${flag} ${out} ${why} ${input}; writing it would destroy what is being read (choose another path)`, {
        file: out,
      });
    }
  }
}

/**
 * Checks an output path before any work: never an input (see refuseInputAsOutput), and an existing
 * file only with `force`.
 */
export function checkOutputPath(out: string, inputs: readonly string[], opts: { force: boolean; flag: string }): void {
  refuseInputAsOutput(out, inputs, opts.flag);
  if (!opts.force && inode(out) !== null) {
    throw new InputError(`${opts.flag} ${out} already exists; choose another path or pass --force to replace it`, { file: out });
  }
}

/** The input list without repeats, comparing files; a repeat is an InputError naming both spellings. */
export function refuseRepeatedInputs(inputs: readonly string[], what = 'input'): void {
  for (let i = 0; i < inputs.length; i++) {
    for (let j = 0; j < i; j++) {
      if (sameFile(inputs[i]!, inputs[j]!)) {
        throw new InputError(`the same ${what} is given twice (${inputs[j]} and ${inputs[i]})`, { file: inputs[i]! });
      }
    }
  }
}
