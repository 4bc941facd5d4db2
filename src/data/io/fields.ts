/**
 * Parsing the few typed fields every importer shares (years, birth years, locations), so that all
 * formats accept and reject the same spellings with the same messages.
 */
import { InputError, type SourceLocation } from '../../errors.js';
import { censusRegion, REGION_SPELLINGS, regionOfState } from './regions.js';

/** Years are four-digit calendar years; anything else is a typo or a code in the wrong column. */
const YEAR = /^[0-9]{4}$/;

export function parseYear(text: string, at: () => SourceLocation, what = 'year'): number {
  if (!YEAR.test(text)) {
    throw new InputError(`${what} "${text}" is not a four-digit year`, at());
  }
  return Number(text);
}

/** Spellings of a missing birth year. */
export const MISSING_BIRTH_YEAR = ['', 'NA', 'na', 'NaN', 'null', '.'] as const;

export function parseBirthYear(text: string, at: () => SourceLocation): number | null {
  if ((MISSING_BIRTH_YEAR as readonly string[]).includes(text)) return null;
  return parseYear(text, at, 'birth year');
}

export interface PlaceOfResidence {
  region: string;
  state?: string;
}

/**
 * A CAREER `location` value: a US state code (kept, and its Census region derived) or, for panels
 * that only know the region, a Census region name (stored as the paper spells it: see regions.ts).
 */
export function parseLocation(text: string, at: () => SourceLocation): PlaceOfResidence {
  const region = regionOfState(text);
  if (region !== undefined) return { region, state: text.toUpperCase() };
  const named = censusRegion(text);
  if (named !== undefined) return { region: named };
  throw new InputError(
    `location "${text}" is neither a US state code (AL ... WY, DC) nor a Census region (${REGION_SPELLINGS})`,
    at(),
  );
}

/**
 * A region with an optional state, from a long table: the region cell may be empty when a state is
 * given; when both are given they must agree.
 */
export function resolveRegion(
  regionText: string | undefined,
  stateText: string | undefined,
  atRegion: () => SourceLocation,
  atState: () => SourceLocation,
): PlaceOfResidence {
  let state: string | undefined;
  let derived: string | undefined;
  if (stateText !== undefined && stateText !== '') {
    derived = regionOfState(stateText);
    if (derived === undefined) {
      throw new InputError(`state "${stateText}" is not a US state code (AL ... WY, DC)`, atState());
    }
    state = stateText.toUpperCase();
  }
  if (regionText === undefined || regionText === '') {
    if (derived === undefined) throw new InputError('region is empty and no state is given to derive it from', atRegion());
    return state === undefined ? { region: derived } : { region: derived, state };
  }
  if (derived !== undefined) {
    const named = censusRegion(regionText);
    if (named !== derived) {
      throw new InputError(`region "${regionText}" contradicts state ${state ?? ''}, which is in the ${derived} region`, atRegion());
    }
    return { region: named, state: state as string };
  }
  // Without a state a Census region in any accepted spelling is stored as the paper spells it; anything
  // else is taken as written (validatePanel only requires it non-empty), so that panels coded with other
  // region schemes still load (CAREER export needs a Census region or a state).
  return { region: censusRegion(regionText) ?? regionText };
}
