/**
 * `node --import tsx bench/bounded.ts --model M.gguf --data PANEL_DIR [--workers 20] [--top-k 5] [--tolerance 0.01 --tolerance 0.001] [--json]`
 * Bounded mode against the full trie on a fine-tuned model's test transitions (src/bench/bounded.ts).
 * `labor-llm demo` writes such a model and panel: labor-llm-demo/models/tiny-finetuned.gguf and labor-llm-demo/panel.
 */
import { parseArgs } from 'node:util';
import { formatBoundedBench, runBoundedBench } from '../src/bench/bounded.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'labor-llm-demo/models/tiny-finetuned.gguf' },
    data: { type: 'string', default: 'labor-llm-demo/panel' },
    workers: { type: 'string', default: '20' },
    'top-k': { type: 'string', default: '5' },
    tolerance: { type: 'string', multiple: true },
    threads: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const r = await runBoundedBench({
  model: values.model!,
  data: values.data!,
  workers: Number(values.workers),
  topK: Number(values['top-k']),
  ...(values.tolerance ? { tolerances: values.tolerance.map(Number) } : {}),
  ...(values.threads ? { threads: Number(values.threads) } : {}),
});
console.log(values.json ? JSON.stringify(r, null, 2) : formatBoundedBench(r));
