import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readLongTable, sniffLongFormat, writeLongTable } from '../../src/data/io/index.js';
import { longCsvText, parseColumnMapping, readLongCsv, writeLongCsv } from '../../src/data/io/long-table.js';
import { readLongParquet, writeLongParquet } from '../../src/data/io/parquet.js';
import { readCareerDir } from '../../src/data/io/career.js';
import { loadTaxonomy } from '../../src/data/taxonomy/taxonomy.js';
import { CAREER_SAMPLE, LONG_SAMPLE, tempDir, writeFiles } from '../helpers/panel-files.js';

const taxonomy = loadTaxonomy('occ1990dd');

describe('long table, CSV', () => {
  it('imports rows into workers in first-row order, grouping non-adjacent rows', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'p.csv': LONG_SAMPLE });
    const { panel, splits, report } = await readLongCsv(join(dir, 'p.csv'), { taxonomy });
    expect(panel.workers.map((w) => w.id)).toEqual(['a', 'b', 'c']);
    expect(panel.workers[0]).toEqual({
      id: 'a',
      dataset: 'NLSY79',
      birthYear: 1960,
      gender: 'female',
      ethnicity: 'white',
      region: 'northcentral',
      state: 'MO',
      records: [
        { year: 1990, code: '4', education: 'college' },
        { year: 1991, code: '7', education: 'college' },
      ],
    });
    expect(panel.workers[1]).toMatchObject({ birthYear: null, ethnicity: 'black, non-hispanic', region: 'south' });
    expect(panel.workers[1]!.state).toBeUndefined();
    expect(Object.fromEntries(splits)).toEqual({ a: 'train', b: 'test', c: 'valid' });
    expect(report).toMatchObject({ workers: 3, records: 5 });
  });

  it('round trips: import -> export -> import gives the same panel, and re-export the same bytes', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'p.csv': LONG_SAMPLE });
    const first = await readLongCsv(join(dir, 'p.csv'), { taxonomy });
    await writeLongCsv(join(dir, 'out.csv'), first.panel, first.splits);
    const second = await readLongCsv(join(dir, 'out.csv'), { taxonomy });
    expect(second.panel).toEqual(first.panel);
    expect([...second.splits]).toEqual([...first.splits]);
    const again = longCsvText(second.panel, second.splits);
    expect(again).toBe(await readFile(join(dir, 'out.csv'), 'utf8'));
    // Export writes each worker's rows together, quoting only where needed.
    expect(again.split('\n')[2]).toBe('a,NLSY79,1991,7,college,1960,female,white,northcentral,MO,train');
    expect(again.split('\n')[3]).toBe('b,NLSY79,1991,9002,high school diploma,,male,"black, non-hispanic",south,,test');
  });

  it('uses configured column names, derives the region from the state and takes the dataset from options', async () => {
    const dir = await tempDir();
    await writeFiles(dir, {
      'p.csv': 'pid,yr,occ,educ,sex,race,st,extra\n1,1990,4,12,male,white,ny,x\n1,1991,4,16,male,white,ny,y\n',
    });
    const columns = parseColumnMapping(['worker_id=pid,year=yr', 'code=occ', 'education=educ', 'gender=sex', 'ethnicity=race', 'state=st']);
    const { panel, splits } = await readLongCsv(join(dir, 'p.csv'), { taxonomy, columns, dataset: 'PSID81' });
    expect(panel.workers[0]).toMatchObject({ id: '1', dataset: 'PSID81', region: 'northeast', state: 'NY', birthYear: null });
    expect(panel.workers[0]!.records.map((r) => r.education)).toEqual(['high school diploma', 'college']);
    expect(splits.size).toBe(0);
    // Export under the same names; no split column without splits.
    const text = longCsvText(panel, undefined, columns);
    expect(text.split('\n')[0]).toBe('pid,dataset,yr,occ,educ,birth_year,sex,race,region,st');
  });

  it('rejects a bad column mapping', () => {
    expect(() => parseColumnMapping(['wrkr=pid'])).toThrow(/bad column mapping "wrkr=pid"/);
    expect(() => parseColumnMapping(['year'])).toThrow(/expected FIELD=COLUMN/);
  });

  it('carries synthetic true probabilities exactly', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'p.csv': LONG_SAMPLE });
    const { panel, splits } = await readLongCsv(join(dir, 'p.csv'), { taxonomy });
    panel.workers[0]!.records[1]!.trueProbability = 0.1 + 0.2; // not representable in few digits
    await writeLongCsv(join(dir, 'o.csv'), panel, splits);
    const back = await readLongCsv(join(dir, 'o.csv'), { taxonomy });
    expect(back.panel.workers[0]!.records[1]!.trueProbability).toBe(0.1 + 0.2);
    expect(back.panel).toEqual(panel);
  });

  it('refuses to overwrite an existing file unless asked', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'p.csv': LONG_SAMPLE, 'o.csv': 'keep me' });
    const { panel } = await readLongCsv(join(dir, 'p.csv'), { taxonomy });
    await expect(writeLongCsv(join(dir, 'o.csv'), panel)).rejects.toThrow(/already exists/);
    expect(await readFile(join(dir, 'o.csv'), 'utf8')).toBe('keep me');
    await writeLongCsv(join(dir, 'o.csv'), panel, undefined, { overwrite: true });
    expect(await readFile(join(dir, 'o.csv'), 'utf8')).toMatch(/^worker_id,/);
    expect((await readdir(dir)).sort()).toEqual(['o.csv', 'p.csv']);
  });
});

