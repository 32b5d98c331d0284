/**
 * Class-activation maps (CAM) of LiLNet's aggregated prediction, written over `Ops<T>` so that they export as
 * an extra ONNX output next to the logits.
 *
 * lilnet uses CAM with the fully connected weights of the aggregated head, not Grad-CAM: the layer-4 head is
 * linear after global average pooling, so each logit splits exactly into per-position contributions and no
 * gradient (which ONNX Runtime cannot give) is needed. For the aggregated logit of class c,
 *
 *   ag4[c] = (1/10) * sum over v of fc.W[5c+v] . (fc_ens.W . mean_hw(F * M_v) + fc_ens.b) + fc.b[5c+v]
 *
 * where F is the layer-4 feature map, M_0 is all ones and M_1..M_4 are the four quadrant masks. Moving the mean
 * out of the linear maps gives the map
 *
 *   cam[c](h, w) = (1 / (10 * S * S)) * sum over v of M_v(h, w) * fc.W[5c+v] . fc_ens.W . F(:, h, w)
 *
 * whose sum over positions is ag4[c] minus its constant bias terms. The layer-3 head (the other half of the
 * aggregated logit) is left out: its 14 x 14 map would have to be mixed with the 7 x 7 one.
 */
import type { Ops, ParameterLookup } from '../nn/ops.ts';

/** Number of variants per image: the unmasked map and the four masked ones. */
export const MASK_VARIANTS = 5;

/**
 * Mask of variant `v` on an `S x S` map, row-major: variant 0 is all ones; variants 1 to 4 zero the top-left,
 * top-right, bottom-left and bottom-right block, split at `floor(S / 2)`.
 */
export function variantMask(variant: number, side: number): Float32Array {
  const mask = new Float32Array(side * side).fill(1);
  if (variant === 0) return mask;
  const half = Math.floor(side / 2);
  const quadrant = variant - 1;
  const rows: [number, number] = quadrant < 2 ? [0, half] : [half, side];
  const columns: [number, number] = quadrant % 2 === 0 ? [0, half] : [half, side];
  for (let y = rows[0]; y < rows[1]; y++)
    for (let x = columns[0]; x < columns[1]; x++) mask[y * side + x] = 0;
  return mask;
}

/** Applies a linear layer's weight `[out, in]` at every position of `[N, in, H, W]` as a 1x1 convolution. */
function pointwise<T>(ops: Ops<T>, x: T, weight: T): T {
  const [outFeatures, inFeatures] = ops.shape(weight);
  return ops.conv2d(x, ops.reshape(weight, [outFeatures, inFeatures, 1, 1]), null);
}

/**
 * CAM of the LiLNet aggregated layer-4 head: `[N, K, S, S]` from the layer-4 feature map `[N, C, S, S]` and the
 * parameters `fc_ens.weight` `[hidden, C]` and `fc.weight` `[5K, hidden]`.
 */
export function lilnetCam<T>(ops: Ops<T>, layer4: T, parameters: ParameterLookup<T>): T {
  const side = ops.shape(layer4)[2];
  const joint = pointwise(ops, pointwise(ops, layer4, parameters('fc_ens.weight')), parameters('fc.weight'));
  const jointWidth = ops.shape(joint)[1];
  const classCount = jointWidth / MASK_VARIANTS;
  const masks = Array.from({ length: MASK_VARIANTS }, (_, v) =>
    ops.constant(variantMask(v, side), [1, 1, side, side], `cam_mask_${v}`),
  );
  const perClass: T[] = [];
  for (let c = 0; c < classCount; c++) {
    let sum: T | null = null;
    for (let v = 0; v < MASK_VARIANTS; v++) {
      const column = MASK_VARIANTS * c + v;
      const term = ops.mul(ops.slice(joint, 1, column, column + 1), masks[v]);
      sum = sum === null ? term : ops.add(sum, term);
    }
    perClass.push(sum!);
  }
  return ops.mulScalar(ops.concat(perClass, 1), 1 / (2 * MASK_VARIANTS * side * side));
}

/** CAM of a plain ResNet head (`fc.weight` `[K, C]` after global average pooling): `[N, K, S, S]`. */
export function resnetCam<T>(ops: Ops<T>, layer4: T, parameters: ParameterLookup<T>): T {
  const side = ops.shape(layer4)[2];
  return ops.mulScalar(pointwise(ops, layer4, parameters('fc.weight')), 1 / (side * side));
}
