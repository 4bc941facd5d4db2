/**
 * US states and the four Census regions the templates name. CAREER's `location` files hold
 * state codes; the panel keeps the state and derives the region from it.
 */

export const CENSUS_REGIONS = ['Northeast', 'Midwest', 'South', 'West'] as const;
export type CensusRegion = (typeof CENSUS_REGIONS)[number];

/** USPS codes of the 50 states and DC, by Census region (Census Bureau regions, 4-region scheme). */
const STATES_BY_REGION: Record<CensusRegion, readonly string[]> = {
  Northeast: ['CT', 'ME', 'MA', 'NH', 'RI', 'VT', 'NJ', 'NY', 'PA'],
  Midwest: ['IL', 'IN', 'MI', 'OH', 'WI', 'IA', 'KS', 'MN', 'MO', 'NE', 'ND', 'SD'],
  South: ['DE', 'DC', 'FL', 'GA', 'MD', 'NC', 'SC', 'VA', 'WV', 'AL', 'KY', 'MS', 'TN', 'AR', 'LA', 'OK', 'TX'],
  West: ['AZ', 'CO', 'ID', 'MT', 'NV', 'NM', 'UT', 'WY', 'AK', 'CA', 'HI', 'OR', 'WA'],
};

const REGION_OF_STATE: ReadonlyMap<string, CensusRegion> = new Map(
  CENSUS_REGIONS.flatMap((r) => STATES_BY_REGION[r].map((s) => [s, r] as const)),
);

/** Every state code that has a Census region (50 states and DC), sorted. */
export const US_STATE_CODES: readonly string[] = [...REGION_OF_STATE.keys()].sort();

/** The Census region of a USPS state code (case-insensitive), or undefined for anything else. */
export function regionOfState(state: string): CensusRegion | undefined {
  return REGION_OF_STATE.get(state.toUpperCase());
}

/** The canonical spelling of a Census region name (case-insensitive), or undefined. */
export function censusRegion(name: string): CensusRegion | undefined {
  const lower = name.toLowerCase();
  return CENSUS_REGIONS.find((r) => r.toLowerCase() === lower);
}
