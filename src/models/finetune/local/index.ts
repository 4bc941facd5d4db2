/** Local fine-tuning of every weight of small llama GGUF models (see train.ts). */
export {
  finetuneLocal,
  type LocalFinetuneOptions,
  type LocalFinetuneProgress,
  type LocalFinetuneResult,
  type WindowProgress,
  type EpochProgress,
  type EpochRecord,
} from './train.js';
export {
  panelSplitsFromDir,
  panelSplitsFromSynth,
  templateTexts,
  finetuneTexts,
  type PanelSplits,
  type SynthSplitOptions,
} from './data.js';
