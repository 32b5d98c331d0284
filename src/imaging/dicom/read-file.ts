/**
 * Reads one DICOM file into frames of modality values (Hounsfield units for CT) with their geometry. Multi-frame
 * files give one frame per slice position, with per-frame positions from the functional groups. A DICOM SEG
 * gives label frames whose values are segment numbers.
 */
import type { DataSet } from 'dicom-parser';
import { LilnetError } from '../../errors.ts';
import { readInputFile } from '../../read-input-file.ts';
import type { VoxelUnit } from '../volume.ts';
import {
  decimals,
  readImageAttributes,
  SEGMENTATION_STORAGE_SOP_CLASS_UID,
  type ImageAttributes,
} from './attributes.ts';
import { prepareRescale, rescaleInto, type ModalityRescale, type StoredValues } from './modality.ts';
import { parseDicomBytes } from './parse.ts';
import { readStoredFrames } from './pixels.ts';

export type Vector3 = [number, number, number];

export interface DicomFrame {
  /** ImagePositionPatient of this frame (LPS, mm), when known. */
  readonly positionMm: Vector3 | undefined;
  /** `columns * rows` values, row by row: modality values, or segment labels for SEG. Computed on first use. */
  readonly values: Float32Array;
  /** Writes the values into `target` (`columns * rows` long) without keeping a copy in the frame. */
  writeValues(target: Float32Array): void;
}

/** A frame with values already computed (SEG labels, colour images reduced to grey). */
class ComputedFrame implements DicomFrame {
  constructor(
    readonly positionMm: Vector3 | undefined,
    readonly values: Float32Array,
  ) {}

  writeValues(target: Float32Array): void {
    target.set(this.values);
  }
}

/** A frame that keeps its stored values and applies the modality rescale when asked. */
class RescaledFrame implements DicomFrame {
  private cached: Float32Array | undefined;

  constructor(
    readonly positionMm: Vector3 | undefined,
    private readonly stored: StoredValues,
    private readonly rescale: ModalityRescale,
  ) {}

  get values(): Float32Array {
    if (!this.cached) {
      this.cached = new Float32Array(this.stored.length);
      rescaleInto(this.stored, this.rescale, this.cached);
    }
    return this.cached;
  }

  writeValues(target: Float32Array): void {
    if (this.cached) target.set(this.cached);
    else rescaleInto(this.stored, this.rescale, target);
  }
}

export interface DicomImage {
  file: string;
  transferSyntaxUid: string;
  attributes: ImageAttributes;
  unit: VoxelUnit;
  /** ImageOrientationPatient (row then column direction cosines), from the image or the shared functional groups. */
  orientation: [number, number, number, number, number, number] | undefined;
  /** [between columns, between rows] in mm (the reverse of DICOM PixelSpacing), when known. */
  pixelSpacingMm: [number, number] | undefined;
  frames: DicomFrame[];
  warnings: string[];
}

function firstItem(dataSet: DataSet | undefined, tag: string): DataSet | undefined {
  return dataSet?.elements[tag]?.items?.[0]?.dataSet;
}

function functionalGroupValues(
  item: DataSet | undefined,
  sequenceTag: string,
  attributeTag: string,
): number[] | undefined {
  const nested = firstItem(item, sequenceTag);
  return nested ? decimals(nested, attributeTag) : undefined;
}

interface FrameGeometry {
  orientation: ImageAttributes['imageOrientationPatient'];
  pixelSpacing: ImageAttributes['pixelSpacing'];
  positions: (Vector3 | undefined)[];
  segmentNumbers: (number | undefined)[];
  /** Attributes set aside as unusable, e.g. an all-zero ImageOrientationPatient. */
  warnings: string[];
}

/**
 * True when ImageOrientationPatient gives two unit-length, perpendicular direction cosines (within 1e-2),
 * so that the slice normal is defined. Damaged headers carry zeros or parallel vectors.
 */
function isValidOrientation(orientation: NonNullable<FrameGeometry['orientation']>): boolean {
  const [rx, ry, rz, cx, cy, cz] = orientation;
  const rowLength = Math.hypot(rx, ry, rz);
  const columnLength = Math.hypot(cx, cy, cz);
  const dot = rx * cx + ry * cy + rz * cz;
  return Math.abs(rowLength - 1) < 1e-2 && Math.abs(columnLength - 1) < 1e-2 && Math.abs(dot) < 1e-2;
}

