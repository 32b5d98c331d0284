/**
 * Receiver operating characteristic analysis of one binary problem (one class against the rest): the area
 * under the curve, the curve's points and the Youden-optimal threshold.
 *
 * The AUC is the Mann-Whitney form: the probability that a random positive scores above a random negative, ties
 * counting one half. It equals the trapezoidal area under the empirical ROC curve. Cases carry weights so that
 * a bootstrap resample can be scored as a count per case without copying the data.
 */

/** Cases sorted by score once, so that the AUC of any weighting costs one linear pass. */
export interface RocIndex {
  /** Case indices in ascending score order. */
  order: Int32Array;
  /** Start offsets into `order` of each run of equal scores, followed by `order.length`. */
  tieGroupStarts: Int32Array;
  positive: Uint8Array;
}

export function buildRocIndex(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): RocIndex {
  const count = scores.length;
  const order = Int32Array.from({ length: count }, (_, index) => index);
  order.sort((a, b) => scores[a] - scores[b]);
  const starts: number[] = [];
  for (let rank = 0; rank < count; rank += 1) {
    if (rank === 0 || scores[order[rank]] !== scores[order[rank - 1]]) starts.push(rank);
  }
  starts.push(count);
  const flags = Uint8Array.from({ length: count }, (_, index) => (positive[index] ? 1 : 0));
  return { order, tieGroupStarts: Int32Array.from(starts), positive: flags };
}

/**
 * Returns the ROC AUC of the indexed cases under the given case weights (all 1 when omitted), or null when the
 * weighted cases contain no positive or no negative, because the AUC is then undefined.
 */
export function aucFromIndex(index: RocIndex, weights?: ArrayLike<number>): number | null {
  const { order, tieGroupStarts, positive } = index;
  let negativesBelow = 0;
  let concordant = 0;
  let totalPositive = 0;
  for (let group = 0; group + 1 < tieGroupStarts.length; group += 1) {
    let groupPositive = 0;
    let groupNegative = 0;
    for (let rank = tieGroupStarts[group]; rank < tieGroupStarts[group + 1]; rank += 1) {
      const caseIndex = order[rank];
      const weight = weights === undefined ? 1 : weights[caseIndex];
      if (positive[caseIndex]) groupPositive += weight;
      else groupNegative += weight;
    }
    concordant += groupPositive * (negativesBelow + 0.5 * groupNegative);
    negativesBelow += groupNegative;
    totalPositive += groupPositive;
  }
  if (totalPositive === 0 || negativesBelow === 0) return null;
  return concordant / (totalPositive * negativesBelow);
}

/** Returns the ROC AUC of scores against binary labels, or null when one of the two groups is empty. */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number | null {
  return aucFromIndex(buildRocIndex(scores, positive));
}

export interface RocPoint {
  /** False-positive rate, 1 - specificity. */
  fpr: number;
  /** True-positive rate, sensitivity. */
  tpr: number;
  /**
   * Cases scoring at or above this value are called positive. Null for the first point (0, 0), which stands for
   * a threshold above every score.
   */
  threshold: number | null;
}

/**
 * Computes the empirical ROC curve: one point per distinct score, from the highest threshold down, with
 * collinear intermediate points dropped (the points scikit-learn's `roc_curve` returns by default). Returns an
 * empty list when positives or negatives are missing.
 */
export function rocCurve(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): RocPoint[] {
  const count = scores.length;
  const order = Array.from({ length: count }, (_, index) => index).sort((a, b) => scores[b] - scores[a]);
  const thresholds: number[] = [];
  const truePositives: number[] = [];
  const falsePositives: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let rank = 0; rank < count; rank += 1) {
    const caseIndex = order[rank];
    if (positive[caseIndex]) tp += 1;
    else fp += 1;
    const last = rank === count - 1 || scores[order[rank + 1]] !== scores[caseIndex];
    if (last) {
      thresholds.push(scores[caseIndex]);
      truePositives.push(tp);
      falsePositives.push(fp);
    }
  }
  if (tp === 0 || fp === 0) return [];

  const kept: number[] = [];
  for (let point = 0; point < thresholds.length; point += 1) {
    const interior = point > 0 && point < thresholds.length - 1;
    const collinear =
      interior &&
      falsePositives[point + 1] - 2 * falsePositives[point] + falsePositives[point - 1] === 0 &&
      truePositives[point + 1] - 2 * truePositives[point] + truePositives[point - 1] === 0;
    if (!collinear) kept.push(point);
  }
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: null }];
  for (const point of kept) {
    points.push({
      fpr: falsePositives[point] / fp,
      tpr: truePositives[point] / tp,
      threshold: thresholds[point],
    });
  }
  return points;
}

export interface YoudenPoint {
  /** Cases scoring at or above this value are called positive. */
  threshold: number;
  sensitivity: number;
  specificity: number;
  /** Youden's J = sensitivity + specificity - 1. */
  youdenJ: number;
}

/**
 * Returns the ROC point that maximises Youden's J (the first, highest threshold on ties), or null when the curve
 * is empty or no finite threshold improves on J = 0.
 */
export function youdenPoint(curve: readonly RocPoint[]): YoudenPoint | null {
  let best: RocPoint | undefined;
  let bestJ = -Infinity;
  for (const point of curve) {
    const j = point.tpr - point.fpr;
    if (j > bestJ) {
      bestJ = j;
      best = point;
    }
  }
  if (best === undefined || best.threshold === null) return null;
  return { threshold: best.threshold, sensitivity: best.tpr, specificity: 1 - best.fpr, youdenJ: bestJ };
}

/**
 * Averages several ROC curves vertically on the union of their false-positive rates (linear interpolation of
 * each curve's sensitivity), the usual macro-average curve for one-vs-rest ROC plots.
 */
export function macroAverageCurve(curves: readonly (readonly RocPoint[])[]): { fpr: number; tpr: number }[] {
  const usable = curves.filter((curve) => curve.length > 0);
  if (usable.length === 0) return [];
  const grid = [...new Set(usable.flatMap((curve) => curve.map((point) => point.fpr)))].sort((a, b) => a - b);
  return grid.map((fpr) => {
    let sum = 0;
    for (const curve of usable) sum += interpolateTpr(curve, fpr);
    return { fpr, tpr: sum / usable.length };
  });
}

/** Interpolates a curve's sensitivity at `fpr`, taking the highest one where the curve rises vertically. */
function interpolateTpr(curve: readonly RocPoint[], fpr: number): number {
  let result = 0;
  for (let point = 0; point < curve.length; point += 1) {
    const current = curve[point];
    if (current.fpr === fpr) result = Math.max(result, current.tpr);
    if (point > 0) {
      const previous = curve[point - 1];
      if (previous.fpr < fpr && fpr < current.fpr) {
        const share = (fpr - previous.fpr) / (current.fpr - previous.fpr);
        result = Math.max(result, previous.tpr + share * (current.tpr - previous.tpr));
      }
    }
  }
  return result;
}
