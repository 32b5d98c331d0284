/**
 * Detection metrics. A prediction is a true positive when its IoU with a ground-truth box that no
 * higher-scoring prediction has taken reaches the IoU threshold; each ground-truth box is matched at most once.
 * Predictions are taken per image in order of decreasing score, and each takes the unmatched truth box of
 * highest IoU.
 */
import { boxIou, type Box } from './box.ts';

export interface TruthBox extends Box {
  /** Lesion type, e.g. `HCC`; absent when the dataset gives none. */
  lesionType?: string;
}

export interface PredictedBox extends Box {
  score: number;
}

/** The boxes of one image. Coordinates may be pixels or normalised, but the same for truth and predictions. */
export interface EvaluationImage {
  name: string;
  truth: TruthBox[];
  predictions: PredictedBox[];
}

export interface DetectionCounts {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** null when there is no prediction. */
  precision: number | null;
  /** null when there is no truth box. */
  recall: number | null;
  /** null when precision or recall is null. */
  f1: number | null;
}

export interface ThresholdResult extends DetectionCounts {
  iouThreshold: number;
  /**
   * Per lesion type: recall over that type's truth boxes; precision over the predictions on the images that
   * hold a box of that type, where a prediction matched to a box of another type counts for neither.
   */
  byLesionType: Record<string, DetectionCounts>;
}

export interface PrecisionRecallPoint {
  score: number;
  precision: number;
  recall: number;
}

export interface DetectionEvaluation {
  imageCount: number;
  truthCount: number;
  predictionCount: number;
  /** Predictions below this score were ignored for precision, recall and F1 (AP uses every prediction). */
  confidenceThreshold: number;
  thresholds: ThresholdResult[];
  /** Average precision at IoU 0.5: area under the interpolated precision envelope over every prediction. */
  averagePrecision50: number | null;
  /** The precision-recall curve at IoU 0.5, one point per prediction in order of decreasing score. */
  precisionRecallCurve: PrecisionRecallPoint[];
}

/**
 * Matches the predictions of one image to its truth boxes. Returns, for each prediction in the given order,
 * the index of the matched truth box or -1.
 */
export function matchImage(
  truth: readonly Box[],
  predictions: readonly PredictedBox[],
  iouThreshold: number,
): number[] {
  const order = predictions
    .map((_, index) => index)
    .sort((a, b) => predictions[b].score - predictions[a].score || a - b);
  const taken = new Array<boolean>(truth.length).fill(false);
  const matches = new Array<number>(predictions.length).fill(-1);
  for (const index of order) {
    let bestTruth = -1;
    let bestIou = iouThreshold;
    for (let truthIndex = 0; truthIndex < truth.length; truthIndex++) {
      if (taken[truthIndex]) continue;
      const iou = boxIou(predictions[index], truth[truthIndex]);
      if (iou >= bestIou && (bestTruth < 0 || iou > bestIou)) {
        bestIou = iou;
        bestTruth = truthIndex;
      }
    }
    if (bestTruth >= 0) {
      taken[bestTruth] = true;
      matches[index] = bestTruth;
    }
  }
  return matches;
}

function countsFrom(truePositives: number, falsePositives: number, falseNegatives: number): DetectionCounts {
  const predicted = truePositives + falsePositives;
  const actual = truePositives + falseNegatives;
  const precision = predicted > 0 ? truePositives / predicted : null;
  const recall = actual > 0 ? truePositives / actual : null;
  let f1: number | null = null;
  if (precision !== null && recall !== null)
    f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { truePositives, falsePositives, falseNegatives, precision, recall, f1 };
}

