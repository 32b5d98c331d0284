/** Export of a lilnet detector checkpoint to ONNX, with Ultralytics' tensor names (`images` in, `output0` out). */
import { exportOnnx } from '../backends/onnx/export.ts';
import { LilnetError } from '../errors.ts';
import { detectorForward, detectorParameterSpecs } from '../nn/detector.ts';
import type { DetectorCheckpoint } from './detector-checkpoint.ts';

export const DETECTOR_INPUT_NAME = 'images';
export const DETECTOR_OUTPUT_NAME = 'output0';

export function exportDetectorOnnx(checkpoint: DetectorCheckpoint): Uint8Array {
  const byName = new Map(checkpoint.parameters.map((tensor) => [tensor.name, tensor]));
  for (const spec of detectorParameterSpecs(checkpoint.config)) {
    const tensor = byName.get(spec.name);
    if (!tensor || tensor.shape.join('x') !== spec.shape.join('x')) {
      throw new LilnetError(
        'DETECTOR_MODEL_INVALID',
        `detector checkpoint lacks ${spec.name} of shape [${spec.shape.join(', ')}]`,
        {
          hint: 'the checkpoint was written by another detector configuration or is damaged; retrain or re-download it',
        },
      );
    }
  }
  const size = checkpoint.config.inputSize;
  const exported = exportOnnx({
    graphName: 'lilnet_detector',
    inputs: [{ name: DETECTOR_INPUT_NAME, shape: [1, 3, size, size] }],
    forward: (ops, [input], parameters) => ({
      [DETECTOR_OUTPUT_NAME]: detectorForward(ops, parameters, input, checkpoint.config, { training: false })
        .output,
    }),
    outputs: [DETECTOR_OUTPUT_NAME],
    parameters: (name) => {
      const tensor = byName.get(name);
      if (!tensor) throw new LilnetError('INTERNAL', `detector export looked up unknown parameter ${name}`);
      return tensor;
    },
    modelInfo: {
      docString:
        'lilnet lesion detector; output [batch, 5, anchors]: cx, cy, w, h in input pixels, lesion score',
      metadata: { imgsz: `[${size}, ${size}]`, names: "{0: 'lesion'}", task: 'detect', stride: '32' },
    },
  });
  return exported.bytes;
}
