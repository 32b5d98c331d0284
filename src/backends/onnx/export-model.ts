/**
 * ONNX export of lilnet's classifiers, LiLNet and the plain ResNet-50 baseline, from the same model definitions
 * the libtorch backend runs (src/nn/lilnet.ts, src/nn/resnet50.ts).
 *
 * Graph interface (dimension `batch` is dynamic):
 * - input `images`: float32 `[batch, 3, H, W]`, normalised as the authors' evaluation transform does (224 x 224);
 * - LiLNet outputs `aggregated_logits`, `single_logits`, `self_distillation_logits` `[batch, K]` and
 *   `layer4_joint_logits`, `layer3_joint_logits` `[5*batch, 5K]`;
 * - ResNet-50 output `logits` `[batch, K]`;
 * - on request, the feature maps `layer3_features` `[batch, C3, H/16, W/16]` and `layer4_features`
 *   `[batch, C4, H/32, W/32]` (1024 x 14 x 14 and 2048 x 7 x 7 for ResNet-50 at 224), and custom outputs
 *   computed from them (for example class-activation maps).
 */
import { LilnetError } from '../../errors.ts';
import { lilnetForward, type LilnetConfig } from '../../nn/lilnet.ts';
import type { ParameterLookup } from '../../nn/ops.ts';
import { resnetStage, resnetStem, type ResNetTrunkConfig } from '../../nn/resnet.ts';
import { resnetClassifierForward, type ResNetClassifierConfig } from '../../nn/resnet50.ts';
import { exportOnnx, type OnnxExport, type ParameterSource } from './export.ts';
import type { OnnxOps, OnnxValue } from './recorder.ts';

export const ONNX_INPUT_NAME = 'images';

export const LILNET_OUTPUT_NAMES = [
  'aggregated_logits',
  'single_logits',
  'self_distillation_logits',
  'layer4_joint_logits',
  'layer3_joint_logits',
] as const;
export type LilnetOutputName = (typeof LILNET_OUTPUT_NAMES)[number];

export const RESNET_OUTPUT_NAMES = ['logits'] as const;

/** Feature maps that either architecture can expose as extra outputs. */
export const FEATURE_OUTPUT_NAMES = ['layer3_features', 'layer4_features'] as const;
export type FeatureOutputName = (typeof FEATURE_OUTPUT_NAMES)[number];

/** Inputs of a custom output: the recorder, the model's parameters and its inner values. */
export interface OutputContext {
  ops: OnnxOps;
  parameters: ParameterLookup<OnnxValue>;
  images: OnnxValue;
  /** `[batch, C3, S3, S3]`, the output of layer3 (unmasked). */
  layer3Features: OnnxValue;
  /** `[batch, C4, S4, S4]`, the output of layer4 (unmasked), the input of every layer-4 head. */
  layer4Features: OnnxValue;
  /** The architecture's standard outputs by name. */
  outputs: Record<string, OnnxValue>;
}

export type CustomOutput = (context: OutputContext) => OnnxValue;

export interface ModelExportOptions {
  /** Weights by torchvision-style name, e.g. from {@link stateDictParameters}. */
  parameters: ParameterSource;
  /** Standard outputs to export, in order; all of the architecture's by default. */
  outputs?: readonly string[];
  /** Feature maps to add as outputs after the standard ones. */
  featureOutputs?: readonly FeatureOutputName[];
  /** Further outputs by name, computed from the model's values; added last, in key order. */
  customOutputs?: Record<string, CustomOutput>;
  /** Side of the square input the graph is traced with (224); only H and W of the trace, the batch stays dynamic. */
  imageSizePx?: number;
  /** Extra `metadata_props` entries. */
  metadata?: Record<string, string>;
}

/** Adapts a state dict (PyTorch or lilnet checkpoint) into float32 parameters, failing on a missing name. */
export function stateDictParameters(
  stateDict: ReadonlyMap<string, { shape: readonly number[]; data: ArrayLike<number | bigint> }>,
): ParameterSource {
  return (name) => {
    const entry = stateDict.get(name);
    if (!entry) {
      throw new LilnetError('CHECKPOINT_MISMATCH', `the checkpoint has no parameter ${name}`, {
        hint: 'use a checkpoint of the same architecture and number of classes',
      });
    }
    const data =
      entry.data instanceof Float32Array
        ? entry.data
        : Float32Array.from(entry.data as ArrayLike<number>, Number);
    return { data, shape: entry.shape };
  };
}