/** Collects orientation, spacing and per-frame positions from the image attributes and the functional groups. */
function frameGeometry(dataSet: DataSet, attributes: ImageAttributes): FrameGeometry {
  const shared = firstItem(dataSet, 'x52009229');
  const perFrameItems = dataSet.elements.x52009230?.items ?? [];
  const sharedOrientation = functionalGroupValues(shared, 'x00209116', 'x00200037');
  const sharedSpacing = functionalGroupValues(shared, 'x00289110', 'x00280030');
  const orientation =
    attributes.imageOrientationPatient ??
    (sharedOrientation?.length === 6 ? (sharedOrientation as FrameGeometry['orientation']) : undefined) ??
    (() => {
      const first = functionalGroupValues(perFrameItems[0]?.dataSet, 'x00209116', 'x00200037');
      return first?.length === 6 ? (first as FrameGeometry['orientation']) : undefined;
    })();
  const pixelSpacing =
    attributes.pixelSpacing ??
    (sharedSpacing?.length === 2 ? (sharedSpacing as [number, number]) : undefined);

  const positions: (Vector3 | undefined)[] = [];
  const segmentNumbers: (number | undefined)[] = [];
  for (let frame = 0; frame < attributes.numberOfFrames; frame++) {
    const item = perFrameItems[frame]?.dataSet;
    const position = functionalGroupValues(item, 'x00209113', 'x00200032');
    positions.push(
      position?.length === 3
        ? (position as Vector3)
        : frame === 0
          ? attributes.imagePositionPatient
          : undefined,
    );
    const segment = firstItem(item, 'x0062000a');
    segmentNumbers.push(segment ? segment.uint16('x0062000b') : undefined);
  }
  const warnings: string[] = [];
  let usableOrientation = orientation;
  if (orientation && !isValidOrientation(orientation)) {
    warnings.push(
      `ImageOrientationPatient ${orientation.join('\\')} is not two perpendicular unit vectors: orientation ignored`,
    );
    usableOrientation = undefined;
  }
  let usableSpacing = pixelSpacing;
  if (pixelSpacing && !(pixelSpacing[0] > 0 && pixelSpacing[1] > 0)) {
    warnings.push(`PixelSpacing ${pixelSpacing.join('\\')} is not positive: spacing unknown`);
    usableSpacing = undefined;
  }
  return { orientation: usableOrientation, pixelSpacing: usableSpacing, positions, segmentNumbers, warnings };
}

function unitOf(attributes: ImageAttributes): VoxelUnit {
  if (attributes.sopClassUid === SEGMENTATION_STORAGE_SOP_CLASS_UID || attributes.modality === 'SEG')
    return 'label';
  return attributes.modality === 'CT' ? 'HU' : 'rescaled';
}

/**
 * Reduces RGB samples to grey: equal channels keep their value, others become luminance (ITU-R BT.601 weights).
 * `colour` tells whether any pixel had unequal channels.
 */
function rgbToGrey(
  values: Float32Array,
  pixelCount: number,
  planar: boolean,
): { grey: Float32Array; colour: boolean } {
  const grey = new Float32Array(pixelCount);
  let colour = false;
  for (let i = 0; i < pixelCount; i++) {
    const r = planar ? values[i] : values[i * 3];
    const g = planar ? values[pixelCount + i] : values[i * 3 + 1];
    const b = planar ? values[2 * pixelCount + i] : values[i * 3 + 2];
    if (r === g && g === b) {
      grey[i] = r;
    } else {
      grey[i] = 0.299 * r + 0.587 * g + 0.114 * b;
      colour = true;
    }
  }
  return { grey, colour };
}

/**
 * Rejects a RescaleSlope or RescaleIntercept that is present but not a decimal number. Reading it as absent
 * (slope 1, intercept 0) would silently shift every Hounsfield unit, for example by 1024 for CT.
 */
function checkRescaleDecimals(dataSet: DataSet, file: string): void {
  for (const [tag, name] of [
    ['x00281053', 'RescaleSlope'],
    ['x00281052', 'RescaleIntercept'],
  ] as const) {
    const value = dataSet.string(tag)?.replace(/\0/g, '').trim();
    if (value && decimals(dataSet, tag) === undefined) {
      throw new LilnetError(
        'DICOM_INVALID',
        `DICOM image ${file} has ${name} "${value}", which is not a decimal number, so its modality values (HU) cannot be computed`,
        { file, hint: 'the image header is damaged: export the series again from the scanner or PACS' },
      );
    }
  }
}

