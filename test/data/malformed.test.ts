/**
 * The malformed-input corpus: each case starts from a valid input (helpers.ts), breaks one thing, and
 * asserts the importer's error: an InputError (or NotFoundError) whose location names the file, the
 * line and, where one applies, the column or field, with a message that says what is wrong.
 */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { InputError, NotFoundError, type SourceLocation } from '../../src/errors.js';
import { readCareerDir } from '../../src/data/io/career.js';
import { readLongCsv } from '../../src/data/io/long-table.js';
import { readLongParquet } from '../../src/data/io/parquet.js';
import { readPanelDir, writePanelDir } from '../../src/data/io/panel-store.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { CAREER_SAMPLE, LONG_SAMPLE, tempDir, writeFiles } from '../helpers/panel-files.js';
import { readFile, rm, writeFile } from 'node:fs/promises';

const taxonomy = loadTaxonomy('occ1990dd');

interface Expected {
  /** File name the location must end with (the folder itself when ''). */
  file: string;
  line?: number;
  column?: number;
  field?: RegExp;
  message: RegExp;
}

async function expectInputError(run: () => Promise<unknown>, want: Expected, dir: string): Promise<void> {
  let caught: unknown;
  try {
    await run();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'the import must fail').toBeInstanceOf(InputError);
  const err = caught as InputError;
  const loc = err.location as SourceLocation;
  expect(loc, `a location in: ${err.message}`).toBeDefined();
  expect(loc.file).toBe(want.file === '' ? dir : join(dir, want.file));
  expect(loc.line).toBe(want.line);
  if (want.column !== undefined) expect(loc.column).toBe(want.column);
  if (want.field !== undefined) expect(loc.field).toMatch(want.field);
  expect(err.message).toMatch(want.message);
  // The message itself names the place, so a user reading only stderr can find it.
  expect(err.message.startsWith(`${loc.file}${loc.line === undefined ? '' : `:${loc.line}`}`)).toBe(true);
}

const utf16le = (text: string): Buffer => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
const utf16be = (text: string): Buffer => {
  const le = Buffer.from(text, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1] as number;
    be[i + 1] = le[i] as number;
  }
  return Buffer.concat([Buffer.from([0xfe, 0xff]), be]);
};

interface CareerCase {
  name: string;
  files: Record<string, string | Buffer | null>;
  dataset?: string | null;
  want: Expected;
}

