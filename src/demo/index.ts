/** The demo: the whole method end to end on a synthetic panel, with no download (see run.ts). */
export { runDemo, DEMO_FILES, DEMO_RUNS, type DemoResult, type DemoRunSummary, type DemoFiles, type DemoHooks, type DemoProgress, type DemoProgressStep } from './run.js';
export { resolveDemoOptions, DEMO_DEFAULTS, type DemoOptions, type ResolvedDemoOptions } from './options.js';
