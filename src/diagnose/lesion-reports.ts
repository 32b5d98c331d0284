/**
 * Per-lesion and per-patient results: classification from the crops' logits, key slices, sizes and the overlay
 * PNGs (boxes on the key slice of each phase, and the class-activation heatmap of the call over the crop).
 */
import { basename, join } from 'node:path';
import { boxArea } from '../detect/box.ts';
import type { DisplayWindow, Series } from '../imaging/volume.ts';
import { logitRows, normalisedCam, type ClassifierOutputs, type ClassifierRole } from './classify-stage.ts';
import { trackCentreMm, type MatchedLesion } from './match-phases.ts';
import { blendHeatmap, drawBox, encodePng, greyToRgb, lesionColour } from './overlay.ts';
import { composeClassification, concatLogits, summariseLogits, type CropLogits } from './probabilities.ts';
import {
  BENIGN_SUBTYPES,
  MALIGNANT_SUBTYPES,
  type Classification,
  type LesionPhase,
  type LesionReport,
} from './report-types.ts';
import { sliceToGrey } from './slice-grey.ts';

const CLASS_NAMES: Record<ClassifierRole, string[]> = {
  'benign-malignant': ['benign', 'malignant'],
  'malignant-subtype': [...MALIGNANT_SUBTYPES],
  'benign-subtype': [...BENIGN_SUBTYPES],
};

/** Returns the crop logits of each classifier for a subset of crops. */
export function cropLogitsOf(
  outputs: ClassifierOutputs,
  cropIndices: readonly number[],
): Partial<Record<ClassifierRole, CropLogits>> {
  const sets: Partial<Record<ClassifierRole, CropLogits>> = {};
  for (const role of Object.keys(outputs.results) as ClassifierRole[]) {
    const result = outputs.results[role]!;
    const classes = CLASS_NAMES[role];
    sets[role] = { role, classes, rows: logitRows(result, classes.length, cropIndices) };
  }
  return sets;
}

/** Composes the classification of a set of crop logits; null without benign/malignant logits or crops. */
export function classificationOf(
  sets: Partial<Record<ClassifierRole, CropLogits | null>>,
): Classification | null {
  const bm = sets['benign-malignant'];
  if (!bm || bm.rows.length === 0) return null;
  const malignant = sets['malignant-subtype'];
  const benign = sets['benign-subtype'];
  return composeClassification(
    summariseLogits(bm),
    malignant && malignant.rows.length > 0 ? summariseLogits(malignant) : null,
    benign && benign.rows.length > 0 ? summariseLogits(benign) : null,
  );
}

/** Composes the patient's classification from the mean logits over every crop of every lesion. */
export function patientClassification(
  perLesion: Partial<Record<ClassifierRole, CropLogits>>[],
): Classification | null {
  const merged: Partial<Record<ClassifierRole, CropLogits | null>> = {};
  for (const role of ['benign-malignant', 'malignant-subtype', 'benign-subtype'] as const) {
    merged[role] = concatLogits(
      perLesion.map((sets) => sets[role]).filter((set): set is CropLogits => set !== undefined),
    );
  }
  return classificationOf(merged);
}

/** Returns the classifier and class whose map explains the call: the called subtype, else the branch. */
function camSource(classification: Classification): { role: ClassifierRole; classIndex: number } {
  if (classification.call) {
    const malignantIndex = (MALIGNANT_SUBTYPES as readonly string[]).indexOf(classification.call);
    if (malignantIndex >= 0) return { role: 'malignant-subtype', classIndex: malignantIndex };
    return {
      role: 'benign-subtype',
      classIndex: (BENIGN_SUBTYPES as readonly string[]).indexOf(classification.call),
    };
  }
  return { role: 'benign-malignant', classIndex: classification.branch === 'malignant' ? 1 : 0 };
}

export interface LesionReportInput {
  lesions: MatchedLesion[];
  outputs: ClassifierOutputs;
  outDir: string;
  /** Window for overlay slices; null for grey series. */
  window: DisplayWindow | null;
}

/**
 * Returns the file name of a slice, when each slice of the series has its own file. Slice indices count the
 * slices read, so a missing or unreadable file shifts them; the file name finds the slice in a viewer.
 */
function keySliceFileOf(series: Series, sliceIndex: number): { keySliceFile?: string } {
  if (series.sliceFiles.length !== series.geometry.dimensions[2]) return {};
  return { keySliceFile: basename(series.sliceFiles[sliceIndex]) };
}

