/**
 * `lilnet diagnose <case> [--models <dir>] [--phases AP,PVP] [--out <dir>] [--json]`: runs the whole diagnosis
 * of one case and writes report.json, report.html and overlays/ into the output folder.
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { diagnoseCase } from '../../diagnose/diagnose-case.ts';
import { DEMO_MODELS_WARNING } from '../../diagnose/report-html.ts';
import type { Classification, DiagnosisReport } from '../../diagnose/report-types.ts';
import { LilnetError } from '../../errors.ts';
import { parsePhaseOptions } from './inspect.ts';

interface DiagnoseCommandOptions {
  models?: string;
  phases?: string;
  phase: string[];
  out?: string;
  json?: boolean;
}

function percent(value: number): string {
  return `${(100 * value).toFixed(1)}%`;
}

function describeClassification(classification: Classification): string {
  const call = classification.call ?? `${classification.branch} (no subtype model)`;
  return `${call} (P ${percent(classification.callProbability)}), P(malignant) ${percent(classification.pMalignant)}`;
}

/** Formats the plain-text summary printed on stdout without --json. */
export function formatSummary(report: DiagnosisReport, outDir: string): string {
  const lines: string[] = [];
  lines.push(`case ${report.case.id}: phases ${report.case.phasesUsed.join(', ')}`);
  if (report.noFocalLesionDetected) {
    lines.push(
      `no focal lesion detected (detector confidence threshold ${report.detection.confidenceThreshold})`,
    );
  } else {
    for (const lesion of report.lesions) {
      const where = lesion.phases
        .map((p) => `${p.phase} slice ${p.keySliceIndex}${p.keySliceFile ? ` (${p.keySliceFile})` : ''}`)
        .join(', ');
      const what = lesion.classification ? describeClassification(lesion.classification) : 'not classified';
      lines.push(`${lesion.id}: ${what}; key slices ${where}`);
    }
    if (report.patient) lines.push(`patient: ${describeClassification(report.patient)}`);
  }
  lines.push(`report: ${resolve(outDir, 'report.html')} (and report.json, overlays/)`);
  return `${lines.join('\n')}\n`;
}

export function registerDiagnoseCommand(program: Command): void {
  program
    .command('diagnose')
    .description('detect and classify focal liver lesions in one CT case and write a report')
    .argument('<case>', 'a DICOM study folder, NIfTI files, or folders of slice images per phase')
    .option(
      '--models <dir>',
      'folder of models (.onnx, .ckpt or .pth.tar); slots it lacks use the bundled demo models',
    )
    .option('--phases <list>', 'comma-separated phases to diagnose, e.g. AP,PVP (default AP and PVP)')
    .option(
      '--phase <key=phase>',
      'set a phase explicitly (NC, AP, PVP, DP) for a series id, SeriesDescription or folder name; repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--out <dir>',
      'output folder for report.json, report.html and overlays/ (default ./lilnet-report-<case>)',
    )
    .option('--json', 'print the report as one JSON document on stdout')
    .action(async (casePath: string, options: DiagnoseCommandOptions) => {
      if (!existsSync(casePath)) {
        throw new LilnetError('FILE_NOT_FOUND', `case path ${casePath} not found`, {
          file: casePath,
          hint: 'pass a folder of DICOM files, NIfTI files or slice images',
        });
      }
      const outDir = options.out ?? `lilnet-report-${basename(resolve(casePath))}`;
      const report = await diagnoseCase(casePath, {
        outDir,
        modelsDir: options.models,
        phases: options.phases ? [options.phases] : undefined,
        phaseMapping: parsePhaseOptions(options.phase),
        onProgress: (stage, fraction) =>
          process.stderr.write(`lilnet diagnose: ${stage} (${Math.round(100 * fraction)}%)\n`),
      });
      for (const warning of report.warnings)
        process.stderr.write(`lilnet diagnose: warning: ${warning.message}\n`);
      if (report.demoModels) process.stderr.write(`lilnet diagnose: warning: ${DEMO_MODELS_WARNING}\n`);
      process.stdout.write(
        options.json ? `${JSON.stringify(report, null, 2)}\n` : formatSummary(report, outDir),
      );
    });
}
