/**
 * LiLNet (Wei, Yang et al., Nature Communications 15:7040, 2024): a ResNet-50 trunk whose layer3 and layer4
 * features are seen through five spatial variants (unmasked and four quadrant masks), joint class-and-variant
 * heads on both, a self-distillation head on the unmasked layer4 features, and the training loss that ties
 * them together. Written against {@link Ops} only, so the same code runs on libtorch and records to ONNX.
 *
 * Notation: B images, K classes, V = 5 variants, J = V * K joint classes. The joint column of class c seen
 * through variant v is `V * c + v`; row `V * b + v` of a head's output is image b through variant v.
 */
import { LilnetError } from '../errors.ts';
import { linear, linearSpecs } from './layers.ts';
import type { LossOps } from './loss-ops.ts';
import type { Ops, ParameterLookup, ParameterSpec } from './ops.ts';
import {
  RESNET50_TRUNK,
  resnetStage,
  resnetStem,
  resnetTrunkSpecs,
  stageChannels,
  type ResNetTrunkConfig,
} from './resnet.ts';

/** Variants per image: the unmasked features and four quadrant masks. */
export const VARIANTS = 5;

export interface LilnetConfig {
  /** K: 2 for benign/malignant, 3 for HCC/ICC/MET or FNH/HEM/CYST. */
  numClasses: number;
  trunk: ResNetTrunkConfig;
}

/** The trunk of the bundled demonstration models: ResNet-50's layout at a quarter of its width. */
export const DEMO_TRUNK: ResNetTrunkConfig = { baseWidth: 16, blocksPerStage: [3, 4, 6, 3] };

export function lilnetConfig(numClasses: number, trunk: ResNetTrunkConfig = RESNET50_TRUNK): LilnetConfig {
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `number of classes ${numClasses} must be an integer of at least 2`,
    );
  }
  return { numClasses, trunk };
}

/** Trunk specs, then `fc3` (layer3 -> J), `fc_ens` (layer4 -> layer4 / 2), `fc` (-> J) and `fc_SD` (layer4 -> K). */
export function lilnetSpecs(config: LilnetConfig): ParameterSpec[] {
  const joint = VARIANTS * config.numClasses;
  const c3 = stageChannels(config.trunk, 3);
  const c4 = stageChannels(config.trunk, 4);
  return [
    ...resnetTrunkSpecs(config.trunk),
    ...linearSpecs('fc3', c3, joint),
    ...linearSpecs('fc_ens', c4, c4 / 2),
    ...linearSpecs('fc', c4 / 2, joint),
    ...linearSpecs('fc_SD', c4, config.numClasses),
  ];
}

/**
 * Builds the all-ones variant 0 and the four quadrant masks as a `[1, 5, 1, S, S]` constant. With m = floor(S / 2),
 * mask 1 zeroes rows [0, m) x columns [0, m), mask 2 rows [0, m) x columns [m, S), mask 3 rows [m, S) x
 * columns [0, m), mask 4 rows [m, S) x columns [m, S); rows are H, columns W.
 */
export function variantMasks(size: number): Float32Array {
  const m = Math.floor(size / 2);
  const masks = new Float32Array(VARIANTS * size * size).fill(1);
  const zeroed: [number, number, number, number][] = [
    [0, m, 0, m],
    [0, m, m, size],
    [m, size, 0, m],
    [m, size, m, size],
  ];
  zeroed.forEach(([rowStart, rowEnd, columnStart, columnEnd], index) => {
    const offset = (index + 1) * size * size;
    for (let row = rowStart; row < rowEnd; row++) {
      for (let column = columnStart; column < columnEnd; column++) masks[offset + row * size + column] = 0;
    }
  });
  return masks;
}

/** Applies the masking transform: `[B, C, S, S]` -> `[5B, C, S, S]`, rows 5b..5b+4 being F_b and F_b through the four masks. */
export function maskVariants<T>(ops: Ops<T>, features: T): T {
  const [, channels, height, width] = ops.shape(features);
  if (height !== width) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `the masking transform needs square feature maps, not ${height}x${width}`,
    );
  }
  const masks = ops.constant(
    variantMasks(height),
    [1, VARIANTS, 1, height, width],
    `variant_masks_${height}`,
  );
  const perImage = ops.reshape(features, [-1, 1, channels, height, width]);
  return ops.reshape(ops.mul(perImage, masks), [-1, channels, height, width]);
}

/** Builds the `[1, 5, 1, 5]` constant that selects the diagonal (variant row v, joint variant column v) pairs. */
function diagonalSelection(): Float32Array {
  const selection = new Float32Array(VARIANTS * VARIANTS);
  for (let v = 0; v < VARIANTS; v++) selection[v * VARIANTS + v] = 1;
  return selection;
}

/** Builds the `[1, 5, 1, 5]` constant that selects only the unmasked row's unmasked columns. */
function unmaskedSelection(): Float32Array {
  const selection = new Float32Array(VARIANTS * VARIANTS);
  selection[0] = 1;
  return selection;
}

