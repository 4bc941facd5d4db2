/**
 * Education levels: the closed list a WorkerRecord's `education` takes, printed verbatim in the templates
 * ("1990 to 1991 (graduate degree): ..."), ordered from lowest to highest attainment.
 *
 *   less than high school | high school diploma | some college | associate degree | college | graduate degree
 *
 * "college" means a completed four-year (bachelor's) degree; "graduate degree" any master's, professional
 * or doctoral degree. normalizeEducation() maps common spellings and years of schooling onto this list.
 */

export const EDUCATION_LEVELS = [
  'less than high school',
  'high school diploma',
  'some college',
  'associate degree',
  'college',
  'graduate degree',
] as const;

export type EducationLevel = (typeof EDUCATION_LEVELS)[number];

export function isEducationLevel(value: string): value is EducationLevel {
  return (EDUCATION_LEVELS as readonly string[]).includes(value);
}

/** 0 for "less than high school" ... 5 for "graduate degree"; -1 for a value outside the list. */
export function educationRank(level: string): number {
  return (EDUCATION_LEVELS as readonly string[]).indexOf(level);
}

// Spellings seen in survey extracts and CAREER-style files, keyed after lower-casing and squeezing spaces,
// underscores and hyphens to single spaces and dropping apostrophes and dots.
const SYNONYMS: Record<string, EducationLevel> = {
  'less than high school': 'less than high school',
  'less than hs': 'less than high school',
  'no high school': 'less than high school',
  'no degree': 'less than high school',
  'below high school': 'less than high school',
  dropout: 'less than high school',
  'high school dropout': 'less than high school',
  lths: 'less than high school',
  'high school diploma': 'high school diploma',
  'high school': 'high school diploma',
  'high school graduate': 'high school diploma',
  hs: 'high school diploma',
  'hs diploma': 'high school diploma',
  'hs graduate': 'high school diploma',
  ged: 'high school diploma',
  'some college': 'some college',
  'some college no degree': 'some college',
  'associate degree': 'associate degree',
  'associates degree': 'associate degree',
  associate: 'associate degree',
  associates: 'associate degree',
  aa: 'associate degree',
  college: 'college',
  'college degree': 'college',
  'college graduate': 'college',
  bachelor: 'college',
  bachelors: 'college',
  'bachelors degree': 'college',
  'bachelor degree': 'college',
  ba: 'college',
  bs: 'college',
  'graduate degree': 'graduate degree',
  graduate: 'graduate degree',
  'post graduate': 'graduate degree',
  postgraduate: 'graduate degree',
  masters: 'graduate degree',
  'masters degree': 'graduate degree',
  master: 'graduate degree',
  phd: 'graduate degree',
  doctorate: 'graduate degree',
  professional: 'graduate degree',
  'professional degree': 'graduate degree',
};

/**
 * Years of completed schooling to a level: < 12 less than high school, 12 high school diploma,
 * 13-15 some college (an associate degree cannot be told apart by years alone), 16 college,
 * 17 and more graduate degree.
 */
export function educationFromYears(years: number): EducationLevel {
  if (years < 12) return 'less than high school';
  if (years < 13) return 'high school diploma';
  if (years < 16) return 'some college';
  if (years < 17) return 'college';
  return 'graduate degree';
}

/** A negative integer: how NLSY and PSID files mark a value as missing. */
export function isMissingValueCode(raw: string): boolean {
  return /^\s*-\s*\d+\s*$/.test(raw);
}

/**
 * Maps a raw education value onto EDUCATION_LEVELS: exact levels, case and spacing variants, common
 * synonyms ("HS", "GED", "Bachelor's", "PhD") and integer years of schooling (0-25, see educationFromYears).
 * Returns undefined when the value cannot be recognised, so callers can raise an error naming the file.
 */
export function normalizeEducation(raw: string): EducationLevel | undefined {
  // Negative numbers are survey missing-value codes (NLSY: -1 refused ... -5 non-interview), not years.
  if (isMissingValueCode(raw)) return undefined;
  const key = raw
    .trim()
    .toLowerCase()
    .replace(/['’.]/g, '')
    .replace(/[\s_-]+/g, ' ')
    .trim();
  if (key === '') return undefined;
  const hit = SYNONYMS[key];
  if (hit) return hit;
  if (/^\d{1,2}$/.test(key)) {
    const years = Number(key);
    if (years <= 25) return educationFromYears(years);
  }
  return undefined;
}
