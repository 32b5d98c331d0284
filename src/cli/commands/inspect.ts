/**
 * `lilnet inspect <path> [--json]`: reads a case (DICOM, NIfTI or slice images) and prints what was read per
 * series: phase, dimensions, spacing, value range and unit, transfer syntax, slice files and warnings.
 * Files that cannot be read are named on stderr and make the exit code 1, while the other files are reported.
 */
import type { Command } from 'commander';
import { LilnetError } from '../../errors.ts';
import { TRANSFER_SYNTAX_NAMES } from '../../imaging/dicom/codecs.ts';
import { readCase } from '../../imaging/read-case.ts';
import type { CtCase, Series } from '../../imaging/volume.ts';

interface InspectOptions {
  json?: boolean;
  phase: string[];
}

export interface SeriesSummary {
  id: string;
  phase: Series['phase'];
  phaseSource: Series['phaseSource'];
  description: string | null;
  modality: string | null;
  unit: Series['unit'];
  /** [columns, rows, slices]. */
  dimensions: [number, number, number];
  spacingMm: [number, number, number];
  spacingKnown: boolean;
  min: number;
  max: number;
  mean: number;
  transferSyntaxUid: string | null;
  fileWindow: Series['fileWindow'] | null;
  sliceFiles: string[];
  warnings: string[];
}

export interface InspectReport {
  path: string;
  caseId: string;
  series: SeriesSummary[];
  warnings: string[];
  failedFiles: CtCase['failedFiles'];
}

function voxelStatistics(voxels: Float32Array): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < voxels.length; i++) {
    const value = voxels[i];
    if (value < min) min = value;
    if (value > max) max = value;
    sum += value;
  }
  return voxels.length === 0 ? { min: 0, max: 0, mean: 0 } : { min, max, mean: sum / voxels.length };
}

export function summarizeSeries(series: Series): SeriesSummary {
  const statistics = voxelStatistics(series.voxels);
  return {
    id: series.id,
    phase: series.phase,
    phaseSource: series.phaseSource,
    description: series.description ?? null,
    modality: series.modality ?? null,
    unit: series.unit,
    dimensions: series.geometry.dimensions,
    spacingMm: series.geometry.spacingMm,
    spacingKnown: series.geometry.spacingKnown,
    min: statistics.min,
    max: statistics.max,
    mean: Number(statistics.mean.toFixed(4)),
    transferSyntaxUid: series.transferSyntaxUid ?? null,
    fileWindow: series.fileWindow ?? null,
    sliceFiles: series.sliceFiles,
    warnings: series.warnings,
  };
}

/** Parses `--phase KEY=PHASE` options into a phase mapping. */
export function parsePhaseOptions(values: string[]): Record<string, string> {
  const mapping: Record<string, string> = {};
  for (const value of values) {
    const separator = value.lastIndexOf('=');
    if (separator <= 0 || separator === value.length - 1) {
      throw new LilnetError('INVALID_ARGUMENT', `--phase "${value}" is not KEY=PHASE`, {
        hint: 'for example --phase "portal venous=PVP" (KEY is a series id, SeriesDescription or folder name)',
      });
    }
    mapping[value.slice(0, separator)] = value.slice(separator + 1);
  }
  return mapping;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function formatText(report: InspectReport): string {
  const lines: string[] = [`case ${report.caseId}: ${report.series.length} series`];
  for (const series of report.series) {
    const [columns, rows, slices] = series.dimensions;
    const spacing = series.spacingKnown ? series.spacingMm.map(formatNumber).join(' x ') + ' mm' : 'unknown';
    const syntax = series.transferSyntaxUid
      ? `${series.transferSyntaxUid} (${TRANSFER_SYNTAX_NAMES[series.transferSyntaxUid] ?? 'unknown'})`
      : 'none (not DICOM)';
    const unitName = series.unit === 'grey' ? 'grey level, not HU' : series.unit;
    lines.push('');
    lines.push(`series ${series.id}${series.description ? ` "${series.description}"` : ''}`);
    lines.push(`  phase:           ${series.phase} (from ${series.phaseSource})`);
    lines.push(`  dimensions:      ${columns} x ${rows} x ${slices} (columns x rows x slices)`);
    lines.push(`  spacing:         ${spacing}`);
    lines.push(
      `  values:          ${formatNumber(series.min)} to ${formatNumber(series.max)}, mean ${formatNumber(series.mean)} (${unitName})`,
    );
    lines.push(`  transfer syntax: ${syntax}`);
    const first = series.sliceFiles[0];
    const last = series.sliceFiles[series.sliceFiles.length - 1];
    lines.push(
      `  files:           ${series.sliceFiles.length} (${first}${series.sliceFiles.length > 1 ? ` ... ${last}` : ''})`,
    );
    for (const warning of series.warnings) lines.push(`  warning: ${warning}`);
  }
  if (report.warnings.length > 0) lines.push('');
  for (const warning of report.warnings) lines.push(`case warning: ${warning}`);
  return lines.join('\n') + '\n';
}

export async function inspectPath(
  path: string,
  phaseMapping: Record<string, string> = {},
): Promise<InspectReport> {
  const ctCase = await readCase(path, { phaseMapping });
  return {
    path,
    caseId: ctCase.id,
    series: ctCase.series.map(summarizeSeries),
    warnings: ctCase.warnings,
    failedFiles: ctCase.failedFiles,
  };
}

/** Unreadable files named one by one on stderr; a folder of thousands of non-image files gets a count. */
const MAX_PRINTED_FAILURES = 20;

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description(
      'read a CT case (DICOM, NIfTI or PNG/JPEG/BMP slices) and print its series, phases and values',
    )
    .argument('<path>', 'a DICOM file or folder, a .nii/.nii.gz file, a slice image or a folder of them')
    .option('--json', 'print one JSON document on stdout instead of text')
    .option(
      '--phase <key=phase>',
      'set a phase explicitly (NC, AP, PVP, DP) for a series id, SeriesDescription or folder name; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .action(async (path: string, options: InspectOptions) => {
      const report = await inspectPath(path, parsePhaseOptions(options.phase));
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatText(report));
      for (const failure of report.failedFiles.slice(0, MAX_PRINTED_FAILURES)) {
        process.stderr.write(`lilnet: cannot read ${failure.file}: ${failure.reason}\n`);
      }
      const unprinted = report.failedFiles.length - MAX_PRINTED_FAILURES;
      if (unprinted > 0) {
        process.stderr.write(
          `lilnet: ${unprinted} more file(s) cannot be read; inspect --json lists every one in failedFiles\n`,
        );
      }
      if (report.failedFiles.length > 0) process.exitCode = 1;
    });
}
