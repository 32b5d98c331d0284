/**
 * `lilnet synth`: writes a synthetic multiphase liver CT dataset (crops with CSV files, YOLO detection slices,
 * DICOM series with truth) for tests, demonstrations and benchmarks. The data are not clinical.
 */
import type { Command } from 'commander';
import { LilnetError } from '../../errors.ts';
import { LESION_TYPES, type LesionType } from '../../data/lesions.ts';
import { generateSynthDataset, SYNTHETIC_NOTICE } from '../../data/synth/generate.ts';
import { SYNTH_DEFAULTS, SYNTH_OUTPUTS, type SynthOutput } from '../../data/synth/options.ts';
import type { SynthPhase } from '../../data/synth/tissue.ts';
import { parseWindow } from '../../imaging/window.ts';

interface SynthCommandOptions {
  out: string;
  patients: string;
  seed: string;
  size: string;
  slices: string;
  sliceThickness?: string;
  types: string;
  testFraction: string;
  outputs: string;
  window: string;
  cropMargin: string;
  maxCrops: string;
  detectionPhases: string;
  format: string;
  json?: boolean;
}

function number(option: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new LilnetError('INVALID_ARGUMENT', `${option} "${text}" is not a number`, {
      hint: `give ${option} a number`,
    });
  }
  return value;
}

function list(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

export function registerSynthCommand(program: Command): void {
  program
    .command('synth')
    .description(
      'write a synthetic multiphase liver CT dataset (phantoms, not patient data) for tests and demos',
    )
    .requiredOption(
      '--out <dir>',
      'output folder (created; existing files of the same names are overwritten)',
    )
    .option('--patients <n>', 'number of synthetic patients', String(SYNTH_DEFAULTS.patients))
    .option(
      '--seed <n>',
      'random seed; the same seed and options give the same dataset',
      String(SYNTH_DEFAULTS.seed),
    )
    .option(
      '--size <pixels>',
      'columns and rows of each slice (field of view 360 mm)',
      String(SYNTH_DEFAULTS.size),
    )
    .option('--slices <n>', 'slices per series', String(SYNTH_DEFAULTS.slices))
    .option('--slice-thickness <mm>', 'slice spacing and thickness in mm (default: 160 mm / slices)')
    .option('--types <list>', 'lesion types to include, in equal shares', LESION_TYPES.join(','))
    .option(
      '--test-fraction <f>',
      "share of each type's patients in the test/val split",
      String(SYNTH_DEFAULTS.testFraction),
    )
    .option('--outputs <list>', `what to write: ${SYNTH_OUTPUTS.join(', ')}`, SYNTH_OUTPUTS.join(','))
    .option(
      '--window <width/level>',
      'display window in HU for crops and detection slices, or a preset (liver, abdomen)',
      `${SYNTH_DEFAULTS.window.width}/${SYNTH_DEFAULTS.window.centre}`,
    )
    .option(
      '--crop-margin <f>',
      'crop margin on each side, as a fraction of the lesion box',
      String(SYNTH_DEFAULTS.cropMarginFraction),
    )
    .option('--max-crops <n>', 'most crops per lesion and phase', String(SYNTH_DEFAULTS.maxCropsPerLesion))
    .option(
      '--detection-phases <list>',
      'phases written as detection slices',
      SYNTH_DEFAULTS.detectionPhases.join(','),
    )
    .option('--format <png|jpg>', 'image format of crops and detection slices', SYNTH_DEFAULTS.imageFormat)
    .option('--json', 'print the summary as one JSON document')
    .action(async (options: SynthCommandOptions) => {
      const window = parseWindow(options.window);
      const types = list(options.types).map((type) => type.toLowerCase());
      const unknownType = types.find((type) => !LESION_TYPES.includes(type as LesionType));
      if (unknownType !== undefined) {
        throw new LilnetError('INVALID_ARGUMENT', `--types: unknown lesion type "${unknownType}"`, {
          hint: `choose from ${LESION_TYPES.join(', ')}`,
        });
      }
      process.stderr.write(`lilnet synth: ${SYNTHETIC_NOTICE}\n`);
      const summary = await generateSynthDataset(
        {
          outDir: options.out,
          patients: number('--patients', options.patients),
          seed: number('--seed', options.seed),
          size: number('--size', options.size),
          slices: number('--slices', options.slices),
          sliceThicknessMm:
            options.sliceThickness === undefined
              ? undefined
              : number('--slice-thickness', options.sliceThickness),
          types: types as LesionType[],
          testFraction: number('--test-fraction', options.testFraction),
          outputs: list(options.outputs) as SynthOutput[],
          window,
          cropMarginFraction: number('--crop-margin', options.cropMargin),
          maxCropsPerLesion: number('--max-crops', options.maxCrops),
          detectionPhases: list(options.detectionPhases).map((phase) => phase.toUpperCase()) as SynthPhase[],
          imageFormat: options.format as 'png' | 'jpg',
        },
        (done, total) => {
          if (process.stderr.isTTY) process.stderr.write(`\rsynth: patient ${done}/${total}`);
          if (process.stderr.isTTY && done === total) process.stderr.write('\n');
        },
      );
      if (options.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const lines = [
        `Synthetic dataset written to ${summary.outDir} (seed ${summary.seed}) in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
        `  ${SYNTHETIC_NOTICE}`,
        `  patients: ${summary.patients} (train ${summary.trainPatients}, test ${summary.testPatients}); by type: ${Object.entries(
          summary.patientsByType,
        )
          .map(([t, n]) => `${t} ${n}`)
          .join(', ')}`,
        `  lesions: ${summary.lesions}; by size: ${Object.entries(summary.lesionsBySize)
          .map(([bin, n]) => `${bin} ${n}`)
          .join(', ')}`,
        `  crops: ${summary.cropFiles} files; detection: ${summary.detectionImages} images, ${summary.detectionBoxes} boxes; DICOM: ${summary.dicomFiles} files`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
