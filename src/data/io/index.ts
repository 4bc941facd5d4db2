/**
 * Panels in and out: CAREER's split files, the long table (CSV or Parquet) and the panel store.
 */
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { ParameterError, InputError, NotFoundError } from '../../errors.js';
import type { Panel } from '../panel/types.js';
import {
  type LongExportOptions,
  type LongImportOptions,
  readLongCsv,
  writeLongCsv,
} from './long-table.js';
import { looksLikeParquet, readLongParquet, writeLongParquet } from './parquet.js';
import { readCareerDir } from './career.js';
import { checkInputFile, isErrno } from './text-file.js';
import type { ImportedPanel, SplitMembership } from './types.js';

export * from './types.js';
export * from './career.js';
export * from './long-table.js';
export * from './parquet.js';
export * from './panel-store.js';
export * from './regions.js';
export { writeDirAtomic, writeFileAtomic } from './atomic.js';
export { readTextFile, decodeUtf8, splitLines } from './text-file.js';

export type LongFileFormat = 'csv' | 'parquet';

/** The format of a long table file: Parquet when its first bytes say so, CSV otherwise. */
export async function sniffLongFormat(file: string): Promise<LongFileFormat> {
  await checkInputFile(file, 'expected a long table file (CSV or Parquet), found a folder');
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return looksLikeParquet(head.subarray(0, bytesRead)) ? 'parquet' : 'csv';
  } finally {
    await handle.close();
  }
}

/** Reads a long table, CSV or Parquet (told apart by the file's first bytes). */
export async function readLongTable(file: string, opts: LongImportOptions): Promise<ImportedPanel> {
  return (await sniffLongFormat(file)) === 'parquet' ? readLongParquet(file, opts) : readLongCsv(file, opts);
}

/** The format a long table export takes: explicit, or from the extension (.parquet/.pq, else CSV). */
export function longFormatOfPath(file: string, format?: LongFileFormat): LongFileFormat {
  if (format !== undefined) return format;
  const ext = extname(file).toLowerCase();
  return ext === '.parquet' || ext === '.pq' ? 'parquet' : 'csv';
}

/** Writes a long table as CSV or Parquet. */
export async function writeLongTable(
  file: string,
  panel: Panel,
  splits: SplitMembership | undefined,
  opts: LongExportOptions & { format?: LongFileFormat } = {},
): Promise<{ file: string; rows: number; format: LongFileFormat }> {
  const format = longFormatOfPath(file, opts.format);
  if (format !== 'csv' && format !== 'parquet') throw new InputError(`unknown long table format "${String(format)}"`);
  const out = format === 'parquet' ? await writeLongParquet(file, panel, splits, opts) : await writeLongCsv(file, panel, splits, opts);
  return { file: out.file, rows: out.rows, format };
}

export type PanelFormat = 'career' | 'long';

export interface ImportPanelOptions extends LongImportOptions {
  /** career (a folder) or long (a CSV or Parquet file); default: career for a folder, long for a file. */
  format?: PanelFormat;
}

/** Imports a panel from CAREER files or a long table; `detected` says which reader ran. */
export async function importPanel(
  input: string,
  opts: ImportPanelOptions,
): Promise<ImportedPanel & { detected: 'career' | LongFileFormat }> {
  let format = opts.format;
  if (format === undefined) {
    let isDir = false;
    try {
      isDir = (await stat(input)).isDirectory();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new NotFoundError(`${input}: no such file or folder`, { cause: err });
      throw err;
    }
    format = isDir ? 'career' : 'long';
  }
  if (format === 'career') {
    if (opts.columns !== undefined && Object.keys(opts.columns).length > 0) {
      throw new ParameterError('columns', 'column names (`columns`) apply to long tables, not to CAREER folders');
    }
    return { ...(await readCareerDir(input, opts)), detected: 'career' };
  }
  if (format !== 'long') throw new InputError(`unknown panel format "${String(format)}": use career or long`);
  const detected = await sniffLongFormat(input);
  const imported = detected === 'parquet' ? await readLongParquet(input, opts) : await readLongCsv(input, opts);
  return { ...imported, detected };
}
