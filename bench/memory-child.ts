/** Child process of bench/memory.ts: loads a model, scores one prompt over a taxonomy, prints peak RSS. */
import { Model } from '../src/engine/model.js';
import { loadTaxonomy } from '../src/data/taxonomy/taxonomy.js';

const [path, taxonomy, prompt] = process.argv.slice(2) as [string, string, string];
const before = process.resourceUsage().maxRSS;
const model = await Model.load(path, { threads: 2 });
const set = await model.titleSet(loadTaxonomy(taxonomy).titles());
const scores = await model.scoreTitles(prompt, set);
process.stdout.write(
  `${JSON.stringify({
    taxonomy,
    titles: set.size,
    internalNodes: scores.stats.internalNodes,
    modelBytes: model.info.sizeBytes,
    baselineRssKiB: before,
    peakRssKiB: process.resourceUsage().maxRSS,
  })}\n`,
);
await model.free();
