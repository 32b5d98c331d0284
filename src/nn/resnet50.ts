/**
 * Plain ResNet-50 classifier (the baseline LiLNet is compared with by Wei, Yang et al., 2024): the torchvision trunk, global average pooling and `fc`
 * (channels of layer4 -> K classes).
 */
import { LilnetError } from '../errors.ts';
import { linear, linearSpecs } from './layers.ts';
import type { Ops, ParameterLookup, ParameterSpec } from './ops.ts';
import {
  RESNET50_TRUNK,
  resnetStage,
  resnetStem,
  resnetTrunkSpecs,
  stageChannels,
  type ResNetTrunkConfig,
} from './resnet.ts';

export interface ResNetClassifierConfig {
  numClasses: number;
  trunk: ResNetTrunkConfig;
}

export function resnetClassifierConfig(
  numClasses: number,
  trunk: ResNetTrunkConfig = RESNET50_TRUNK,
): ResNetClassifierConfig {
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `number of classes ${numClasses} must be an integer of at least 2`,
    );
  }
  return { numClasses, trunk };
}

export function resnetClassifierSpecs(config: ResNetClassifierConfig): ParameterSpec[] {
  return [
    ...resnetTrunkSpecs(config.trunk),
    ...linearSpecs('fc', stageChannels(config.trunk, 4), config.numClasses),
  ];
}

/** Logits `[N, K]` of NCHW images. */
export function resnetClassifierForward<T>(
  ops: Ops<T>,
  p: ParameterLookup<T>,
  config: ResNetClassifierConfig,
  images: T,
  options: { training: boolean },
): T {
  let x = resnetStem(ops, p, images, options.training);
  for (let stage = 1; stage <= 4; stage++) x = resnetStage(ops, p, config.trunk, stage, x, options.training);
  return linear(ops, p, 'fc', ops.globalAvgPool2d(x));
}
