/**
 * lilnet's lesion detector: a small anchor-free, one-class detector in the manner of YOLOv8, written once over
 * `Ops<T>` so that it trains on libtorch and exports to ONNX.
 *
 * - Backbone: conv-BN-SiLU layers with stride 2, each followed by a residual block of two 3x3 conv-BN-SiLU
 *   layers; features P3, P4, P5 at strides 8, 16 and 32.
 * - Neck: top-down only (P5 upsampled into P4, that into P3), each merge a 1x1 lateral conv, an add and a 3x3
 *   conv.
 * - Head per level, decoupled: a box branch predicting, for each of the four sides, a distribution over
 *   `regMax` bins of the distance from the anchor point in strides (distribution focal loss form; the distance
 *   is the expectation of the softmax), and a class branch predicting one logit.
 *
 * The exported output is `[batch, 5, anchors]`: box centre x, centre y, width, height in input pixels, then the
 * sigmoid lesion score, which is the YOLOv8 convention read by `decodeYoloOutput` in src/detect/decode.ts.
 * Input: `[batch, 3, S, S]` float32 in [0, 1], the grey slice letterboxed and repeated in the three channels,
 * as Ultralytics models take it.
 */
import type { Ops, ParameterLookup, ParameterSpec } from './ops.ts';

export interface DetectorConfig {
  /** Square input side in pixels; a multiple of 32. */
  inputSize: number;
  /** Output channels of the five stride-2 stages (strides 2, 4, 8, 16, 32). */
  stageChannels: [number, number, number, number, number];
  /** Channels of the neck and of both head branches. */
  headChannels: number;
  /** Bins of the side-distance distribution; distances reach `regMax - 1` strides. */
  regMax: number;
}

/**
 * The default detector: input 256 (slices are halved), about 0.4 GMAC per slice. 256 rather than the study's
 * 512 keeps training feasible on a 2-core CPU; a lesion of 1 cm on a 512 slice of 0.75 mm pixels still spans
 * about 7 input pixels.
 */
export const DEFAULT_DETECTOR_CONFIG: DetectorConfig = {
  inputSize: 256,
  stageChannels: [16, 32, 64, 96, 128],
  headChannels: 64,
  regMax: 16,
};

export const DETECTOR_STRIDES = [8, 16, 32] as const;

/** Probability the class logit starts at, so early training is not swamped by background anchors. */
const CLASS_PRIOR = 0.01;

interface ConvSpec {
  name: string;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  /** False for the final 1x1 prediction convs, which have a bias and no batch norm or activation. */
  normalised: boolean;
  biasInit?: number;
}

function convLayers(config: DetectorConfig): ConvSpec[] {
  const layers: ConvSpec[] = [];
  const conv = (name: string, inChannels: number, outChannels: number, kernel: number, stride = 1): void => {
    layers.push({ name, inChannels, outChannels, kernel, stride, normalised: true });
  };
  let channels = 3;
  config.stageChannels.forEach((outChannels, stage) => {
    conv(`backbone.${stage}.down`, channels, outChannels, 3, 2);
    if (stage > 0) {
      conv(`backbone.${stage}.block.0`, outChannels, outChannels, 3);
      conv(`backbone.${stage}.block.1`, outChannels, outChannels, 3);
    }
    channels = outChannels;
  });
  const head = config.headChannels;
  const [, , p3, p4, p5] = config.stageChannels;
  conv('neck.lateral5', p5, head, 1);
  conv('neck.lateral4', p4, head, 1);
  conv('neck.lateral3', p3, head, 1);
  conv('neck.merge4', head, head, 3);
  conv('neck.merge3', head, head, 3);
  DETECTOR_STRIDES.forEach((_, level) => {
    conv(`head.${level}.box.0`, head, head, 3);
    conv(`head.${level}.class.0`, head, head, 3);
    layers.push({
      name: `head.${level}.box.1`,
      inChannels: head,
      outChannels: 4 * config.regMax,
      kernel: 1,
      stride: 1,
      normalised: false,
      biasInit: 1,
    });
    layers.push({
      name: `head.${level}.class.1`,
      inChannels: head,
      outChannels: 1,
      kernel: 1,
      stride: 1,
      normalised: false,
      biasInit: Math.log(CLASS_PRIOR / (1 - CLASS_PRIOR)),
    });
  });
  return layers;
}

