/** Shared fixtures of the data-io tests: temp folders and small valid panels in each format. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';

const made: string[] = [];

/** A fresh temp folder, removed after the test. */
export async function tempDir(prefix = 'labor-llm-io-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

afterEach(async () => {
  while (made.length > 0) await rm(made.pop() as string, { recursive: true, force: true });
});

/** Writes files (text or bytes) under dir, making folders as needed. */
export async function writeFiles(dir: string, files: Record<string, string | Uint8Array>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
}

/**
 * A valid CAREER folder in canonical spellings (what export writes), occ1990dd codes:
 * train has 2 workers, valid 1, test 1 (whose location is a region name, not a state).
 */
export const CAREER_SAMPLE: Readonly<Record<string, string>> = {
  'train.job': '4 4 7 9002 7\n13 13\n',
  'train.year': '1990 1991 1992 1994 1995\n2001 2002\n',
  'train.education': 'college college college graduate_degree graduate_degree\nhigh_school_diploma some_college\n',
  'train.ethnicity': 'white\nblack_or_african_american\n',
  'train.gender': 'female\nmale\n',
  'train.location': 'MO\nCA\n',
  'valid.job': '9001 905 905\n',
  'valid.year': '1985 1986 1987\n',
  'valid.education': 'less_than_high_school high_school_diploma high_school_diploma\n',
  'valid.ethnicity': 'hispanic\n',
  'valid.gender': 'male\n',
  'valid.location': 'TX\n',
  'test.job': '8\n',
  'test.year': '2010\n',
  'test.education': 'associate_degree\n',
  'test.ethnicity': 'asian\n',
  'test.gender': 'female\n',
  'test.location': 'south\n',
};

/** A valid long CSV (default column names): 3 workers, rows of worker "b" not adjacent. */
export const LONG_SAMPLE =
  'worker_id,dataset,year,code,education,birth_year,gender,ethnicity,region,state,split\n' +
  'a,NLSY79,1990,4,college,1960,female,white,Midwest,MO,train\n' +
  'b,NLSY79,1991,9002,high school diploma,,male,"black, non-hispanic",south,,test\n' +
  'a,NLSY79,1991,7,college,1960,female,white,Midwest,MO,train\n' +
  'b,NLSY79,1993,13,some college,,male,"black, non-hispanic",South,,test\n' +
  'c,PSID81,2001,905,graduate degree,1975,male,hispanic,West,CA,valid\n';
