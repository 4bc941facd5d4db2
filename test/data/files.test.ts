import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, NotFoundError } from '../../src/errors.js';
import { writeDirAtomic, writeFileAtomic } from '../../src/data/io/atomic.js';
import { CENSUS_REGIONS, censusRegion, regionOfState, US_STATE_CODES } from '../../src/data/io/regions.js';
import { decodeUtf8, readTextFile, splitLines } from '../../src/data/io/text-file.js';
import { tempDir } from '../helpers/panel-files.js';

describe('strict UTF-8 text', () => {
  it('decodes UTF-8, drops a UTF-8 byte order mark, keeps non-ASCII text', () => {
    expect(decodeUtf8(Buffer.from('a,é\n'), 'f')).toBe('a,é\n');
    expect(decodeUtf8(Buffer.from([0xef, 0xbb, 0xbf, 0x61]), 'f')).toBe('a');
  });

  it('locates the first invalid byte by line and byte column', () => {
    const bytes = Buffer.concat([Buffer.from('ok\nstill ok\nbad '), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]);
    expect(() => decodeUtf8(bytes, 'x.txt')).toThrow(/^x\.txt:3:5: invalid UTF-8 \(byte 0xC3/);
  });

  it('reports a multi-byte character cut off at the end of the file', () => {
    const bytes = Buffer.concat([Buffer.from('abc\nd'), Buffer.from([0xe2, 0x82])]);
    expect(() => decodeUtf8(bytes, 'x')).toThrow(/^x:2:2: invalid UTF-8 \(byte 0xE2/);
  });

  it('reports a stray continuation byte where it is', () => {
    expect(() => decodeUtf8(Buffer.from([0x61, 0x80, 0x62]), 'x')).toThrow(/^x:1:2: invalid UTF-8 \(byte 0x80/);
  });

  it('missing files are NotFoundError, folders are InputError', async () => {
    const dir = await tempDir();
    await expect(readTextFile(join(dir, 'nope.txt'))).rejects.toBeInstanceOf(NotFoundError);
    await expect(readTextFile(dir)).rejects.toBeInstanceOf(InputError);
  });

  it('splits lines on LF and CRLF without inventing a last empty line', () => {
    expect(splitLines('')).toEqual([]);
    expect(splitLines('a\nb')).toEqual(['a', 'b']);
    expect(splitLines('a\r\nb\r\n')).toEqual(['a', 'b']);
    expect(splitLines('a\n\n')).toEqual(['a', '']);
  });
});

describe('Census regions', () => {
  it('has the 50 states and DC, each in one of the four regions', () => {
    expect(US_STATE_CODES).toHaveLength(51);
    const perRegion = Object.fromEntries(CENSUS_REGIONS.map((r) => [r, US_STATE_CODES.filter((s) => regionOfState(s) === r).length]));
    expect(perRegion).toEqual({ northeast: 9, northcentral: 12, south: 17, west: 13 });
  });

  it('maps states case-insensitively and knows nothing else', () => {
    expect(regionOfState('ny')).toBe('northeast');
    expect(regionOfState('DC')).toBe('south');
    expect(regionOfState('OH')).toBe('northcentral');
    expect(regionOfState('AK')).toBe('west');
    expect(regionOfState('PR')).toBeUndefined();
    expect(censusRegion('South')).toBe('south');
    // The paper's spelling, the Census name and CAREER's spellings of the Midwest.
    for (const name of ['northcentral', 'Midwest', 'North Central', 'north_central', 'NorthCentral', 'mid-west']) expect(censusRegion(name), name).toBe('northcentral');
    expect(censusRegion('Southwest')).toBeUndefined();
    expect(censusRegion('north')).toBeUndefined();
  });
});

describe('atomic outputs', () => {
  it('leaves nothing behind when filling a folder fails part way', async () => {
    const parent = await tempDir();
    await expect(
      writeDirAtomic(join(parent, 'out'), async (tmp) => {
        await writeFile(join(tmp, 'meta.json'), '{}');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await readdir(parent)).toEqual([]);
  });

  it('replaces an existing folder only when allowed, and then completely', async () => {
    const parent = await tempDir();
    const out = join(parent, 'out');
    await mkdir(out);
    await writeFile(join(out, 'old.txt'), 'old');
    await expect(writeDirAtomic(out, async () => undefined)).rejects.toThrow(/already exists/);
    expect(await readdir(out)).toEqual(['old.txt']);
    await writeDirAtomic(out, (tmp) => writeFile(join(tmp, 'new.txt'), 'new'), { overwrite: true });
    expect(await readdir(out)).toEqual(['new.txt']);
    expect(await readdir(parent)).toEqual(['out']);
  });

  it('a failed file write keeps the old file', async () => {
    const parent = await tempDir();
    const file = join(parent, 'f.csv');
    await writeFile(file, 'old');
    await expect(
      writeFileAtomic(
        file,
        async (tmp) => {
          await writeFile(tmp, 'half');
          throw new Error('boom');
        },
        { overwrite: true },
      ),
    ).rejects.toThrow('boom');
    expect(await readFile(file, 'utf8')).toBe('old');
    expect(await readdir(parent)).toEqual(['f.csv']);
  });
});
