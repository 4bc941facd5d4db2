/** `labor-llm finetune local`: a short run from a panel store and from --synth, --json output, usage errors. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../../../src/errors.js';
import { writePanelDir } from '../../../../src/data/io/index.js';
import { completeSplits } from '../../../../src/data/io/types.js';
import { synthesizePanel } from '../../../../src/data/synth/index.js';
import { loadTaxonomy } from '../../../../src/data/taxonomy/taxonomy.js';
import { tinyModelPath } from '../../../helpers/models.js';
import { runCli as run } from '../../../helpers/run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'labor-llm-finetune-local-cli-'));
let model: string;

beforeAll(async () => {
  model = await tinyModelPath('llama-spm', 1);
});

describe('finetune local', () => {
  it('trains on a panel store and prints what it did as JSON', async () => {
    const taxonomy = loadTaxonomy('occ1990dd');
    const { panel } = synthesizePanel({ profile: 'nlsy97', workers: 12, seed: 2, taxonomy });
    const { splits } = completeSplits(panel, new Map(), { seed: 2 });
    const store = join(dir, 'panel');
    await writePanelDir(store, { panel, splits, taxonomy });
    const out = join(dir, 'store.gguf');
    const r = await run(['finetune', 'local', '--model', model, '--data', store, '--out', out, '--epochs', '1', '--max-train', '2', '--threads', '1', '--json']);
    expect(r.code).toBe(0);
    // Logs go to stderr, the JSON document alone to stdout.
    expect(r.stderr).toMatch(/epoch 1: train loss \d+\.\d+, validation loss \d+\.\d+ \(best so far: checkpoint kept\)/);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(j.command).toBe('finetune local');
    expect(j.out).toBe(out);
    expect(j.bestEpoch).toBe(1);
    expect(j.trainTexts).toBe(2);
    expect(j.validTexts).toBe([...splits.values()].filter((s) => s === 'valid').length);
    expect(j.bestValLoss as number).toBeLessThan(j.initialValLoss as number);
    expect(existsSync(out)).toBe(true);
  });

  it('trains on a synthetic panel and reports in words; refuses to replace --out without --force', async () => {
    const out = join(dir, 'synth.gguf');
    const args = ['finetune', 'local', '--model', model, '--synth', 'nlsy79', '--workers', '20', '--max-train', '1', '--max-valid', '1', '--out', out, '--epochs', '1', '--lr', '0.002', '--threads', '1', '--quiet'];
    const r = await run(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote .*synth\.gguf: epoch 1 of 1, validation loss \d+\.\d+ -> \d+\.\d+ nats\/token/);
    const again = await run(args);
    expect(again.code).toBe(EXIT_CODES.INPUT);
    expect(again.stderr).toMatch(/exists/);
    expect((await run([...args, '--force'])).code).toBe(0);
  });

  it('needs exactly one of --data and --synth, and names a model it cannot train', async () => {
    const out = join(dir, 'x.gguf');
    const neither = await run(['finetune', 'local', '--model', model, '--out', out]);
    expect(neither.code).toBe(EXIT_CODES.INPUT);
    expect(neither.stderr).toMatch(/exactly one of --data PANEL_DIR or --synth PROFILE/);
    const both = await run(['finetune', 'local', '--model', model, '--data', dir, '--synth', 'nlsy79', '--out', out]);
    expect(both.code).toBe(EXIT_CODES.INPUT);
    const f16 = await tinyModelPath('llama-spm', 1, { type: 'f16' });
    const bad = await run(['finetune', 'local', '--model', f16, '--synth', 'nlsy79', '--workers', '20', '--out', out]);
    expect(bad.code).toBe(EXIT_CODES.MODEL);
    expect(bad.stderr).toMatch(/needs f32 weights/);
    expect(existsSync(out)).toBe(false);
  });

  it('has help with examples', async () => {
    const r = await run(['finetune', 'local', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--synth/);
    expect(r.stdout).toMatch(/finetune local --model/);
  });
});