export function validateDetectorConfig(config: DetectorConfig): void {
  if (!(Number.isInteger(config.inputSize) && config.inputSize >= 64 && config.inputSize % 32 === 0)) {
    throw new RangeError(`detector input size ${config.inputSize} must be a multiple of 32, at least 64`);
  }
  if (!(config.regMax >= 2)) throw new RangeError(`regMax ${config.regMax} must be at least 2`);
}

/** Names, shapes and initialisers of every parameter and batch-norm buffer, in a stable order. */
export function detectorParameterSpecs(config: DetectorConfig = DEFAULT_DETECTOR_CONFIG): ParameterSpec[] {
  validateDetectorConfig(config);
  const specs: ParameterSpec[] = [];
  for (const layer of convLayers(config)) {
    specs.push({
      name: `${layer.name}.conv.weight`,
      shape: [layer.outChannels, layer.inChannels, layer.kernel, layer.kernel],
      init: { kind: 'kaiming-normal-fan-out-relu' },
      trainable: true,
    });
    if (layer.normalised) {
      specs.push({
        name: `${layer.name}.bn.weight`,
        shape: [layer.outChannels],
        init: { kind: 'constant', value: 1 },
        trainable: true,
      });
      specs.push({
        name: `${layer.name}.bn.bias`,
        shape: [layer.outChannels],
        init: { kind: 'constant', value: 0 },
        trainable: true,
      });
      specs.push({
        name: `${layer.name}.bn.running_mean`,
        shape: [layer.outChannels],
        init: { kind: 'constant', value: 0 },
        trainable: false,
      });
      specs.push({
        name: `${layer.name}.bn.running_var`,
        shape: [layer.outChannels],
        init: { kind: 'constant', value: 1 },
        trainable: false,
      });
    } else {
      specs.push({
        name: `${layer.name}.conv.bias`,
        shape: [layer.outChannels],
        init: { kind: 'constant', value: layer.biasInit ?? 0 },
        trainable: true,
      });
    }
  }
  return specs;
}

/** Anchor points (cell centres in input pixels) and strides of every level, level by level, row by row. */
export function detectorAnchors(inputSize: number): {
  x: Float32Array;
  y: Float32Array;
  stride: Float32Array;
  levelSizes: number[];
} {
  const levelSizes = DETECTOR_STRIDES.map((stride) => (inputSize / stride) ** 2);
  const count = levelSizes.reduce((sum, size) => sum + size, 0);
  const x = new Float32Array(count);
  const y = new Float32Array(count);
  const stride = new Float32Array(count);
  let index = 0;
  for (const levelStride of DETECTOR_STRIDES) {
    const side = inputSize / levelStride;
    for (let row = 0; row < side; row++) {
      for (let column = 0; column < side; column++) {
        x[index] = (column + 0.5) * levelStride;
        y[index] = (row + 0.5) * levelStride;
        stride[index] = levelStride;
        index++;
      }
    }
  }
  return { x, y, stride, levelSizes };
}

/** Outputs of one forward pass: training reads the raw parts, inference reads `output`. */
export interface DetectorForward<T> {
  /** `[N, 4, regMax, anchors]` logits of the side-distance distributions (left, top, right, bottom). */
  distanceLogits: T;
  /** `[N, 4, anchors]` expected side distances in strides. */
  distances: T;
  /** `[N, 1, anchors]` lesion logits. */
  classLogits: T;
  /** `[N, 5, anchors]` YOLOv8 convention: centre x, centre y, width, height (input pixels), lesion score. */
  output: T;
}

export interface DetectorForwardOptions {
  /** True: batch norm uses batch statistics and updates its running statistics. */
  training: boolean;
}

const BN_MOMENTUM = 0.03;
const BN_EPS = 1e-3;

