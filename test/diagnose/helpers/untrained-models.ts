/**
 * Builds a models folder of untrained models (seeded initial weights) for pipeline tests: a lilnet detector
 * checkpoint and three LiLNet classifiers of the narrow demo trunk, exported to ONNX with the diagnosis CAM
 * output. Their predictions are meaningless; the tests use them to exercise shapes, files and report layout.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeDetectorCheckpoint } from '../../../src/detect/detector-checkpoint.ts';
import { exportDiagnosisClassifier } from '../../../src/diagnose/model-conversion.ts';
import type { StateDictTensor } from '../../../src/nn/checkpoint/pytorch-reader.ts';
import { DEFAULT_DETECTOR_CONFIG, detectorParameterSpecs } from '../../../src/nn/detector.ts';
import { createRandom, initialValues } from '../../../src/nn/init.ts';
import { DEMO_TRUNK, lilnetConfig, lilnetSpecs } from '../../../src/nn/lilnet.ts';

export function untrainedClassifierStateDict(numClasses: number, seed: number): Map<string, StateDictTensor> {
  const random = createRandom(seed);
  const stateDict = new Map<string, StateDictTensor>();
  for (const spec of lilnetSpecs(lilnetConfig(numClasses, DEMO_TRUNK))) {
    stateDict.set(spec.name, { shape: spec.shape, dtype: 'float32', data: initialValues(spec, random) });
  }
  return stateDict;
}

/** Writes detector.ckpt, benign-malignant.onnx, malignant-subtype.onnx and benign-subtype.onnx into `dir`. */
export function writeUntrainedModels(
  dir: string,
  options: { classifiers?: ('benign-malignant' | 'malignant-subtype' | 'benign-subtype')[] } = {},
): void {
  const random = createRandom(11);
  writeDetectorCheckpoint(join(dir, 'detector.ckpt'), {
    config: DEFAULT_DETECTOR_CONFIG,
    parameters: detectorParameterSpecs(DEFAULT_DETECTOR_CONFIG).map((spec) => ({
      name: spec.name,
      shape: spec.shape,
      data: initialValues(spec, random),
    })),
  });
  const classifiers = options.classifiers ?? ['benign-malignant', 'malignant-subtype', 'benign-subtype'];
  classifiers.forEach((role, index) => {
    const stateDict = untrainedClassifierStateDict(role === 'benign-malignant' ? 2 : 3, 100 + index);
    writeFileSync(join(dir, `${role}.onnx`), exportDiagnosisClassifier(stateDict, `${role}.untrained`).bytes);
  });
}
