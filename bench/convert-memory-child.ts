/** Child process of bench/convert-memory.ts: converts one checkpoint and prints its time and peak RSS. */
import { convertModel } from '../src/models/convert/convert-model.js';
import type { WritableTensorType } from '../src/models/gguf/index.js';

const [input, out, type] = process.argv.slice(2) as [string, string, WritableTensorType];
const t0 = performance.now();
const r = await convertModel({ input, out, type });
process.stdout.write(
  `${JSON.stringify({ seconds: (performance.now() - t0) / 1000, peakRssKiB: process.resourceUsage().maxRSS, bytes: r.bytes, parameterCount: r.parameterCount })}\n`,
);