/** Parses DICOM bytes already in memory; see {@link readDicomFile}. */
export async function readDicomBytes(bytes: Uint8Array, file: string): Promise<DicomImage> {
  const parsed = parseDicomBytes(bytes, file);
  const { dataSet, transferSyntaxUid } = parsed;
  const warnings = [...parsed.warnings];
  const attributes = readImageAttributes(dataSet);

  if (!dataSet.elements.x7fe00010) {
    const modality = attributes.modality ? ` (Modality ${attributes.modality})` : '';
    throw new LilnetError(
      'DICOM_NOT_IMAGE',
      `DICOM file ${file}${modality} has no pixel data: it is not an image`,
      {
        file,
        hint: 'lilnet reads CT images; remove RT plans, structured reports and other non-image objects or ignore this message',
      },
    );
  }
  if (attributes.rows === 0 || attributes.columns === 0) {
    throw new LilnetError('DICOM_INVALID', `DICOM image ${file} has no Rows or Columns`, {
      file,
      hint: 'the image header is damaged or truncated: export the series again',
    });
  }

  checkRescaleDecimals(dataSet, file);

  const stored = await readStoredFrames(dataSet, attributes, transferSyntaxUid, file);
  warnings.push(...stored.warnings);
  const unit = unitOf(attributes);
  const geometry = frameGeometry(dataSet, attributes);
  warnings.push(...geometry.warnings);
  const pixelCount = attributes.columns * attributes.rows;
  const samplesPerFrame = pixelCount * attributes.samplesPerPixel;

  if (attributes.samplesPerPixel !== 1 && attributes.samplesPerPixel !== 3) {
    throw new LilnetError(
      'DICOM_INVALID',
      `DICOM image ${file} has SamplesPerPixel ${attributes.samplesPerPixel}, expected 1 or 3`,
      { file, hint: 'the image header is damaged: export the series again' },
    );
  }
  if (attributes.photometricInterpretation === 'MONOCHROME1') {
    warnings.push('MONOCHROME1: low values display white; the modality values are kept as stored');
  }

  const frames: DicomFrame[] = [];
  if (unit === 'label') {
    for (let frame = 0; frame < stored.frameCount; frame++) {
      const values = Float32Array.from(stored.values.subarray(frame * pixelCount, (frame + 1) * pixelCount));
      const segment = geometry.segmentNumbers[frame] ?? 1;
      if (segment !== 1) for (let i = 0; i < values.length; i++) if (values[i] !== 0) values[i] = segment;
      frames.push(new ComputedFrame(geometry.positions[frame], values));
    }
  } else {
    const rescale = prepareRescale(stored.values, attributes);
    const encapsulated = dataSet.elements.x7fe00010.encapsulatedPixelData === true;
    let colourFrames = 0;
    if (rescale.paddedCount > 0) {
      warnings.push(
        `${rescale.paddedCount} padding voxel(s) (PixelPaddingValue ${attributes.pixelPaddingValue}) were set to ` +
          `${rescale.paddingFill}, the lowest image value`,
      );
    }
    for (let frame = 0; frame < stored.frameCount; frame++) {
      const frameStored = stored.values.subarray(frame * samplesPerFrame, (frame + 1) * samplesPerFrame);
      if (attributes.samplesPerPixel === 3) {
        const samples = new Float32Array(samplesPerFrame);
        rescaleInto(frameStored, rescale, samples);
        // Decoders return interleaved samples, so PlanarConfiguration applies to native pixel data only.
        const planar = attributes.planarConfiguration === 1 && !encapsulated;
        const { grey, colour } = rgbToGrey(samples, pixelCount, planar);
        if (colour) colourFrames++;
        frames.push(new ComputedFrame(geometry.positions[frame], grey));
      } else {
        frames.push(new RescaledFrame(geometry.positions[frame], frameStored, rescale));
      }
    }
    if (colourFrames > 0) {
      warnings.push(`colour image (${attributes.photometricInterpretation}) converted to grey luminance`);
    }
  }

  return {
    file,
    transferSyntaxUid,
    attributes,
    unit,
    orientation: geometry.orientation,
    pixelSpacingMm: geometry.pixelSpacing ? [geometry.pixelSpacing[1], geometry.pixelSpacing[0]] : undefined,
    frames: unit === 'label' ? mergeLabelFrames(frames) : frames,
    warnings,
  };
}

/** Merges SEG frames at the same position (one per segment) into one label frame per position. */
function mergeLabelFrames(frames: DicomFrame[]): DicomFrame[] {
  const byPosition = new Map<string, DicomFrame>();
  const merged: DicomFrame[] = [];
  for (const frame of frames) {
    const key = frame.positionMm
      ? frame.positionMm.map((value) => value.toFixed(3)).join(',')
      : `frame-${merged.length}`;
    const existing = byPosition.get(key);
    if (!existing) {
      const copy = new ComputedFrame(frame.positionMm, Float32Array.from(frame.values));
      byPosition.set(key, copy);
      merged.push(copy);
      continue;
    }
    for (let i = 0; i < frame.values.length; i++)
      if (frame.values[i] !== 0) existing.values[i] = frame.values[i];
  }
  return merged;
}

/** Reads one DICOM file; throws LilnetError (DICOM_INVALID, DICOM_NOT_IMAGE, ...) naming the file. */
export async function readDicomFile(file: string): Promise<DicomImage> {
  const bytes = await readInputFile(file);
  return readDicomBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}
