/**
 * US states and the four Census regions the templates name. CAREER's `location` files hold
 * state codes; the panel keeps the state and derives the region from it.
 *
 * Regions are spelled as the LABOR-LLM paper writes them in its templates: northeast, northcentral,
 * south, west (lower case, "northcentral" for the Census Bureau's Midwest, once called North Central).
 * On import censusRegion() also accepts the Census names (Northeast, Midwest, South, West), "North
 * Central" and CAREER's spellings (northcentral, north_central), in any case.
 */

export const CENSUS_REGIONS = ['northeast', 'northcentral', 'south', 'west'] as const;
export type CensusRegion = (typeof CENSUS_REGIONS)[number];

/** USPS codes of the 50 states and DC, by Census region (Census Bureau regions, 4-region scheme). */
const STATES_BY_REGION: Record<CensusRegion, readonly string[]> = {
  northeast: ['CT', 'ME', 'MA', 'NH', 'RI', 'VT', 'NJ', 'NY', 'PA'],
  northcentral: ['IL', 'IN', 'MI', 'OH', 'WI', 'IA', 'KS', 'MN', 'MO', 'NE', 'ND', 'SD'],
  south: ['DE', 'DC', 'FL', 'GA', 'MD', 'NC', 'SC', 'VA', 'WV', 'AL', 'KY', 'MS', 'TN', 'AR', 'LA', 'OK', 'TX'],
  west: ['AZ', 'CO', 'ID', 'MT', 'NV', 'NM', 'UT', 'WY', 'AK', 'CA', 'HI', 'OR', 'WA'],
};

const REGION_OF_STATE: ReadonlyMap<string, CensusRegion> = new Map(
  CENSUS_REGIONS.flatMap((r) => STATES_BY_REGION[r].map((s) => [s, r] as const)),
);

/** Every state code that has a Census region (50 states and DC), sorted. */
export const US_STATE_CODES: readonly string[] = [...REGION_OF_STATE.keys()].sort();

/** The spellings import accepts, for error messages. */
export const REGION_SPELLINGS = 'northeast, northcentral (or midwest, north central), south, west, in any case';

/** Region names after lower-casing and dropping spaces, underscores and hyphens. */
const REGION_OF_NAME: ReadonlyMap<string, CensusRegion> = new Map([
  ['northeast', 'northeast'],
  ['northcentral', 'northcentral'],
  ['midwest', 'northcentral'],
  ['south', 'south'],
  ['west', 'west'],
]);

/** The Census region of a USPS state code (case-insensitive), or undefined for anything else. */
export function regionOfState(state: string): CensusRegion | undefined {
  return REGION_OF_STATE.get(state.toUpperCase());
}

/** The paper's spelling of a Census region name in any accepted spelling (see REGION_SPELLINGS), or undefined. */
export function censusRegion(name: string): CensusRegion | undefined {
  return REGION_OF_NAME.get(name.toLowerCase().replace(/[\s_-]+/g, ''));
}
