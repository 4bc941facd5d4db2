/** The CAREER functions of the native addon (native/addon/career.cpp), declared in src/engine/native.ts. */
import { loadAddon, type NativeAddon } from '../../engine/native.js';

export type {
  CareerData,
  CareerEpochProgress,
  CareerEpochRecord,
  CareerProgress,
  CareerShape,
  CareerStepProgress,
  CareerValidateProgress,
  NativeCareerConfig,
  NativeCareerModel,
  NativeCareerTrainOptions,
  NativeCareerTrainResult,
} from '../../engine/native.js';

export function careerAddon(): Pick<NativeAddon, 'careerTrain' | 'careerLoad'> {
  return loadAddon();
}
