export { synthesizePanel, educationAtAge, type SynthOptions, type SynthResult } from './generate.js';
export { SynthModel, oraclePerplexity, type Mixture, type MixturePart } from './model.js';
export { getProfile, PROFILES, PROFILE_NAMES, type ProfileName, type SurveyProfile } from './profiles.js';
export { Prng, hash32, hashUnit } from './prng.js';
