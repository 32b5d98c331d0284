/** A hand-built ONNX detector in the YOLOv8 output layout, for tests that need known boxes. */
import { exportOnnx } from '../../src/backends/onnx/export.ts';

export const INPUT_SIZE = 64;
export const BOX_WIDTH = 12;
export const BOX_HEIGHT = 8;

/**
 * Builds an ONNX model in the YOLOv8 output layout whose anchors are the input pixels: each anchor's box is
 * centred on its pixel, 12 x 8 input pixels, and its score is the pixel's grey value. Bright pixels planted in
 * the input therefore come back as boxes around them.
 */
export function pixelAnchorModel(): Uint8Array {
  const anchors = INPUT_SIZE * INPUT_SIZE;
  const boxRows = new Float32Array(4 * anchors);
  for (let y = 0; y < INPUT_SIZE; y++) {
    for (let x = 0; x < INPUT_SIZE; x++) {
      const anchor = y * INPUT_SIZE + x;
      boxRows[anchor] = x + 0.5;
      boxRows[anchors + anchor] = y + 0.5;
      boxRows[2 * anchors + anchor] = BOX_WIDTH;
      boxRows[3 * anchors + anchor] = BOX_HEIGHT;
    }
  }
  return exportOnnx({
    graphName: 'pixel_anchor_detector',
    inputs: [{ name: 'images', shape: [1, 3, INPUT_SIZE, INPUT_SIZE] }],
    forward: (ops, [images]) => {
      const scores = ops.reshape(ops.slice(images, 1, 0, 1), [ops.shape(images)[0], 1, anchors]);
      // Adding 0 x score keeps the box rows tied to the batch dimension of the input.
      const boxes = ops.add(
        ops.constant(boxRows, [1, 4, anchors], 'box_rows'),
        ops.mulScalar(ops.concat([scores, scores, scores, scores], 1), 0),
      );
      return { output0: ops.concat([boxes, scores], 1) };
    },
    outputs: ['output0'],
    parameters: () => {
      throw new Error('the model has no parameters');
    },
  }).bytes;
}
