/**
 * The classification stage. Every box of every lesion becomes one crop, and the benign/malignant model and
 * both subtype models score every crop. Each lesion, and the patient, is then scored by the mean of its crops'
 * logits.
 *
 * Both subtype models run on every crop, not only the one of the predicted branch, so that the six-class
 * distribution is complete; the call still comes from the predicted branch (see probabilities.ts).
 */
import type { Box } from '../detect/box.ts';
import type { DisplayWindow, Series } from '../imaging/volume.ts';
import { imageToModelInput } from '../nn/preprocess.ts';
import { cropRegion, extractRegion, CLASSIFIER_INPUT_SIZE_PX } from './crop.ts';
import type { MatchedLesion } from './match-phases.ts';
import type { ClassifierResult, OnnxClassifier } from './onnx-models.ts';
import { sliceToGrey } from './slice-grey.ts';
import type { CropSettings, ModelRole } from './report-types.ts';

/** One crop given to the classifiers. */
export interface CropRecord {
  lesionIndex: number;
  series: Series;
  sliceIndex: number;
  box: Box;
  /** The square region cut from the slice, in slice pixels (may extend past the edges). */
  region: Box;
}

export type ClassifierRole = Exclude<ModelRole, 'detector'>;

export interface ClassifierOutputs {
  crops: CropRecord[];
  results: Partial<Record<ClassifierRole, ClassifierResult>>;
}

/** Lists the crops of every lesion: one per box, in lesion, phase and slice order. */
export function listCrops(lesions: readonly MatchedLesion[], settings: CropSettings): CropRecord[] {
  const crops: CropRecord[] = [];
  lesions.forEach((lesion, lesionIndex) => {
    for (const track of lesion.tracks) {
      const [columns, rows] = track.series.geometry.dimensions;
      for (const sliceBox of track.boxes) {
        crops.push({
          lesionIndex,
          series: track.series,
          sliceIndex: sliceBox.sliceIndex,
          box: sliceBox.box,
          region: cropRegion(sliceBox.box, columns, rows, settings.marginFraction, settings.minSidePx),
        });
      }
    }
  });
  return crops;
}

/**
 * Cuts the crops and prepares them as the authors' evaluation transform does (Pillow bilinear resize to the
 * input side, grey in three channels, `(x / 255 - 0.5) / 0.5`), into one `[N, 3, side, side]` array.
 */
export function buildCropTensor(
  crops: readonly CropRecord[],
  window: DisplayWindow | null,
  sidePx = CLASSIFIER_INPUT_SIZE_PX,
): Float32Array {
  const perImage = 3 * sidePx * sidePx;
  const tensor = new Float32Array(crops.length * perImage);
  // Slices are windowed once even when several lesions have boxes on them.
  const greyCache = new Map<string, Float32Array>();
  crops.forEach((crop, index) => {
    const key = `${crop.series.id}\u0000${crop.sliceIndex}`;
    let grey = greyCache.get(key);
    if (!grey) {
      grey = sliceToGrey(crop.series, crop.sliceIndex, window);
      greyCache.set(key, grey);
    }
    const [columns, rows] = crop.series.geometry.dimensions;
    const cut = extractRegion(grey, columns, rows, crop.region);
    const regionSide = crop.region.x2 - crop.region.x1;
    // Grey levels are whole numbers in [0, 255] already (windowed or stored 8-bit), so the copy is exact.
    const image = { width: regionSide, height: regionSide, channels: 1 as const, data: Uint8Array.from(cut) };
    imageToModelInput(image, sidePx, tensor, index * perImage);
  });
  return tensor;
}

/** Runs each available classifier on every crop; crops are prepared once per distinct model input side. */
export async function classifyCrops(
  crops: CropRecord[],
  classifiers: Partial<Record<ClassifierRole, OnnxClassifier>>,
  window: DisplayWindow | null,
): Promise<ClassifierOutputs> {
  const results: Partial<Record<ClassifierRole, ClassifierResult>> = {};
  if (crops.length === 0) return { crops, results };
  const tensors = new Map<number, Float32Array>();
  for (const role of ['benign-malignant', 'malignant-subtype', 'benign-subtype'] as const) {
    const classifier = classifiers[role];
    if (!classifier) continue;
    let tensor = tensors.get(classifier.inputSidePx);
    if (!tensor) {
      tensor = buildCropTensor(crops, window, classifier.inputSidePx);
      tensors.set(classifier.inputSidePx, tensor);
    }
    results[role] = await classifier.run(tensor, crops.length);
  }
  return { crops, results };
}

/** Returns the logit rows of the given crops from an `[N, K]` array. */
export function logitRows(
  result: ClassifierResult,
  classCount: number,
  cropIndices: readonly number[],
): number[][] {
  return cropIndices.map((i) => Array.from(result.logits.subarray(i * classCount, (i + 1) * classCount)));
}

/**
 * Returns the class-activation map of one crop and class, rectified and scaled to [0, 1] (all zeros when the
 * class has no positive evidence in the crop), or null when the model has no CAM output.
 */
export function normalisedCam(
  result: ClassifierResult,
  classCount: number,
  cropIndex: number,
  classIndex: number,
): Float32Array | null {
  if (!result.cam) return null;
  const size = result.camHeight * result.camWidth;
  const offset = (cropIndex * classCount + classIndex) * size;
  const map = Float32Array.from(result.cam.subarray(offset, offset + size), (v) => Math.max(0, v));
  const max = Math.max(...map);
  if (max > 0) for (let i = 0; i < size; i++) map[i] /= max;
  return map;
}
