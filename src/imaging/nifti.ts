/**
 * NIfTI-1 and NIfTI-2 reader (`.nii`, `.nii.gz`) through nifti-reader-js. Values are scaled with
 * `scl_slope`/`scl_inter` (in the NIfTI-1 standard a slope of 0 means no scaling); the geometry comes
 * from the header affine (sform or qform, as nifti-reader-js chooses), converted from RAS to DICOM's LPS.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import * as nifti from 'nifti-reader-js';
import { LilnetError } from '../errors.ts';
import { norm, normalize, type Vector3 } from './geometry.ts';
import type { Series, VoxelUnit } from './volume.ts';

const { NIFTI1 } = nifti;

export function isNiftiFileName(file: string): boolean {
  return /\.nii(\.gz)?$/i.test(file);
}

function invalidNifti(file: string, reason: string): LilnetError {
  return new LilnetError('NIFTI_INVALID', `NIfTI file ${file} cannot be read: ${reason}`, {
    file,
    hint: 'check that the file is an intact NIfTI-1/2 image (gzip files must end in .nii.gz)',
  });
}

type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

const ARRAY_BY_DATATYPE: Record<number, TypedArrayConstructor> = {
  [NIFTI1.TYPE_UINT8]: Uint8Array,
  [NIFTI1.TYPE_INT8]: Int8Array,
  [NIFTI1.TYPE_INT16]: Int16Array,
  [NIFTI1.TYPE_UINT16]: Uint16Array,
  [NIFTI1.TYPE_INT32]: Int32Array,
  [NIFTI1.TYPE_UINT32]: Uint32Array,
  [NIFTI1.TYPE_FLOAT32]: Float32Array,
  [NIFTI1.TYPE_FLOAT64]: Float64Array,
};

/** Copies voxel bytes into a typed array, swapping byte order for big-endian files. */
function typedVoxels(
  buffer: ArrayBuffer,
  ArrayType: TypedArrayConstructor,
  count: number,
  littleEndian: boolean,
): ArrayLike<number> {
  const size = ArrayType.BYTES_PER_ELEMENT;
  const bytes = new Uint8Array(buffer.slice(0, count * size));
  if (!littleEndian && size > 1) {
    for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse();
  }
  return new ArrayType(bytes.buffer, 0, count);
}

/**
 * Rejects a voxel offset that points into the header or past the end of the data. nifti-reader-js slices
 * from the offset as given, so a negative offset would silently read header bytes as voxels.
 */
function checkVoxelOffset(file: string, header: nifti.NIFTI1 | nifti.NIFTI2, byteLength: number): void {
  const headerBytes = header instanceof NIFTI1 ? 348 : 540;
  const offset = header.vox_offset;
  if (!Number.isFinite(offset) || offset < headerBytes) {
    throw invalidNifti(
      file,
      `vox_offset ${offset} is not a byte offset after the ${headerBytes}-byte header`,
    );
  }
  if (offset >= byteLength) {
    throw invalidNifti(
      file,
      `vox_offset ${offset} is at or past the end of the data (${byteLength} bytes): the file is truncated`,
    );
  }
}

export interface NiftiReadOptions {
  /** The unit to report; by default HU when the values include air (below -500), else `rescaled`. */
  unit?: VoxelUnit;
}