describe('long table, Parquet', () => {
  it('round trips exactly through Parquet, and sniffs the format from the bytes', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'p.csv': LONG_SAMPLE });
    const first = await readLongCsv(join(dir, 'p.csv'), { taxonomy });
    first.panel.workers[2]!.records[0]!.trueProbability = 1 / 3;
    const out = await writeLongTable(join(dir, 'p.parquet'), first.panel, first.splits);
    expect(out).toEqual({ file: join(dir, 'p.parquet'), rows: 5, format: 'parquet' });
    expect(await sniffLongFormat(join(dir, 'p.parquet'))).toBe('parquet');
    expect(await sniffLongFormat(join(dir, 'p.csv'))).toBe('csv');
    const second = await readLongTable(join(dir, 'p.parquet'), { taxonomy });
    expect(second.panel).toEqual(first.panel);
    expect([...second.splits]).toEqual([...first.splits]);
    // Parquet -> CSV gives the bytes CSV -> CSV gives.
    expect(longCsvText(second.panel, second.splits)).toBe(longCsvText(first.panel, first.splits));
  });

  it('writes typed columns under configured names', async () => {
    const dir = await tempDir();
    await writeFiles(dir, { 'p.csv': LONG_SAMPLE });
    const { panel, splits } = await readLongCsv(join(dir, 'p.csv'), { taxonomy });
    const columns = { worker_id: 'pid', year: 'yr' };
    await writeLongParquet(join(dir, 'p.parquet'), panel, splits, { columns });
    const back = await readLongParquet(join(dir, 'p.parquet'), { taxonomy, columns });
    expect(back.panel).toEqual(panel);
    await expect(readLongParquet(join(dir, 'p.parquet'), { taxonomy })).rejects.toThrow(/missing required columns "worker_id", "year"/);
  });

  it('CAREER -> long -> CAREER keeps the panel', async () => {
    const dir = await tempDir();
    await writeFiles(dir, CAREER_SAMPLE);
    const career = await readCareerDir(dir, { taxonomy, dataset: 'NLSY79' });
    await writeLongTable(join(dir, 'x.parquet'), career.panel, career.splits);
    const long = await readLongTable(join(dir, 'x.parquet'), { taxonomy });
    expect(long.panel).toEqual(career.panel);
    expect([...long.splits]).toEqual([...career.splits]);
  });
});