/** Builds the lesion reports and writes their overlay PNGs under `<outDir>/overlays/`. */
export async function buildLesionReports(
  input: LesionReportInput,
): Promise<{ lesions: LesionReport[]; perLesionLogits: Partial<Record<ClassifierRole, CropLogits>>[] }> {
  const { lesions, outputs, outDir, window } = input;
  const reports: LesionReport[] = [];
  const perLesionLogits: Partial<Record<ClassifierRole, CropLogits>>[] = [];

  // Report order: highest detector confidence first, so L1 is the most certain finding.
  const order = lesions
    .map((lesion, index) => ({
      index,
      confidence: Math.max(...lesion.tracks.flatMap((t) => t.boxes.map((b) => b.confidence))),
    }))
    .sort((a, b) => b.confidence - a.confidence);

  for (let rank = 0; rank < order.length; rank++) {
    const lesionIndex = order[rank].index;
    const lesion = lesions[lesionIndex];
    const id = `L${rank + 1}`;
    const cropIndices = outputs.crops.flatMap((crop, i) => (crop.lesionIndex === lesionIndex ? [i] : []));
    const sets = cropLogitsOf(outputs, cropIndices);
    perLesionLogits.push(sets);
    const classification = classificationOf(sets);

    const phases: LesionPhase[] = [];
    for (const track of lesion.tracks) {
      // The key slice shows the most confident box (the larger one on a tie): on real CT a lesion's track can
      // pick up loose boxes of nearby structures, and the largest box is then often one of those.
      const key = track.boxes.reduce((best, b) =>
        b.confidence > best.confidence ||
        (b.confidence === best.confidence && boxArea(b.box) > boxArea(best.box))
          ? b
          : best,
      );
      const [columns, rows] = track.series.geometry.dimensions;
      const grey = sliceToGrey(track.series, key.sliceIndex, track.series.unit === 'HU' ? window : null);
      const base = `${id}-${track.series.phase}-z${String(key.sliceIndex).padStart(3, '0')}`;

      const boxesImage = greyToRgb(grey, columns, rows);
      lesions.forEach((other, otherIndex) => {
        const rankOfOther = order.findIndex((o) => o.index === otherIndex);
        for (const otherTrack of other.tracks) {
          if (otherTrack.series !== track.series) continue;
          for (const b of otherTrack.boxes)
            if (b.sliceIndex === key.sliceIndex) drawBox(boxesImage, b.box, lesionColour(rankOfOther));
        }
      });
      const boxesPath = `overlays/${base}-boxes.png`;
      await encodePng(boxesImage, join(outDir, boxesPath));
      const overlay: LesionPhase['overlays'][number] = {
        phase: track.series.phase,
        sliceIndex: key.sliceIndex,
        boxes: boxesPath,
      };

      if (classification) {
        const source = camSource(classification);
        const result = outputs.results[source.role];
        const cropIndex = cropIndices.find(
          (i) =>
            outputs.crops[i].series === track.series &&
            outputs.crops[i].sliceIndex === key.sliceIndex &&
            outputs.crops[i].box === key.box,
        );
        const cam =
          result && cropIndex !== undefined
            ? normalisedCam(result, CLASS_NAMES[source.role].length, cropIndex, source.classIndex)
            : null;
        if (cam && cropIndex !== undefined) {
          const heatImage = greyToRgb(grey, columns, rows);
          blendHeatmap(heatImage, cam, result!.camWidth, result!.camHeight, outputs.crops[cropIndex].region);
          drawBox(heatImage, key.box, lesionColour(rank), 1);
          overlay.heatmap = `overlays/${base}-cam.png`;
          await encodePng(heatImage, join(outDir, overlay.heatmap));
        }
      }

      const spacing = track.series.geometry.spacingMm;
      const keySidePx = Math.max(key.box.x2 - key.box.x1, key.box.y2 - key.box.y1);
      phases.push({
        phase: track.series.phase,
        seriesId: track.series.id,
        boxes: [...track.boxes].sort((a, b) => a.sliceIndex - b.sliceIndex),
        keySliceIndex: key.sliceIndex,
        ...keySliceFileOf(track.series, key.sliceIndex),
        centreMm: trackCentreMm(track),
        maxDiameterMm: track.series.geometry.spacingKnown
          ? Math.max((key.box.x2 - key.box.x1) * spacing[0], (key.box.y2 - key.box.y1) * spacing[1])
          : null,
        maxDiameterPx: keySidePx,
        cropCount: cropIndices.filter((i) => outputs.crops[i].series === track.series).length,
        overlays: [overlay],
      });
    }
    reports.push({ id, phases, matchedBy: lesion.matchedBy, classification, warnings: [] });
  }
  return { lesions: reports, perLesionLogits };
}
