/**
 * The classifier architectures lilnet trains and serves, described by plain JSON configs (stored in training
 * checkpoints), and their parameter specs.
 */
import { LilnetError } from '../errors.ts';
import { lilnetConfig, lilnetSpecs } from './lilnet.ts';
import type { ParameterSpec } from './ops.ts';
import { RESNET50_TRUNK, validateTrunkConfig, type ResNetTrunkConfig } from './resnet.ts';
import { resnetClassifierConfig, resnetClassifierSpecs } from './resnet50.ts';

export type ModelConfig =
  | { architecture: 'lilnet'; numClasses: number; trunk: ResNetTrunkConfig }
  | { architecture: 'resnet'; numClasses: number; trunk: ResNetTrunkConfig };

export function modelSpecs(config: ModelConfig): ParameterSpec[] {
  if (config.architecture === 'lilnet') return lilnetSpecs(lilnetConfig(config.numClasses, config.trunk));
  return resnetClassifierSpecs(resnetClassifierConfig(config.numClasses, config.trunk));
}

/** Checks a model config read from a file; throws `INVALID_ARGUMENT` naming the bad field. */
export function parseModelConfig(value: unknown): ModelConfig {
  const record = value as Partial<ModelConfig> | null;
  if (record === null || typeof record !== 'object') {
    throw new LilnetError('INVALID_ARGUMENT', 'model config is not an object');
  }
  if (record.architecture !== 'lilnet' && record.architecture !== 'resnet') {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `model architecture ${String(record.architecture)} is not lilnet or resnet`,
    );
  }
  const numClasses = record.numClasses;
  if (typeof numClasses !== 'number' || !Number.isInteger(numClasses) || numClasses < 2) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `model numClasses ${String(numClasses)} is not an integer >= 2`,
    );
  }
  const trunk = record.trunk ?? RESNET50_TRUNK;
  if (typeof trunk !== 'object' || !Array.isArray(trunk.blocksPerStage)) {
    throw new LilnetError('INVALID_ARGUMENT', 'model trunk must have baseWidth and blocksPerStage');
  }
  const parsed: ResNetTrunkConfig = {
    baseWidth: trunk.baseWidth,
    blocksPerStage: [...trunk.blocksPerStage] as unknown as ResNetTrunkConfig['blocksPerStage'],
  };
  validateTrunkConfig(parsed);
  return { architecture: record.architecture, numClasses, trunk: parsed };
}

/**
 * Infers the model config from a state dict's keys and shapes (`module.` already stripped): LiLNet when it has
 * `fc_SD.weight` (K = its rows), a plain ResNet classifier when it has only `fc.weight`; the trunk's base width
 * is the row count of `conv1.weight` and the blocks per stage are counted from the `layerS.B.` keys.
 */
export function inferModelConfig(stateDict: ReadonlyMap<string, { shape: readonly number[] }>): ModelConfig {
  const conv1 = stateDict.get('conv1.weight');
  if (!conv1) {
    throw new LilnetError(
      'CHECKPOINT_MISMATCH',
      'state dict has no conv1.weight, so it is not a ResNet-50 or LiLNet model',
      {
        hint: 'give a LiLNet or ResNet-50 checkpoint (keys such as conv1.weight, layer1.0.conv1.weight, fc.weight)',
      },
    );
  }
  const blocks = [0, 0, 0, 0];
  for (const name of stateDict.keys()) {
    const match = /^layer([1-4])\.(\d+)\./.exec(name);
    if (match) blocks[Number(match[1]) - 1] = Math.max(blocks[Number(match[1]) - 1], Number(match[2]) + 1);
  }
  const trunk: ResNetTrunkConfig = {
    baseWidth: conv1.shape[0],
    blocksPerStage: blocks as unknown as ResNetTrunkConfig['blocksPerStage'],
  };
  validateTrunkConfig(trunk);
  const selfDistillation = stateDict.get('fc_SD.weight');
  if (selfDistillation) return { architecture: 'lilnet', numClasses: selfDistillation.shape[0], trunk };
  const fc = stateDict.get('fc.weight');
  if (!fc) {
    throw new LilnetError(
      'CHECKPOINT_MISMATCH',
      'state dict has neither fc_SD.weight (LiLNet) nor fc.weight (ResNet-50)',
    );
  }
  return { architecture: 'resnet', numClasses: fc.shape[0], trunk };
}