/** CAREER cases: changes to CAREER_SAMPLE (null removes a file). */
const careerCases: CareerCase[] = [
  {
    name: 'a missing covariate file',
    files: { 'train.year': null },
    want: { file: 'train.year', message: /missing file: train\.job exists, so train\.year must too/ },
  },
  {
    name: 'an empty .job file',
    files: { 'valid.job': '' },
    want: { file: 'valid.job', line: 1, message: /the file is empty/ },
  },
  {
    name: 'an empty covariate file',
    files: { 'train.gender': '' },
    want: { file: 'train.gender', line: 1, message: /the file is empty, but train\.job has 2/ },
  },
  {
    name: 'a covariate file with fewer lines than .job',
    files: { 'train.ethnicity': 'white\n' },
    want: { file: 'train.ethnicity', line: 2, message: /ends after 1 lines, but train\.job has 2/ },
  },
  {
    name: 'a covariate file with more lines than .job',
    files: { 'train.location': 'MO\nCA\nTX\n' },
    want: { file: 'train.location', line: 3, message: /has 3 lines, but train\.job has 2/ },
  },
  {
    name: 'more years than jobs on a line',
    files: { 'train.year': '1990 1991 1992 1994 1995\n2001 2002 2003\n' },
    want: { file: 'train.year', line: 2, column: 11, message: /3 years, but line 2 of train\.job has 2 jobs/ },
  },
  {
    name: 'fewer education values than jobs on a line',
    files: { 'train.education': 'college college college graduate_degree\nhigh_school_diploma some_college\n' },
    want: { file: 'train.education', line: 1, column: 40, message: /4 education values, but line 1 of train\.job has 5 jobs/ },
  },
  {
    name: 'a non-numeric year',
    files: { 'train.year': '1990 19x1 1992 1994 1995\n2001 2002\n' },
    want: { file: 'train.year', line: 1, column: 6, message: /year "19x1" is not a four-digit year/ },
  },
  {
    name: 'years out of order',
    files: { 'train.year': '1990 1992 1991 1994 1995\n2001 2002\n' },
    want: { file: 'train.year', line: 1, column: 11, field: /year \(step 3\)/, message: /strictly increasing, got 1991 after 1992/ },
  },
  {
    name: 'a repeated year',
    files: { 'valid.year': '1985 1986 1986\n' },
    want: { file: 'valid.year', line: 1, column: 11, message: /strictly increasing, got 1986 after 1986/ },
  },
  {
    name: 'an unknown occupation code',
    files: { 'train.job': '4 4 7 9002 7\n13 12345\n' },
    want: { file: 'train.job', line: 2, column: 4, field: /code/, message: /code "12345" is not in taxonomy "occ1990dd"/ },
  },
  {
    name: 'a bad education value',
    files: { 'valid.education': 'less_than_high_school wizardry high_school_diploma\n' },
    want: { file: 'valid.education', line: 1, column: 23, field: /education/, message: /unknown education "wizardry"/ },
  },
  {
    name: 'an unknown state code',
    files: { 'train.location': 'MO\nZZ\n' },
    want: { file: 'train.location', line: 2, column: 1, message: /location "ZZ" is neither a US state code/ },
  },
  {
    name: 'two values on a static covariate line',
    files: { 'train.gender': 'female male\nmale\n' },
    want: { file: 'train.gender', line: 1, column: 8, message: /expected one gender value, found 2/ },
  },
  {
    name: 'an empty line in the .job file',
    files: { 'train.job': '4 4 7 9002 7\n\n', 'train.year': '1990 1991 1992 1994 1995\n\n', 'train.education': 'college college college college college\n\n' },
    want: { file: 'train.job', line: 2, message: /empty line: every worker needs at least one job code/ },
  },
  {
    name: 'invalid UTF-8 (a Latin-1 byte)',
    files: { 'train.ethnicity': Buffer.from([0x77, 0x68, 0x69, 0x74, 0x65, 0x0a, 0x6e, 0xe9, 0x65, 0x0a]) },
    want: { file: 'train.ethnicity', line: 2, column: 2, message: /invalid UTF-8 \(byte 0xE9/ },
  },
  {
    name: 'a UTF-16 little-endian file',
    files: { 'train.gender': utf16le('female\nmale\n') },
    want: { file: 'train.gender', line: 1, column: 1, message: /UTF-16 little-endian.*save it as UTF-8/ },
  },
  {
    name: 'a UTF-16 big-endian file',
    files: { 'test.job': utf16be('8\n') },
    want: { file: 'test.job', line: 1, column: 1, message: /UTF-16 big-endian/ },
  },
  {
    name: 'binary data (a NUL byte)',
    files: { 'test.year': Buffer.from('2010\n\0\0\n') },
    want: { file: 'test.year', line: 2, column: 1, message: /NUL byte/ },
  },
  {
    name: 'a folder without any .job file',
    files: Object.fromEntries(['train', 'valid', 'test'].map((s) => [`${s}.job`, null])),
    want: { file: '', message: /no CAREER files here/ },
  },
  {
    name: 'no dataset name anywhere',
    files: {},
    dataset: null,
    want: { file: '', message: /do not record the dataset: name it \(`dataset`\)/ },
  },
  {
    name: 'a non-numeric birth year in the sidecar',
    files: { 'train.birthyear': '1960\nsixty\n' },
    want: { file: 'train.birthyear', line: 2, column: 1, message: /birth year "sixty" is not a four-digit year/ },
  },
  {
    name: 'a true probability outside [0, 1]',
    files: { 'test.trueprob': '1.5\n' },
    want: { file: 'test.trueprob', line: 1, column: 1, message: /true probability "1.5" is not a number in \[0, 1\]/ },
  },
  {
    name: 'a duplicate worker id in the sidecar',
    files: { 'train.id': 'w1\nw1\n' },
    want: { file: 'train.id', line: 2, field: /id/, message: /duplicate worker id "w1"/ },
  },
];

describe('malformed CAREER folders', () => {
  for (const c of careerCases) {
    it(`rejects ${c.name}`, async () => {
      const dir = await tempDir();
      const files: Record<string, string | Buffer> = {};
      for (const [k, v] of Object.entries({ ...CAREER_SAMPLE, ...c.files })) if (v !== null) files[k] = v;
      await writeFiles(dir, files);
      const dataset = c.dataset === null ? undefined : (c.dataset ?? 'NLSY79');
      await expectInputError(() => readCareerDir(dir, { taxonomy, dataset }), c.want, dir);
    });
  }

  it('rejects a path that does not exist with NotFoundError', async () => {
    const dir = await tempDir();
    await expect(readCareerDir(join(dir, 'nope'), { taxonomy, dataset: 'X' })).rejects.toBeInstanceOf(NotFoundError);
  });
});

interface CsvCase {
  name: string;
  csv: string | Buffer;
  want: Omit<Expected, 'file'>;
}

const HEADER = LONG_SAMPLE.split('\n')[0] as string;
const ROWS = LONG_SAMPLE.split('\n').slice(1, -1);
const csvOf = (...rows: string[]): string => [HEADER, ...rows].map((r) => `${r}\n`).join('');

const csvCases: CsvCase[] = [
  {
    name: 'a row with an extra field',
    csv: csvOf(ROWS[0] as string, `${ROWS[1] as string},oops`),
    want: { line: 3, message: /12 fields, but the header has 11/ },
  },
  {
    name: 'a row with a missing field',
    csv: csvOf((ROWS[0] as string).replace(/,train$/, '')),
    want: { line: 2, message: /10 fields, but the header has 11/ },
  },
  {
    name: 'a missing required column',
    csv: LONG_SAMPLE.replace('education,', 'educ,'),
    want: { line: 1, message: /missing required column "education" \(the header has: .*educ/ },
  },
  {
    name: 'a non-numeric year',
    csv: csvOf((ROWS[0] as string).replace(',1990,', ',19x0,')),
    want: { line: 2, column: 3, field: /^year$/, message: /year "19x0" is not a four-digit year/ },
  },
  {
    name: 'a duplicate worker-year row',
    csv: csvOf(ROWS[0] as string, ROWS[1] as string, ROWS[0] as string),
    want: { line: 4, field: /^year$/, message: /duplicate row: worker "a" already has year 1990 on line 2/ },
  },
  {
    name: "years out of order within a worker's rows",
    csv: csvOf(ROWS[2] as string, ROWS[0] as string),
    want: { line: 3, field: /^year$/, message: /strictly increasing, got 1990 after 1991/ },
  },
  {
    name: 'an unknown code',
    csv: csvOf((ROWS[4] as string).replace(',905,', ',906,')),
    want: { line: 2, column: 4, field: /^code$/, message: /code "906" is not in taxonomy/ },
  },
  {
    name: 'a bad education value',
    csv: csvOf(ROWS[0] as string, (ROWS[2] as string).replace(',college,', ',kindergarten,')),
    want: { line: 3, column: 5, field: /^education$/, message: /unknown education "kindergarten"/ },
  },
  {
    name: "a worker's gender changing between rows",
    csv: csvOf(ROWS[0] as string, (ROWS[2] as string).replace(',female,', ',male,')),
    want: { line: 3, field: /^gender$/, message: /gender "male" of worker "a" differs from "female" on line 2/ },
  },
  {
    name: 'a region contradicting the state',
    csv: csvOf((ROWS[0] as string).replace(',Midwest,', ',West,')),
    want: { line: 2, field: /^region$/, message: /region "West" contradicts state MO, which is in the northcentral region/ },
  },
  {
    name: 'an unclosed quote',
    csv: csvOf(ROWS[0] as string, (ROWS[1] as string).replace('"black, non-hispanic"', '"black, non-hispanic')),
    want: { line: 3, message: /malformed CSV/ },
  },
  {
    name: 'an empty file',
    csv: '',
    want: { line: 1, message: /the file is empty/ },
  },
  {
    name: 'a header without rows',
    csv: `${HEADER}\n`,
    want: { line: 1, message: /header but no rows/ },
  },
  {
    name: 'an unknown split name',
    csv: csvOf((ROWS[0] as string).replace(/,train$/, ',training')),
    want: { line: 2, field: /^split$/, message: /split "training" is not one of train, valid, test/ },
  },
  {
    name: 'an empty code cell',
    csv: csvOf((ROWS[0] as string).replace(',4,', ',,')),
    want: { line: 2, field: /^code$/, message: /empty code/ },
  },
  {
    name: 'invalid UTF-8',
    csv: Buffer.concat([Buffer.from(csvOf(ROWS[0] as string)), Buffer.from('b,NLSY79,1991,9002,college,,male,'), Buffer.from([0xe9]), Buffer.from(',South,,test\n')]),
    want: { line: 3, column: 34, message: /invalid UTF-8 \(byte 0xE9/ },
  },
  {
    name: 'a UTF-16 file',
    csv: utf16le(LONG_SAMPLE),
    want: { line: 1, message: /UTF-16/ },
  },
];

describe('malformed long CSV tables', () => {
  for (const c of csvCases) {
    it(`rejects ${c.name}`, async () => {
      const dir = await tempDir();
      await writeFiles(dir, { 'p.csv': c.csv });
      await expectInputError(() => readLongCsv(join(dir, 'p.csv'), { taxonomy }), { ...c.want, file: 'p.csv' }, dir);
    });
  }

  it('rejects a table without a dataset column when no dataset is named', async () => {
    const dir = await tempDir();
    const csv = LONG_SAMPLE.split('\n').map((l) => l.split(',').filter((_, i) => i !== 1).join(',')).join('\n');
    await writeFiles(dir, { 'p.csv': csv.replace('"black', 'black').replace('hispanic"', 'hispanic') });
    await expectInputError(
      () => readLongCsv(join(dir, 'p.csv'), { taxonomy }),
      { file: 'p.csv', line: 1, message: /no "dataset" column: name the dataset/ },
      dir,
    );
  });
});

/** Writes a Parquet file from SQL, as a user's tool would. */
async function parquetFrom(select: string, file: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  try {
    await con.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

describe('malformed Parquet tables', () => {
  const good =
    "SELECT 'a' AS worker_id, 'NLSY79' AS dataset, 1990 AS year, '4' AS code, 'college' AS education, 1960 AS birth_year, 'female' AS gender, 'white' AS ethnicity, 'Midwest' AS region";

  it('rejects a non-numeric year with the row number', async () => {
    const dir = await tempDir();
    const file = join(dir, 'p.parquet');
    await parquetFrom(`${good} UNION ALL ${good.replace("1990 AS year", "'1991x' AS year").replace('1990', '1991')}`, file);
    await expectInputError(
      () => readLongParquet(file, { taxonomy }),
      { file: 'p.parquet', line: 2, field: /^year$/, message: /year "1991x" is not a four-digit year/ },
      dir,
    );
  });

  it('rejects a missing required column', async () => {
    const dir = await tempDir();
    const file = join(dir, 'p.parquet');
    await parquetFrom(good.replace(", 'female' AS gender", ''), file);
    await expectInputError(() => readLongParquet(file, { taxonomy }), { file: 'p.parquet', message: /missing required column "gender"/ }, dir);
  });

  it('rejects a file that is not Parquet', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'p.parquet': LONG_SAMPLE });
    await expectInputError(() => readLongParquet(join(dir, 'p.parquet'), { taxonomy }), { file: 'p.parquet', message: /not a Parquet file/ }, dir);
  });

  it('rejects a truncated Parquet file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'p.parquet');
    await parquetFrom(good, file);
    const bytes = await readFile(file);
    await writeFile(file, Buffer.concat([bytes.subarray(0, 40), bytes.subarray(bytes.length - 4)]));
    await expectInputError(() => readLongParquet(file, { taxonomy }), { file: 'p.parquet', message: /cannot read Parquet/ }, dir);
  });
});

describe('malformed panel stores', () => {
  async function store(): Promise<string> {
    const src = await tempDir();
    await writeFiles(src, CAREER_SAMPLE);
    const { panel, splits } = await readCareerDir(src, { taxonomy, dataset: 'NLSY79' });
    const dir = join(await tempDir(), 'store');
    await writePanelDir(dir, { panel, splits, taxonomy });
    return dir;
  }

  it('rejects a workers.jsonl line that is not JSON', async () => {
    const dir = await store();
    const lines = (await readFile(join(dir, 'workers.jsonl'), 'utf8')).split('\n');
    lines[1] = (lines[1] as string).slice(0, 20);
    await writeFile(join(dir, 'workers.jsonl'), lines.join('\n'));
    await expectInputError(() => readPanelDir(dir), { file: 'workers.jsonl', line: 2, message: /not valid JSON/ }, dir);
  });

  it('rejects an edited record that breaks the year order', async () => {
    const dir = await store();
    const text = await readFile(join(dir, 'workers.jsonl'), 'utf8');
    await writeFile(join(dir, 'workers.jsonl'), text.replace('"year":1991', '"year":1989'));
    await expectInputError(
      () => readPanelDir(dir),
      { file: 'workers.jsonl', line: 1, field: /^year$/, message: /strictly increasing, got 1989 after 1990/ },
      dir,
    );
  });

  it('rejects a folder without meta.json as not a panel store', async () => {
    const dir = await store();
    await rm(join(dir, 'meta.json'));
    await expect(readPanelDir(dir)).rejects.toThrow(/is not a panel store \(no meta\.json\)/);
  });
});