export interface LilnetOutputs<T> {
  /** `[B, K]`: the mean over variants v of the layer4 and layer3 joint logits of (row 5b+v, column 5c+v). */
  aggregated: T;
  /** `[B, K]`: the layer4 head's logits of the unmasked variant, columns 5c. */
  single: T;
  /** `[B, K]`: the self-distillation head. */
  selfDistillation: T;
  /** `[5B, J]`: the layer4 head (`fc_ens`, then `fc`). */
  layer4Joint: T;
  /** `[5B, J]`: the layer3 head (`fc3`). */
  layer3Joint: T;
}

/** Selects `[B, K]` from joint logits `[5B, 5K]` with a `[1, 5, 1, 5]` selection constant, as a masked sum. */
function selectJoint<T>(ops: Ops<T>, joint: T, numClasses: number, selection: T): T {
  const grouped = ops.reshape(joint, [-1, VARIANTS, numClasses, VARIANTS]);
  return ops.sum(ops.mul(grouped, selection), [1, 3]);
}

/** Runs LiLNet on NCHW images (224 x 224 in the paper); `training` switches batch norm to batch statistics. */
export function lilnetForward<T>(
  ops: Ops<T>,
  p: ParameterLookup<T>,
  config: LilnetConfig,
  images: T,
  options: { training: boolean },
): LilnetOutputs<T> {
  const training = options.training;
  let x = resnetStem(ops, p, images, training);
  x = resnetStage(ops, p, config.trunk, 1, x, training);
  x = resnetStage(ops, p, config.trunk, 2, x, training);
  const layer3 = resnetStage(ops, p, config.trunk, 3, x, training);
  const layer4 = resnetStage(ops, p, config.trunk, 4, layer3, training);

  const layer3Joint = linear(ops, p, 'fc3', ops.globalAvgPool2d(maskVariants(ops, layer3)));
  const layer4Pooled = ops.globalAvgPool2d(maskVariants(ops, layer4));
  const layer4Joint = linear(ops, p, 'fc', linear(ops, p, 'fc_ens', layer4Pooled));
  const selfDistillation = linear(ops, p, 'fc_SD', ops.globalAvgPool2d(layer4));

  const k = config.numClasses;
  const diagonal = ops.constant(diagonalSelection(), [1, VARIANTS, 1, VARIANTS], 'variant_diagonal');
  const unmasked = ops.constant(unmaskedSelection(), [1, VARIANTS, 1, VARIANTS], 'unmasked_variant');
  const bothHeads = ops.add(layer4Joint, layer3Joint);
  const aggregated = ops.mulScalar(selectJoint(ops, bothHeads, k, diagonal), 1 / (2 * VARIANTS));
  const single = selectJoint(ops, layer4Joint, k, unmasked);
  return { aggregated, single, selfDistillation, layer4Joint, layer3Joint };
}

export interface LilnetLossOptions {
  /** Distillation temperature T (3 in the paper). */
  temperature?: number;
  /** Weight of the layer3 head's cross-entropy (1 in the paper). */
  beta?: number;
}

export interface LilnetLoss<T> {
  total: T;
  ceLayer4Joint: T;
  ceLayer3Joint: T;
  /** T^2 * KL(softmax(aggregated / T) || softmax(selfDistillation / T)), batch mean, aggregated detached. */
  klTimesT2: T;
  ceSelfDistillation: T;
}

/** Joint targets: row 5b+v has class 5 * labels[b] + v. */
export function jointLabels(labels: Int32Array): Int32Array {
  const joint = new Int32Array(labels.length * VARIANTS);
  labels.forEach((label, b) => {
    for (let v = 0; v < VARIANTS; v++) joint[b * VARIANTS + v] = VARIANTS * label + v;
  });
  return joint;
}

/**
 * Computes the training loss: CE(layer4 joint) + beta * CE(layer3 joint) + T^2 * KL(p || q) + CE(self-distillation),
 * with p = softmax(aggregated / T) as a fixed target (no gradient) and q = softmax(selfDistillation / T).
 */
export function lilnetLoss<T>(
  ops: LossOps<T>,
  outputs: LilnetOutputs<T>,
  labels: Int32Array,
  numClasses: number,
  options: LilnetLossOptions = {},
): LilnetLoss<T> {
  const temperature = options.temperature ?? 3;
  const beta = options.beta ?? 1;
  for (const label of labels) {
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new LilnetError('INVALID_ARGUMENT', `class label ${label} is outside 0..${numClasses - 1}`);
    }
  }
  const joint = jointLabels(labels);
  const ceLayer4Joint = ops.crossEntropy(outputs.layer4Joint, joint);
  const ceLayer3Joint = ops.crossEntropy(outputs.layer3Joint, joint);
  const target = ops.softmax(ops.mulScalar(ops.detach(outputs.aggregated), 1 / temperature), 1);
  const logQ = ops.logSoftmax(ops.mulScalar(outputs.selfDistillation, 1 / temperature), 1);
  const klTimesT2 = ops.mulScalar(ops.klDivBatchmean(logQ, target), temperature * temperature);
  const ceSelfDistillation = ops.crossEntropy(outputs.selfDistillation, labels);
  const total = ops.add(
    ops.add(ops.add(ceLayer4Joint, ops.mulScalar(ceLayer3Joint, beta)), klTimesT2),
    ceSelfDistillation,
  );
  return { total, ceLayer4Joint, ceLayer3Joint, klTimesT2, ceSelfDistillation };
}
