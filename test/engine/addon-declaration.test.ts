/**
 * The TypeScript declaration of the addon (src/engine/native.ts) against the addon itself: its
 * functions, the methods of the objects it returns, and the keys each options object's C++ table
 * reads (`optionKeys`). Each list below must name every key of its TypeScript type (the type-check
 * fails otherwise) and must equal what the addon has (this test fails otherwise): a key added on one
 * side only is caught on the other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadAddon,
  type LoadModelOptions,
  type LoraAdapterOptions,
  type NativeAddon,
  type NativeCareerModel,
  type NativeCareerTrainOptions,
  type NativeModel,
  type NativeScoreOptions,
  type NativeTitleSet,
  type OptionsName,
  type ThroughputOptions,
  type TrainOptions,
} from '../../src/engine/native.js';
import { CAREER_DEFAULTS } from '../../src/baselines/career/index.js';
import { tinyModel } from '../helpers/engine-fixtures.js';

/** Exactly the keys of T: a key missing from the list (or one T lacks) is a type error. */
function keysOf<T>() {
  return <const L extends readonly (keyof T)[]>(
    list: L & ([Exclude<keyof T, L[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, L[number]> }),
  ): string[] => [...list].map(String).sort();
}

const OPTION_KEYS: Record<OptionsName, string[]> = {
  loadModel: keysOf<LoadModelOptions>()([
    'path',
    'threads',
    'contextSize',
    'batchSize',
    'gpuLayers',
    'flashAttention',
    'useMmap',
    'kvCache',
    'outputHead',
    'lora',
  ]),
  loraAdapter: keysOf<LoraAdapterOptions>()(['path', 'scale']),
  scoreTitles: keysOf<NativeScoreOptions>()([
    'mode',
    'reusePrefix',
    'unsafeSharedSequence',
    'fullBoundaryCheck',
    'topK',
    'tolerance',
    'target',
    'boundedBatch',
    'crossBatch',
    'outputHead',
  ]),
  throughput: keysOf<ThroughputOptions>()(['tokens', 'allLogits', 'withLogsumexp', 'outputHead']),
  train: keysOf<TrainOptions>()([
    'model',
    'out',
    'trainTexts',
    'validTexts',
    'epochs',
    'contextLength',
    'learningRate',
    'lrDecay',
    'warmupRatio',
    'minLrRatio',
    'weightDecay',
    'seed',
    'threads',
    'gpuLayers',
  ]),
  careerTrain: keysOf<NativeCareerTrainOptions>()([
    'layers',
    'width',
    'heads',
    'ff',
    'nCodes',
    'covariateNames',
    'covariateSizes',
    'init',
    'out',
    'train',
    'valid',
    'meta',
    'epochs',
    'batch',
    'learningRate',
    'warmup',
    'weightDecay',
    'dropout',
    'seed',
    'threads',
    'maxSteps',
  ]),
};

const ADDON_FUNCTIONS = keysOf<NativeAddon>()([
  'loadModel',
  'systemInfo',
  'train',
  'careerTrain',
  'careerLoad',
  'optionKeys',
  'optionDefaults',
]);
const MODEL_METHODS = keysOf<NativeModel>()([
  'info',
  'tokenize',
  'detokenize',
  'tokenPiece',
  'createTitleSet',
  'scoreTitles',
  'scoreSpans',
  'throughput',
  'setLora',
  'free',
]);
const TITLE_SET_METHODS = keysOf<NativeTitleSet>()(['info', 'tokens']);
const CAREER_MODEL_METHODS = keysOf<NativeCareerModel>()(['info', 'logProbs', 'free']);

/** The methods an object of the addon has (its class's prototype). */
function methodsOf(o: object): string[] {
  return Object.getOwnPropertyNames(Object.getPrototypeOf(o))
    .filter((k) => k !== 'constructor')
    .sort();
}

describe('the declaration of the addon', () => {
  const addon = loadAddon();
  const dir = mkdtempSync(join(tmpdir(), 'labor-llm-addon-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('declares exactly the functions the addon exports', () => {
    expect(Object.keys(addon).sort()).toEqual(ADDON_FUNCTIONS);
  });

  it('declares exactly the option keys each C++ table reads', () => {
    const native: Record<string, string[]> = {};
    for (const [name, keys] of Object.entries(addon.optionKeys)) native[name] = [...keys].sort();
    expect(native).toEqual(OPTION_KEYS);
  });

  it('lists defaults for the keys it reads (but career data), and CAREER_DEFAULTS (the CLI help) are the native ones', () => {
    const data = ['careerTrain.train', 'careerTrain.valid', 'careerTrain.meta'];
    for (const [name, defaults] of Object.entries(addon.optionDefaults)) {
      const keys = OPTION_KEYS[name as OptionsName].filter((k) => !data.includes(`${name}.${k}`));
      expect({ name, keys: Object.keys(defaults).sort() }).toEqual({ name, keys });
    }
    const career = addon.optionDefaults.careerTrain;
    for (const [key, value] of Object.entries(CAREER_DEFAULTS)) {
      expect({ key, value: Math.fround(career[key] as number) }).toEqual({ key, value: Math.fround(value) });
    }
  });

  it('declares exactly the methods of a model and a title set', async () => {
    const model = await addon.loadModel({ path: await tinyModel('llama-spm'), threads: 1, contextSize: 256 });
    try {
      expect(methodsOf(model)).toEqual(MODEL_METHODS);
      expect(methodsOf(await model.createTitleSet(['Cooks']))).toEqual(TITLE_SET_METHODS);
    } finally {
      model.free();
    }
  });

  it('declares exactly the methods of a CAREER model', async () => {
    const out = join(dir, 'career.gguf');
    const data = { codes: Int32Array.of(0, 1), covs: Int32Array.of(0, 0), lengths: Int32Array.of(2) };
    const shape = { layers: 1, width: 4, heads: 1, ff: 4, nCodes: 2, covariateNames: ['year'], covariateSizes: [1] };
    await addon.careerTrain({ ...shape, out, train: data, valid: data, epochs: 0, threads: 1 });
    const model = addon.careerLoad(out, 1);
    try {
      expect(methodsOf(model)).toEqual(CAREER_MODEL_METHODS);
    } finally {
      model.free();
    }
  });
});
