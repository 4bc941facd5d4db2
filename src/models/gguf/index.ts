/** GGUF files: reading headers and tensors, writing models, and generating seeded test models. */
export * from './types.js';
export { gguf, getInteger, getFloat, getString, getArrayLength, describeType, describeValue, valueToJson } from './metadata.js';
export { readGguf, readTensorData, findTensor, parameterCount } from './reader.js';
export { writeGguf, type GgufTensorInput, type GgufWriteInput, type GgufWriteResult, type TensorData } from './writer.js';
export { f32ToF16Bits, f16BitsToF32, encodeF16, decodeF16, encodeBF16, decodeBF16 } from './f16.js';
export {
  checkLlamaShape,
  llamaTensorSpecs,
  llamaParameterCount,
  llamaMetadata,
  LLAMA_FILE_TYPES,
  llamaShapeOf,
  writeLlamaModel,
  readLlamaModel,
  type LlamaShape,
  type LlamaTensorRole,
  type LlamaTensorSpec,
  type WriteLlamaOptions,
  type LlamaModelData,
} from './llama.js';
export { learnBpe, type BpeOptions, type LearnedBpe } from './bpe.js';
export { checkGguf, validateModelFile, verdictError, type GgufVerdict } from './validate.js';
export { VOCABS, isVocabName, vocabFilePath, loadTokenizer, type VocabName, type Tokenizer } from './vocab.js';
export {
  TINY_LLAMA_VERSION,
  TINY_PRESETS,
  tinyLlamaShape,
  initTensor,
  writeTinyLlama,
  type TinyPreset,
  type TinyLlamaOptions,
  type TinyLlamaResult,
} from './tiny.js';
