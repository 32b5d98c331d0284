/**
 * Patient-level percentile bootstrap: draw the patients with replacement `resamples` times, score every
 * resample, and take the 2.5th and 97.5th percentiles of each metric over the resamples where it is defined.
 * A resample is passed to the scoring function as a count per patient, so no data are copied.
 */
import { SeededRandom } from './random.ts';

export interface BootstrapOptions {
  resamples: number;
  seed: number;
}

export interface ConfidenceInterval {
  lower: number;
  upper: number;
  /** Resamples in which the metric was defined (an AUC is undefined when a resample lacks a class). */
  resamplesUsed: number;
}

/**
 * Returns the q-quantile of ascending `sorted` values with linear interpolation between order statistics
 * (numpy's default `linear` method).
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

/**
 * Runs the bootstrap over `caseCount` cases; `score` maps per-case counts to named metric values (null where
 * undefined). Returns a 95% interval per metric name, or null for a metric defined in no resample.
 */
export function bootstrapIntervals(
  caseCount: number,
  options: BootstrapOptions,
  score: (weights: Float64Array) => Map<string, number | null>,
): Map<string, ConfidenceInterval | null> {
  const random = new SeededRandom(options.seed);
  const weights = new Float64Array(caseCount);
  const samples = new Map<string, number[]>();

  for (let resample = 0; resample < options.resamples; resample += 1) {
    weights.fill(0);
    for (let draw = 0; draw < caseCount; draw += 1) weights[random.nextInt(caseCount)] += 1;
    for (const [name, value] of score(weights)) {
      let list = samples.get(name);
      if (list === undefined) {
        list = [];
        samples.set(name, list);
      }
      if (value !== null && Number.isFinite(value)) list.push(value);
    }
  }

  const intervals = new Map<string, ConfidenceInterval | null>();
  for (const [name, values] of samples) {
    if (values.length === 0) {
      intervals.set(name, null);
      continue;
    }
    const sorted = Float64Array.from(values).sort();
    intervals.set(name, {
      lower: quantileSorted(sorted, 0.025),
      upper: quantileSorted(sorted, 0.975),
      resamplesUsed: values.length,
    });
  }
  return intervals;
}
