/** Options of the synthetic dataset generator, their defaults and their validation. */
import { LilnetError } from '../../errors.ts';
import type { DisplayWindow } from '../../imaging/volume.ts';
import { LESION_TYPES, type LesionType } from '../lesions.ts';
import type { GreyImageFormat } from './image-file.ts';
import { DEFAULT_EXTENT_MM } from './patient.ts';
import type { SynthPhase } from './tissue.ts';

/**
 * Default window of the crops and detection slices: width 350 HU, centre 50 HU ([-125, 225] HU), a soft-tissue
 * window wide enough to keep fat, liver, lesions and enhancing vessels apart. The authors did not publish theirs.
 */
export const DEFAULT_CROP_WINDOW: DisplayWindow = { centre: 50, width: 350 };

export type SynthOutput = 'crops' | 'detection' | 'dicom';
export const SYNTH_OUTPUTS: readonly SynthOutput[] = ['crops', 'detection', 'dicom'];

export interface SynthOptions {
  outDir: string;
  patients: number;
  seed: number;
  /** Columns and rows of each slice; the field of view stays 360 mm, so smaller images have coarser pixels. */
  size: number;
  slices: number;
  /** Slice spacing and thickness in mm; default: the slices cover 160 mm. */
  sliceThicknessMm: number;
  /** Lesion types to draw patients from, in equal shares. */
  types: LesionType[];
  /** Share of each type's patients put in the test (crops) and val (detection) split. */
  testFraction: number;
  outputs: SynthOutput[];
  window: DisplayWindow;
  /** Margin added on each side of a crop, as a fraction of the lesion box's longer side. */
  cropMarginFraction: number;
  /** Most crops per lesion and phase, taken from the slices nearest the lesion centre. */
  maxCropsPerLesion: number;
  detectionPhases: SynthPhase[];
  /** Slices without lesions added to the detection set, as a fraction of the slices with lesions. */
  backgroundFraction: number;
  imageFormat: GreyImageFormat;
}

export const SYNTH_DEFAULTS = {
  patients: 60,
  seed: 1,
  size: 512,
  slices: 32,
  testFraction: 0.2,
  outputs: [...SYNTH_OUTPUTS],
  window: DEFAULT_CROP_WINDOW,
  cropMarginFraction: 0.25,
  maxCropsPerLesion: 6,
  detectionPhases: ['AP', 'PVP'] as SynthPhase[],
  backgroundFraction: 0.2,
  imageFormat: 'png' as GreyImageFormat,
};

function invalid(option: string, value: unknown, hint: string): LilnetError {
  return new LilnetError('INVALID_ARGUMENT', `invalid ${option}: ${JSON.stringify(value)}`, { hint });
}

/** Fills defaults and checks ranges; throws INVALID_ARGUMENT naming the option. */
export function resolveSynthOptions(partial: Partial<SynthOptions> & { outDir: string }): SynthOptions {
  const options: SynthOptions = {
    outDir: partial.outDir,
    patients: partial.patients ?? SYNTH_DEFAULTS.patients,
    seed: partial.seed ?? SYNTH_DEFAULTS.seed,
    size: partial.size ?? SYNTH_DEFAULTS.size,
    slices: partial.slices ?? SYNTH_DEFAULTS.slices,
    sliceThicknessMm:
      partial.sliceThicknessMm ?? DEFAULT_EXTENT_MM / (partial.slices ?? SYNTH_DEFAULTS.slices),
    types: partial.types ?? [...LESION_TYPES],
    testFraction: partial.testFraction ?? SYNTH_DEFAULTS.testFraction,
    outputs: partial.outputs ?? [...SYNTH_DEFAULTS.outputs],
    window: partial.window ?? SYNTH_DEFAULTS.window,
    cropMarginFraction: partial.cropMarginFraction ?? SYNTH_DEFAULTS.cropMarginFraction,
    maxCropsPerLesion: partial.maxCropsPerLesion ?? SYNTH_DEFAULTS.maxCropsPerLesion,
    detectionPhases: partial.detectionPhases ?? [...SYNTH_DEFAULTS.detectionPhases],
    backgroundFraction: partial.backgroundFraction ?? SYNTH_DEFAULTS.backgroundFraction,
    imageFormat: partial.imageFormat ?? SYNTH_DEFAULTS.imageFormat,
  };
  if (!Number.isInteger(options.patients) || options.patients < 1 || options.patients > 100000) {
    throw invalid('patient count', options.patients, 'give --patients as a whole number from 1 to 100000');
  }
  if (!Number.isInteger(options.seed)) throw invalid('seed', options.seed, 'give --seed as a whole number');
  if (!Number.isInteger(options.size) || options.size < 64 || options.size > 1024) {
    throw invalid(
      'image size',
      options.size,
      'give --size in pixels from 64 to 1024 (512 is the clinical norm)',
    );
  }
  if (!Number.isInteger(options.slices) || options.slices < 4 || options.slices > 512) {
    throw invalid('slice count', options.slices, 'give --slices from 4 to 512');
  }
  if (!(options.sliceThicknessMm >= 0.5 && options.sliceThicknessMm <= 40)) {
    throw invalid('slice thickness', options.sliceThicknessMm, 'give --slice-thickness in mm from 0.5 to 40');
  }
  if (options.types.length === 0 || options.types.some((type) => !LESION_TYPES.includes(type))) {
    throw invalid('lesion types', options.types.join(','), `choose from ${LESION_TYPES.join(', ')}`);
  }
  if (!(options.testFraction >= 0 && options.testFraction < 1)) {
    throw invalid(
      'test fraction',
      options.testFraction,
      'give --test-fraction from 0 up to (not including) 1',
    );
  }
  if (options.outputs.length === 0 || options.outputs.some((output) => !SYNTH_OUTPUTS.includes(output))) {
    throw invalid('outputs', options.outputs.join(','), `choose one or more of ${SYNTH_OUTPUTS.join(', ')}`);
  }
  if (!(options.window.width >= 1))
    throw invalid('window', options.window, 'give --window as width/level in HU with width >= 1');
  if (!(options.cropMarginFraction >= 0 && options.cropMarginFraction <= 2)) {
    throw invalid('crop margin', options.cropMarginFraction, 'give --crop-margin as a fraction from 0 to 2');
  }
  if (!Number.isInteger(options.maxCropsPerLesion) || options.maxCropsPerLesion < 1) {
    throw invalid(
      'crops per lesion',
      options.maxCropsPerLesion,
      'give --max-crops as a whole number of at least 1',
    );
  }
  if (
    options.detectionPhases.length === 0 ||
    options.detectionPhases.some((p) => !['NC', 'AP', 'PVP', 'DP'].includes(p))
  ) {
    throw invalid('detection phases', options.detectionPhases.join(','), 'choose from NC, AP, PVP, DP');
  }
  if (!(options.backgroundFraction >= 0 && options.backgroundFraction <= 10)) {
    throw invalid('background fraction', options.backgroundFraction, 'give a fraction from 0 to 10');
  }
  if (options.imageFormat !== 'png' && options.imageFormat !== 'jpg') {
    throw invalid('image format', options.imageFormat, 'choose png or jpg');
  }
  return options;
}