/** Runs the trunk again up to layer4; the recorder merges these calls with the forward pass already recorded. */
function trunkFeatures(
  ops: OnnxOps,
  p: ParameterLookup<OnnxValue>,
  trunk: ResNetTrunkConfig,
  images: OnnxValue,
): { layer3Features: OnnxValue; layer4Features: OnnxValue } {
  let x = resnetStem(ops, p, images, false);
  x = resnetStage(ops, p, trunk, 1, x, false);
  x = resnetStage(ops, p, trunk, 2, x, false);
  const layer3Features = resnetStage(ops, p, trunk, 3, x, false);
  const layer4Features = resnetStage(ops, p, trunk, 4, layer3Features, false);
  return { layer3Features, layer4Features };
}

function exportClassifier(
  graphName: string,
  standardOutputs: readonly string[],
  trunk: ResNetTrunkConfig,
  forward: (ops: OnnxOps, p: ParameterLookup<OnnxValue>, images: OnnxValue) => Record<string, OnnxValue>,
  options: ModelExportOptions,
  metadata: Record<string, string>,
): OnnxExport {
  const selected = options.outputs ?? standardOutputs;
  for (const name of selected) {
    if (!standardOutputs.includes(name)) {
      throw new LilnetError('INVALID_ARGUMENT', `${graphName} has no output ${name}`, {
        hint: `choose among ${standardOutputs.join(', ')}`,
      });
    }
  }
  const featureOutputs = options.featureOutputs ?? [];
  const customOutputs = options.customOutputs ?? {};
  const side = options.imageSizePx ?? 224;

  return exportOnnx({
    graphName,
    inputs: [{ name: ONNX_INPUT_NAME, shape: [1, 3, side, side] }],
    outputs: [...selected, ...featureOutputs, ...Object.keys(customOutputs)],
    parameters: options.parameters,
    modelInfo: { metadata: { ...metadata, ...options.metadata } },
    forward: (ops, [images], p) => {
      const outputs = forward(ops, p, images);
      const all: Record<string, OnnxValue> = { ...outputs };
      if (featureOutputs.length > 0 || Object.keys(customOutputs).length > 0) {
        const features = trunkFeatures(ops, p, trunk, images);
        all.layer3_features = features.layer3Features;
        all.layer4_features = features.layer4Features;
        for (const [name, build] of Object.entries(customOutputs)) {
          all[name] = build({ ops, parameters: p, images, ...features, outputs });
        }
      }
      return all;
    },
  });
}

/** Exports LiLNet in eval mode; see the file header for the graph's inputs and outputs. */
export function exportLilnetOnnx(config: LilnetConfig, options: ModelExportOptions): OnnxExport {
  return exportClassifier(
    'lilnet',
    LILNET_OUTPUT_NAMES,
    config.trunk,
    (ops, p, images) => {
      const out = lilnetForward(ops, p, config, images, { training: false });
      return {
        aggregated_logits: out.aggregated,
        single_logits: out.single,
        self_distillation_logits: out.selfDistillation,
        layer4_joint_logits: out.layer4Joint,
        layer3_joint_logits: out.layer3Joint,
      };
    },
    options,
    modelMetadata('lilnet', config.numClasses, config.trunk),
  );
}

/** Exports the plain ResNet classifier (`logits`) in eval mode. */
export function exportResnetClassifierOnnx(
  config: ResNetClassifierConfig,
  options: ModelExportOptions,
): OnnxExport {
  return exportClassifier(
    'resnet',
    RESNET_OUTPUT_NAMES,
    config.trunk,
    (ops, p, images) => ({ logits: resnetClassifierForward(ops, p, config, images, { training: false }) }),
    options,
    modelMetadata('resnet50', config.numClasses, config.trunk),
  );
}

/** `metadata_props` that let `lilnet predict` read the architecture of an exported file. */
function modelMetadata(
  architecture: string,
  numClasses: number,
  trunk: ResNetTrunkConfig,
): Record<string, string> {
  return {
    'lilnet.architecture': architecture,
    'lilnet.num_classes': String(numClasses),
    'lilnet.trunk': JSON.stringify(trunk),
  };
}
