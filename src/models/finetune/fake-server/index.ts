/** The offline fake fine-tuning service (Together AI and OpenAI profiles) used by the tests. */
export { startFakeServer, DEFAULT_FAKE_MODELS } from './server.js';
export { DEFAULT_SCENARIO } from './types.js';
export type { FakeServer, FakeServerOptions, FakeFault, FakeJobScenario, FakeProfile, FakeRequestRecord } from './types.js';
export { tarArchive, zstdStoredFrame, checkpointArchive } from './archive.js';
