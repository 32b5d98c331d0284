/**
 * Patient-level aggregation of per-image model outputs: the per-class mean of the logits (the LiLNet
 * authors' way), or the mean of the softmax probabilities, followed by the argmax.
 */

export type Aggregation = 'mean-logits' | 'mean-probabilities';

export const AGGREGATIONS: readonly Aggregation[] = ['mean-logits', 'mean-probabilities'];

/** Returns the softmax of one row of logits, computed stably by subtracting the maximum first. */
export function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((value) => Math.exp(value - max));
  const sum = exps.reduce((total, value) => total + value, 0);
  return exps.map((value) => value / sum);
}

/** Returns the index of the largest value; ties go to the lowest index, as numpy's argmax does. */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let index = 1; index < values.length; index += 1) {
    if (values[index] > values[best]) best = index;
  }
  return best;
}

/** Averages the rows of one patient's per-image logits into one score row. */
export function aggregateImages(
  imageLogits: readonly (readonly number[])[],
  aggregation: Aggregation,
): number[] {
  const classCount = imageLogits[0].length;
  const sums = new Array<number>(classCount).fill(0);
  for (const logits of imageLogits) {
    const row = aggregation === 'mean-logits' ? logits : softmax(logits);
    for (let k = 0; k < classCount; k += 1) sums[k] += row[k];
  }
  const count = imageLogits.length;
  return sums.map((sum, k) => {
    if (Number.isFinite(sum)) return sum / count;
    // The sum of finite logits near the float64 maximum can overflow although their mean cannot.
    let mean = 0;
    for (const logits of imageLogits) mean += logits[k] / count;
    return mean;
  });
}
