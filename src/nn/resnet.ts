/**
 * The ResNet-50 trunk in torchvision's layout (stem, then stages `layer1` to `layer4` of bottleneck blocks),
 * with a configurable base width: 64 is torchvision's ResNet-50; smaller widths keep the same layout and
 * parameter names with fewer channels, for small demonstration models.
 */
import { LilnetError } from '../errors.ts';
import { batchNorm2d, batchNorm2dSpecs, conv2d, conv2dSpecs } from './layers.ts';
import type { Ops, ParameterLookup, ParameterSpec } from './ops.ts';

export interface ResNetTrunkConfig {
  /** Channels of the stem and width of the first stage's bottlenecks (64 in ResNet-50). */
  baseWidth: number;
  /** Bottleneck blocks per stage ([3, 4, 6, 3] in ResNet-50). */
  blocksPerStage: readonly [number, number, number, number];
}

export const RESNET50_TRUNK: ResNetTrunkConfig = { baseWidth: 64, blocksPerStage: [3, 4, 6, 3] };

/** Output channels of a bottleneck: four times its width. */
const EXPANSION = 4;

export function validateTrunkConfig(config: ResNetTrunkConfig): void {
  if (!Number.isInteger(config.baseWidth) || config.baseWidth < 1) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `ResNet base width ${config.baseWidth} is not a positive integer`,
    );
  }
  if (
    config.blocksPerStage.length !== 4 ||
    config.blocksPerStage.some((n) => !Number.isInteger(n) || n < 1)
  ) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `ResNet blocks per stage [${config.blocksPerStage.join(', ')}] must be four positive integers`,
    );
  }
}

/** Width of the bottlenecks of stage `stage` (1 to 4). */
export function stageWidth(config: ResNetTrunkConfig, stage: number): number {
  return config.baseWidth * 2 ** (stage - 1);
}

/** Output channels of stage `stage` (1 to 4): 256, 512, 1024, 2048 for ResNet-50. */
export function stageChannels(config: ResNetTrunkConfig, stage: number): number {
  return stageWidth(config, stage) * EXPANSION;
}

function bottleneckSpecs(
  prefix: string,
  inChannels: number,
  width: number,
  withDownsample: boolean,
): ParameterSpec[] {
  const out = width * EXPANSION;
  const specs = [
    ...conv2dSpecs(`${prefix}.conv1`, inChannels, width, 1),
    ...batchNorm2dSpecs(`${prefix}.bn1`, width),
    ...conv2dSpecs(`${prefix}.conv2`, width, width, 3),
    ...batchNorm2dSpecs(`${prefix}.bn2`, width),
    ...conv2dSpecs(`${prefix}.conv3`, width, out, 1),
    ...batchNorm2dSpecs(`${prefix}.bn3`, out),
  ];
  if (withDownsample) {
    specs.push(...conv2dSpecs(`${prefix}.downsample.0`, inChannels, out, 1));
    specs.push(...batchNorm2dSpecs(`${prefix}.downsample.1`, out));
  }
  return specs;
}

/** Specs of the stem (`conv1`, `bn1`) and of `layer1` to `layer4`. */
export function resnetTrunkSpecs(config: ResNetTrunkConfig = RESNET50_TRUNK): ParameterSpec[] {
  validateTrunkConfig(config);
  const specs = [
    ...conv2dSpecs('conv1', 3, config.baseWidth, 7),
    ...batchNorm2dSpecs('bn1', config.baseWidth),
  ];
  let inChannels = config.baseWidth;
  for (let stage = 1; stage <= 4; stage++) {
    const width = stageWidth(config, stage);
    for (let block = 0; block < config.blocksPerStage[stage - 1]; block++) {
      // The first block of every stage changes the channel count (and, from layer2 on, the resolution).
      specs.push(...bottleneckSpecs(`layer${stage}.${block}`, inChannels, width, block === 0));
      inChannels = width * EXPANSION;
    }
  }
  return specs;
}

function bottleneck<T>(
  ops: Ops<T>,
  p: ParameterLookup<T>,
  prefix: string,
  x: T,
  stride: number,
  withDownsample: boolean,
  training: boolean,
): T {
  let y = ops.relu(batchNorm2d(ops, p, `${prefix}.bn1`, conv2d(ops, p, `${prefix}.conv1`, x), training));
  y = conv2d(ops, p, `${prefix}.conv2`, y, { stride, padding: 1 });
  y = ops.relu(batchNorm2d(ops, p, `${prefix}.bn2`, y, training));
  y = batchNorm2d(ops, p, `${prefix}.bn3`, conv2d(ops, p, `${prefix}.conv3`, y), training);
  const shortcut = withDownsample
    ? batchNorm2d(
        ops,
        p,
        `${prefix}.downsample.1`,
        conv2d(ops, p, `${prefix}.downsample.0`, x, { stride }),
        training,
      )
    : x;
  return ops.relu(ops.add(y, shortcut));
}

/** Stem: 7x7 convolution with stride 2, batch norm, ReLU, 3x3 max-pool with stride 2. */
export function resnetStem<T>(ops: Ops<T>, p: ParameterLookup<T>, x: T, training: boolean): T {
  const y = conv2d(ops, p, 'conv1', x, { stride: 2, padding: 3 });
  return ops.maxPool2d(ops.relu(batchNorm2d(ops, p, 'bn1', y, training)), 3, 2, 1);
}

/** Stage `stage` (1 to 4): its first block has stride 2 from `layer2` on, and a downsampling shortcut. */
export function resnetStage<T>(
  ops: Ops<T>,
  p: ParameterLookup<T>,
  config: ResNetTrunkConfig,
  stage: number,
  x: T,
  training: boolean,
): T {
  let y = x;
  for (let block = 0; block < config.blocksPerStage[stage - 1]; block++) {
    const stride = block === 0 && stage > 1 ? 2 : 1;
    y = bottleneck(ops, p, `layer${stage}.${block}`, y, stride, block === 0, training);
  }
  return y;
}
