/**
 * The in-memory model every reader produces: a case is a set of series, one per contrast phase, and each series
 * is a 3-D voxel array with its geometry and a few display and provenance facts.
 *
 * Voxel layout: `voxels[x + columns * (y + rows * z)]`, so x (column) varies fastest, then y (row), then z
 * (slice). Slice z = 0 is the first slice along the slice normal (sorted by position, never by file name or
 * InstanceNumber, for DICOM).
 */

/** Contrast phases of a liver CT study. `NC` is non-contrast (the authors' folder name `CT`). */
export type Phase = 'NC' | 'AP' | 'PVP' | 'DP' | 'unknown';

export const PHASES: readonly Phase[] = ['NC', 'AP', 'PVP', 'DP'];

/** How the phase of a series was decided. */
export type PhaseSource =
  'folder-name' | 'series-description' | 'contrast-and-time' | 'user' | 'file-name' | 'unknown';

/**
 * Unit of the voxel values.
 * - `HU`: Hounsfield units (CT after the modality rescale).
 * - `grey`: display-ready 8-bit or 16-bit grey levels from slice images; Hounsfield units cannot be recovered.
 * - `rescaled`: modality-rescaled values of a non-CT series (for example MR signal), not HU.
 * - `label`: integer segment labels (DICOM SEG, label masks).
 */
export type VoxelUnit = 'HU' | 'grey' | 'rescaled' | 'label';

export interface VolumeGeometry {
  /** [columns, rows, slices]. */
  dimensions: [number, number, number];
  /** Voxel spacing in millimetres: [between columns, between rows, between slice centres]. */
  spacingMm: [number, number, number];
  /** False when the files carry no spacing (slice images); `spacingMm` is then [1, 1, 1]. */
  spacingKnown: boolean;
  /** Patient-space position (LPS, mm) of the centre of voxel (0, 0, 0); null when unknown. */
  originMm: [number, number, number] | null;
  /**
   * Direction cosines, each a unit vector in patient space (LPS): along increasing column index (row direction),
   * along increasing row index (column direction), and along increasing slice index (slice normal).
   */
  direction: {
    row: [number, number, number];
    column: [number, number, number];
    slice: [number, number, number];
  };
}

/** A display window in the voxel unit: the DICOM VOI linear function maps [centre - width/2, centre + width/2]. */
export interface DisplayWindow {
  centre: number;
  width: number;
}

export interface Series {
  /** SeriesInstanceUID for DICOM; otherwise an id derived from the path. Never a patient identifier. */
  id: string;
  phase: Phase;
  phaseSource: PhaseSource;
  unit: VoxelUnit;
  voxels: Float32Array;
  geometry: VolumeGeometry;
  /** The files of the series in slice order (z = 0 first). A multi-frame file appears once. */
  sliceFiles: string[];
  /** DICOM only: the transfer syntax UID of the pixel data. */
  transferSyntaxUid?: string;
  modality?: string;
  /** SeriesDescription or the folder name; free text, never patient data. */
  description?: string;
  /** The window stored in the files (DICOM WindowCenter/WindowWidth), if any. */
  fileWindow?: DisplayWindow;
  /** Non-fatal findings about the data, e.g. slice gaps, duplicate positions, gantry tilt, padding values. */
  warnings: string[];
}

export interface CtCase {
  /** An id derived from the path or a study UID; never a patient identifier. */
  id: string;
  series: Series[];
  /** Case-level findings, e.g. missing phases or files that could not be read. */
  warnings: string[];
  /** Files that could not be read, with the reason; the rest of the case is still usable. */
  failedFiles: { file: string; reason: string }[];
}

export function voxelIndex(geometry: VolumeGeometry, x: number, y: number, z: number): number {
  const [columns, rows] = geometry.dimensions;
  return x + columns * (y + rows * z);
}

/** Returns slice z of a series as a view (no copy) of `columns * rows` values, row by row. */
export function sliceView(series: Series, z: number): Float32Array {
  const [columns, rows, slices] = series.geometry.dimensions;
  if (!Number.isInteger(z) || z < 0 || z >= slices) {
    throw new RangeError(`slice index ${z} is out of range [0, ${slices}) for series ${series.id}`);
  }
  const size = columns * rows;
  return series.voxels.subarray(z * size, (z + 1) * size);
}