function evaluateAtThreshold(images: readonly EvaluationImage[], iouThreshold: number): ThresholdResult {
  let truePositives = 0;
  let falsePositives = 0;
  let falseNegatives = 0;
  const perType = new Map<string, { tp: number; fp: number; fn: number }>();
  const typeCounts = (lesionType: string): { tp: number; fp: number; fn: number } => {
    let counts = perType.get(lesionType);
    if (!counts) {
      counts = { tp: 0, fp: 0, fn: 0 };
      perType.set(lesionType, counts);
    }
    return counts;
  };

  for (const image of images) {
    const matches = matchImage(image.truth, image.predictions, iouThreshold);
    const matchedTruth = new Set(matches.filter((index) => index >= 0));
    const imageTruePositives = matchedTruth.size;
    const imageFalsePositives = matches.length - imageTruePositives;
    truePositives += imageTruePositives;
    falsePositives += imageFalsePositives;
    falseNegatives += image.truth.length - imageTruePositives;

    const typesHere = new Set(image.truth.flatMap((box) => (box.lesionType ? [box.lesionType] : [])));
    for (const lesionType of typesHere) {
      const counts = typeCounts(lesionType);
      counts.fp += imageFalsePositives;
      image.truth.forEach((box, truthIndex) => {
        if (box.lesionType !== lesionType) return;
        if (matchedTruth.has(truthIndex)) counts.tp += 1;
        else counts.fn += 1;
      });
    }
  }

  const byLesionType: Record<string, DetectionCounts> = {};
  for (const lesionType of [...perType.keys()].sort()) {
    const counts = perType.get(lesionType)!;
    byLesionType[lesionType] = countsFrom(counts.tp, counts.fp, counts.fn);
  }
  return { iouThreshold, ...countsFrom(truePositives, falsePositives, falseNegatives), byLesionType };
}

/**
 * Builds the precision-recall curve at one IoU threshold over every prediction of every image, and its average
 * precision by all-point interpolation (the precision at each recall is the best precision at that recall or
 * beyond, as in PASCAL VOC from 2010 and COCO without its 101-point sampling).
 */
export function precisionRecallCurve(
  images: readonly EvaluationImage[],
  iouThreshold: number,
): { curve: PrecisionRecallPoint[]; averagePrecision: number | null } {
  const scored: { score: number; truePositive: boolean }[] = [];
  let truthCount = 0;
  for (const image of images) {
    truthCount += image.truth.length;
    const matches = matchImage(image.truth, image.predictions, iouThreshold);
    image.predictions.forEach((prediction, index) =>
      scored.push({ score: prediction.score, truePositive: matches[index] >= 0 }),
    );
  }
  if (truthCount === 0) return { curve: [], averagePrecision: null };
  scored.sort((a, b) => b.score - a.score);

  const curve: PrecisionRecallPoint[] = [];
  let truePositives = 0;
  for (let index = 0; index < scored.length; index++) {
    if (scored[index].truePositive) truePositives += 1;
    curve.push({
      score: scored[index].score,
      precision: truePositives / (index + 1),
      recall: truePositives / truthCount,
    });
  }

  let averagePrecision = 0;
  let envelope = 0;
  for (let index = curve.length - 1; index >= 0; index--) {
    envelope = Math.max(envelope, curve[index].precision);
    const previousRecall = index > 0 ? curve[index - 1].recall : 0;
    averagePrecision += (curve[index].recall - previousRecall) * envelope;
  }
  return { curve, averagePrecision };
}

export interface EvaluateOptions {
  iouThresholds?: readonly number[];
  /** Predictions below this score are dropped before precision, recall and F1 (default 0: keep all). */
  confidenceThreshold?: number;
}

export const DEFAULT_EVALUATION_IOU_THRESHOLDS: readonly number[] = [0.1, 0.3, 0.5];

export function evaluateDetections(
  images: readonly EvaluationImage[],
  options: EvaluateOptions = {},
): DetectionEvaluation {
  const iouThresholds = options.iouThresholds ?? DEFAULT_EVALUATION_IOU_THRESHOLDS;
  const confidenceThreshold = options.confidenceThreshold ?? 0;
  const kept = images.map((image) => ({
    ...image,
    predictions: image.predictions.filter((prediction) => prediction.score >= confidenceThreshold),
  }));
  const { curve, averagePrecision } = precisionRecallCurve(images, 0.5);
  return {
    imageCount: images.length,
    truthCount: images.reduce((sum, image) => sum + image.truth.length, 0),
    predictionCount: kept.reduce((sum, image) => sum + image.predictions.length, 0),
    confidenceThreshold,
    thresholds: iouThresholds.map((threshold) => evaluateAtThreshold(kept, threshold)),
    averagePrecision50: averagePrecision,
    precisionRecallCurve: curve,
  };
}