export function detectorForward<T>(
  ops: Ops<T>,
  parameter: ParameterLookup<T>,
  input: T,
  config: DetectorConfig = DEFAULT_DETECTOR_CONFIG,
  options: DetectorForwardOptions = { training: false },
): DetectorForward<T> {
  validateDetectorConfig(config);
  const layers = new Map(convLayers(config).map((layer) => [layer.name, layer]));
  const batchNorm = { training: options.training, momentum: BN_MOMENTUM, eps: BN_EPS };
  const conv = (name: string, x: T): T => {
    const layer = layers.get(name);
    if (!layer) throw new Error(`detector has no layer ${name}`);
    const padding = (layer.kernel - 1) / 2;
    if (!layer.normalised) {
      return ops.conv2d(x, parameter(`${name}.conv.weight`), parameter(`${name}.conv.bias`), {
        stride: layer.stride,
        padding,
      });
    }
    const convolved = ops.conv2d(x, parameter(`${name}.conv.weight`), null, {
      stride: layer.stride,
      padding,
    });
    const normalised = ops.batchNorm2d(
      convolved,
      parameter(`${name}.bn.weight`),
      parameter(`${name}.bn.bias`),
      parameter(`${name}.bn.running_mean`),
      parameter(`${name}.bn.running_var`),
      batchNorm,
    );
    return ops.silu(normalised);
  };

  // Backbone.
  const features: T[] = [];
  let x = input;
  for (let stage = 0; stage < config.stageChannels.length; stage++) {
    x = conv(`backbone.${stage}.down`, x);
    if (stage > 0) x = ops.add(x, conv(`backbone.${stage}.block.1`, conv(`backbone.${stage}.block.0`, x)));
    features.push(x);
  }
  const [, , p3, p4, p5] = features;

  // Neck, top-down.
  const n5 = conv('neck.lateral5', p5);
  const n4 = conv('neck.merge4', ops.add(conv('neck.lateral4', p4), ops.upsampleNearest2d(n5, 2)));
  const n3 = conv('neck.merge3', ops.add(conv('neck.lateral3', p3), ops.upsampleNearest2d(n4, 2)));
  const levels = [n3, n4, n5];

  // Heads.
  const regMax = config.regMax;
  const distanceParts: T[] = [];
  const classParts: T[] = [];
  levels.forEach((feature, level) => {
    const [batch, , height, width] = ops.shape(feature);
    const box = conv(`head.${level}.box.1`, conv(`head.${level}.box.0`, feature));
    const score = conv(`head.${level}.class.1`, conv(`head.${level}.class.0`, feature));
    distanceParts.push(ops.reshape(box, [batch, 4, regMax, height * width]));
    classParts.push(ops.reshape(score, [batch, 1, height * width]));
  });
  const distanceLogits = ops.concat(distanceParts, 3);
  const classLogits = ops.concat(classParts, 2);

  const bins = new Float32Array(regMax).map((_, index) => index);
  const probabilities = ops.softmax(distanceLogits, 2);
  const distances = ops.sum(
    ops.mul(probabilities, ops.constant(bins, [1, 1, regMax, 1], 'detector_bins')),
    [2],
  );

  const output = yoloOutput(ops, distances, classLogits, config.inputSize);
  return { distanceLogits, distances, classLogits, output };
}

/** Converts side distances in strides to the `[N, 5, anchors]` YOLOv8 output. */
function yoloOutput<T>(ops: Ops<T>, distances: T, classLogits: T, inputSize: number): T {
  const anchors = detectorAnchors(inputSize);
  const count = anchors.x.length;
  const stride = ops.constant(anchors.stride, [1, 1, count], 'detector_strides');
  const halfStride = ops.constant(
    anchors.stride.map((value) => value / 2),
    [1, 1, count],
    'detector_half_strides',
  );
  const points = new Float32Array(2 * count);
  points.set(anchors.x, 0);
  points.set(anchors.y, count);
  const anchorPoints = ops.constant(points, [1, 2, count], 'detector_anchor_points');

  const leftTop = ops.slice(distances, 1, 0, 2);
  const rightBottom = ops.slice(distances, 1, 2, 4);
  const centre = ops.add(anchorPoints, ops.mul(ops.sub(rightBottom, leftTop), halfStride));
  const size = ops.mul(ops.add(leftTop, rightBottom), stride);
  return ops.concat([centre, size, ops.sigmoid(classLogits)], 1);
}