export async function readNiftiFile(file: string, options: NiftiReadOptions = {}): Promise<Series> {
  const raw = await readFile(file);
  // nifti-reader-js reads the first two bytes without a length check, so an empty file would throw a RangeError.
  if (raw.byteLength < 2) throw invalidNifti(file, `the file is empty (${raw.byteLength} bytes)`);
  let data: ArrayBuffer = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
  if (nifti.isCompressed(data)) {
    try {
      data = nifti.decompress(data) as ArrayBuffer;
    } catch (error) {
      throw invalidNifti(file, `gzip decompression failed: ${(error as Error).message}`);
    }
  }
  if (!nifti.isNIFTI(data)) throw invalidNifti(file, 'no NIfTI-1 or NIfTI-2 header (wrong magic or size)');
  const header = nifti.readHeader(data);
  const warnings: string[] = [];

  const [rank, columns, rows, slicesOrOne, timepoints] = header.dims;
  const slices = rank >= 3 ? slicesOrOne : 1;
  if (rank < 2 || columns < 1 || rows < 1 || slices < 1)
    throw invalidNifti(file, `dimensions ${header.dims.slice(0, rank + 1).join(' ')}`);
  if (rank >= 4 && timepoints > 1)
    warnings.push(`4-D image with ${timepoints} volumes: only the first was read`);

  const ArrayType = ARRAY_BY_DATATYPE[header.datatypeCode];
  if (!ArrayType)
    throw invalidNifti(
      file,
      `datatype code ${header.datatypeCode} (lilnet reads integer and float scalar voxels)`,
    );
  const count = columns * rows * slices;
  checkVoxelOffset(file, header, data.byteLength);
  const image = nifti.readImage(header, data);
  if (image.byteLength < count * ArrayType.BYTES_PER_ELEMENT) {
    throw invalidNifti(
      file,
      `${image.byteLength} voxel bytes, expected ${count * ArrayType.BYTES_PER_ELEMENT}: the file is truncated`,
    );
  }
  const stored = typedVoxels(image, ArrayType, count, header.littleEndian);

  const slope = Number.isFinite(header.scl_slope) && header.scl_slope !== 0 ? header.scl_slope : 1;
  const intercept =
    slope === 1 && header.scl_slope === 0 ? 0 : Number.isFinite(header.scl_inter) ? header.scl_inter : 0;
  const voxels = new Float32Array(count);
  let min = Infinity;
  let nonFiniteCount = 0;
  for (let i = 0; i < count; i++) {
    const value = stored[i] * slope + intercept;
    voxels[i] = value;
    if (!Number.isFinite(value)) nonFiniteCount++;
    else if (value < min) min = value;
  }
  if (nonFiniteCount > 0) {
    // Float NIfTI often marks masked-out voxels with NaN. Statistics and windowing need numbers.
    if (!Number.isFinite(min)) min = 0;
    for (let i = 0; i < count; i++) if (!Number.isFinite(voxels[i])) voxels[i] = min;
    warnings.push(`${nonFiniteCount} NaN or infinite voxel(s) were set to the lowest finite value, ${min}`);
  }

  // NIfTI world space is RAS; DICOM patient space (the volume model) is LPS, so x and y change sign.
  const affine = header.affine;
  // Adding 0 turns the -0 of a negated 0 into 0.
  const column = (index: number): Vector3 => [
    -affine[0][index] + 0,
    -affine[1][index] + 0,
    affine[2][index] + 0,
  ];
  const axes = [column(0), column(1), column(2)];
  const spacing = axes.map(norm);
  if (header.qform_code < 1 && header.sform_code < 1)
    warnings.push('no qform or sform: geometry from pixdim only');
  const unit = options.unit ?? (min < -500 ? 'HU' : 'rescaled');
  if (!options.unit) {
    warnings.push(
      unit === 'HU' ? 'unit assumed HU (values include air below -500)' : 'unit not HU: no values below -500',
    );
  }

  return {
    id: basename(file),
    phase: 'unknown',
    phaseSource: 'unknown',
    unit,
    voxels,
    geometry: {
      dimensions: [columns, rows, slices],
      spacingMm: [spacing[0] || 1, spacing[1] || 1, spacing[2] || 1],
      spacingKnown: spacing.every((value) => value > 0),
      originMm: [-affine[0][3] + 0, -affine[1][3] + 0, affine[2][3] + 0],
      direction: { row: normalize(axes[0]), column: normalize(axes[1]), slice: normalize(axes[2]) },
    },
    sliceFiles: [file],
    description: header.description?.trim() || undefined,
    warnings,
  };
}
