/**
 * Training loss of lilnet's detector, written over `Ops<T>` only:
 * - class: binary cross-entropy of every anchor's lesion logit against 1 for positives and 0 for background,
 *   summed and divided by the number of positives (as YOLOv8 normalises it);
 * - box: L1 distance between predicted and target side distances, each side divided by the target box size
 *   along its axis so that small and large lesions weigh alike;
 * - distribution focal loss on the side-distance bins (cross-entropy against the two bins around the target).
 * `|x|` is written `relu(x) + relu(-x)` and log-sigmoid as a two-way log-softmax, because `Ops` has neither.
 */
import type { Ops } from '../nn/ops.ts';
import type { AnchorTargets } from './assign.ts';
import type { Box } from './box.ts';

export const LOSS_WEIGHTS = { class: 1, box: 5, distribution: 1 };

export interface DetectorLossTerms<T> {
  total: T;
  classLoss: T;
  boxLoss: T;
  distributionLoss: T;
}

/**
 * Builds the loss of a batch. `targets[i]` and `boxes[i]` belong to image `i`; boxes are in input pixels and
 * `strides` gives each anchor's stride.
 */
export function detectorLoss<T>(
  ops: Ops<T>,
  prediction: { distanceLogits: T; distances: T; classLogits: T },
  targets: readonly AnchorTargets[],
  boxes: readonly (readonly Box[])[],
  strides: Float32Array,
  regMax: number,
): DetectorLossTerms<T> {
  const batch = targets.length;
  const anchors = strides.length;
  const positives = Math.max(
    1,
    targets.reduce((sum, target) => sum + target.positiveCount, 0),
  );

  // Class loss: -(y log sigmoid(x) + (1 - y) log sigmoid(-x)) with log-softmax over the pair [0, x].
  const classWeights = new Float32Array(batch * 2 * anchors);
  const sideWeights = new Float32Array(batch * 4 * anchors);
  const targetDistances = new Float32Array(batch * 4 * anchors);
  const binWeights = new Float32Array(batch * 4 * regMax * anchors);
  targets.forEach((target, image) => {
    for (let anchor = 0; anchor < anchors; anchor++) {
      const boxIndex = target.assigned[anchor];
      const isPositive = boxIndex >= 0;
      classWeights[(image * 2 + 0) * anchors + anchor] = isPositive ? 0 : 1;
      classWeights[(image * 2 + 1) * anchors + anchor] = isPositive ? 1 : 0;
      if (!isPositive) continue;
      const box = boxes[image][boxIndex];
      const stride = strides[anchor];
      const widthStrides = Math.max((box.x2 - box.x1) / stride, 1);
      const heightStrides = Math.max((box.y2 - box.y1) / stride, 1);
      for (let side = 0; side < 4; side++) {
        const distance = target.distances[side * anchors + anchor];
        const index = (image * 4 + side) * anchors + anchor;
        targetDistances[index] = distance;
        sideWeights[index] = 1 / (side % 2 === 0 ? widthStrides : heightStrides);
        const lower = Math.min(Math.floor(distance), regMax - 2);
        const upperWeight = distance - lower;
        binWeights[((image * 4 + side) * regMax + lower) * anchors + anchor] = 1 - upperWeight;
        binWeights[((image * 4 + side) * regMax + lower + 1) * anchors + anchor] = upperWeight;
      }
    }
  });

  const zeros = ops.constant(new Float32Array(batch * anchors), [batch, 1, anchors], 'zeros');
  const pairLogSigmoid = ops.logSoftmax(ops.concat([zeros, prediction.classLogits], 1), 1);
  const classSum = ops.sum(
    ops.mul(pairLogSigmoid, ops.constant(classWeights, [batch, 2, anchors], 'class_targets')),
    [0, 1, 2],
  );
  const classLoss = ops.mulScalar(classSum, -1 / positives);

  const difference = ops.sub(
    prediction.distances,
    ops.constant(targetDistances, [batch, 4, anchors], 'distance_targets'),
  );
  const absolute = ops.add(ops.relu(difference), ops.relu(ops.mulScalar(difference, -1)));
  const boxSum = ops.sum(
    ops.mul(absolute, ops.constant(sideWeights, [batch, 4, anchors], 'side_weights')),
    [0, 1, 2],
  );
  const boxLoss = ops.mulScalar(boxSum, 1 / (4 * positives));

  const logBins = ops.logSoftmax(prediction.distanceLogits, 2);
  const binSum = ops.sum(
    ops.mul(logBins, ops.constant(binWeights, [batch, 4, regMax, anchors], 'bin_targets')),
    [0, 1, 2, 3],
  );
  const distributionLoss = ops.mulScalar(binSum, -1 / (4 * positives));

  const total = ops.add(
    ops.add(ops.mulScalar(classLoss, LOSS_WEIGHTS.class), ops.mulScalar(boxLoss, LOSS_WEIGHTS.box)),
    ops.mulScalar(distributionLoss, LOSS_WEIGHTS.distribution),
  );
  return { total, classLoss, boxLoss, distributionLoss };
}
