/**
 * The main job of lilnet: a CT case in, a diagnosis report out.
 *
 * Stages, in order: read the case and choose one series per phase. Detect lesions per slice, group them across
 * slices and match them across phases. Crop every box and score the crops with the benign/malignant model and
 * both subtype models. Compose per-lesion and per-patient probabilities from mean logits, draw overlays, and
 * write report.json, report.html and overlays/ into the output folder.
 */
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DEFAULT_NMS_IOU_THRESHOLD, DEFAULT_CONFIDENCE_THRESHOLD } from '../detect/decode.ts';
import { readCase } from '../imaging/read-case.ts';
import { moduleLogger } from '../log.ts';
import { classifyCrops, listCrops } from './classify-stage.ts';
import { CLASSIFIER_INPUT_SIZE_PX, CROP_MARGIN_FRACTION, CROP_MIN_SIDE_PX, CROP_WINDOW } from './crop.ts';
import { detectSeries } from './detect-stage.ts';
import { buildLesionReports, patientClassification } from './lesion-reports.ts';
import { loadModels } from './load-models.ts';
import { matchAcrossPhases, type PhaseTrack } from './match-phases.ts';
import { clearOverlaysFolder, prepareReportFolder, reportOutputError } from './report-folder.ts';
import { renderReportHtml } from './report-html.ts';
import {
  REPORT_SCHEMA_VERSION,
  type CropSettings,
  type DetectionSettings,
  type DiagnoseOptions,
  type DiagnosisReport,
  type ReportWarning,
  type SeriesSummary,
} from './report-types.ts';
import { parsePhases, selectSeries } from './select-series.ts';

export type { DiagnoseOptions, DiagnosisReport } from './report-types.ts';

const log = moduleLogger('diagnose');

export const LILNET_VERSION = '0.1.0';
/** Window applied to HU slices before detection; the same soft-tissue window as the crops. */
export const DETECTION_WINDOW = CROP_WINDOW;

/** Stage names in order, with the overall fraction done when each starts (used for progress reports). */
const STAGES: [string, number][] = [
  ['read-case', 0],
  ['load-models', 0.1],
  ['detect', 0.2],
  ['match', 0.6],
  ['classify', 0.65],
  ['report', 0.9],
];

/** Diagnoses the case at `casePath` and writes the report into `options.outDir`. */
export async function diagnoseCase(casePath: string, options: DiagnoseOptions): Promise<DiagnosisReport> {
  const timingsMs: Record<string, number> = {};
  let stageStart = performance.now();
  let currentStage: string | null = null;
  const startStage = (name: string): void => {
    const now = performance.now();
    if (currentStage) timingsMs[currentStage] = Math.round(now - stageStart);
    stageStart = now;
    currentStage = name;
    const fraction = STAGES.find(([stage]) => stage === name)?.[1] ?? 0;
    options.onProgress?.(name, fraction);
  };
  const requestedPhases = options.phases && options.phases.length > 0 ? parsePhases(options.phases) : null;
  // A report folder that cannot be written fails here, before minutes of detection and classification.
  await prepareReportFolder(options.outDir);

  startStage('read-case');
  const ctCase = await readCase(casePath, { phaseMapping: options.phaseMapping });
  const warnings: ReportWarning[] = [];
  for (const message of ctCase.warnings) warnings.push({ code: 'case', message });
  for (const failed of ctCase.failedFiles) {
    warnings.push({
      code: 'file-unreadable',
      message: `${basename(failed.file)} could not be read: ${failed.reason}`,
      file: basename(failed.file),
    });
  }
  const selection = selectSeries(ctCase, requestedPhases);
  warnings.push(...selection.warnings);
  for (const series of selection.series) {
    for (const message of series.warnings)
      warnings.push({ code: 'series', message: `series ${series.id}: ${message}`, phase: series.phase });
  }

  startStage('load-models');
  const models = await loadModels(options.modelsDir);
  warnings.push(...models.warnings);

  const detection: DetectionSettings = {
    confidenceThreshold: DEFAULT_CONFIDENCE_THRESHOLD,
    nmsIouThreshold: DEFAULT_NMS_IOU_THRESHOLD,
    inputSizePx: models.detector.inputSize,
    window: selection.series.some((s) => s.unit === 'HU') ? DETECTION_WINDOW : null,
  };
  const crop: CropSettings = {
    marginFraction: CROP_MARGIN_FRACTION,
    minSidePx: CROP_MIN_SIDE_PX,
    inputSizePx: models.classifiers['benign-malignant']?.inputSidePx ?? CLASSIFIER_INPUT_SIZE_PX,
    window: selection.series.some((s) => s.unit === 'HU') ? CROP_WINDOW : null,
  };

  startStage('detect');
  const tracksBySeries: PhaseTrack[][] = [];
  for (const [index, series] of selection.series.entries()) {
    options.onProgress?.('detect', 0.2 + (0.4 * index) / selection.series.length);
    tracksBySeries.push(await detectSeries(models.detector, series, detection));
  }

  startStage('match');
  const matched = matchAcrossPhases(tracksBySeries);

  startStage('classify');
  const crops = listCrops(matched, crop);
  const outputs = await classifyCrops(crops, models.classifiers, crop.window);

  startStage('report');
  await clearOverlaysFolder(options.outDir);
  const { lesions, perLesionLogits } = await buildLesionReports({
    lesions: matched,
    outputs,
    outDir: options.outDir,
    window: crop.window,
  });
  const noFocalLesionDetected = lesions.length === 0;
  if (noFocalLesionDetected) {
    warnings.push({
      code: 'no-focal-lesion',
      message: `no focal lesion detected: no detector box reached the confidence threshold ${detection.confidenceThreshold} in phases ${selection.series.map((s) => s.phase).join(', ')}`,
    });
  }

  const usedIds = new Set(selection.series.map((s) => s.id));
  const seriesSummaries: SeriesSummary[] = ctCase.series.map((s) => {
    const summary: SeriesSummary = {
      id: s.id,
      phase: s.phase,
      phaseSource: s.phaseSource,
      unit: s.unit,
      dimensions: [...s.geometry.dimensions] as [number, number, number],
      spacingMm: [...s.geometry.spacingMm] as [number, number, number],
      spacingKnown: s.geometry.spacingKnown,
      used: usedIds.has(s.id),
    };
    if (s.modality) summary.modality = s.modality;
    if (s.description) summary.description = s.description;
    return summary;
  });

  const report: DiagnosisReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    lilnetVersion: LILNET_VERSION,
    case: {
      id: ctCase.id,
      series: seriesSummaries,
      phasesUsed: selection.series.map((s) => s.phase),
      phasesMissing: selection.phasesMissing,
      failedFiles: ctCase.failedFiles.map((f) => ({ file: basename(f.file), reason: f.reason })),
    },
    demoModels: models.infos.some((m) => m.demo),
    models: models.infos,
    detection,
    crop,
    noFocalLesionDetected,
    lesions,
    patient: patientClassification(perLesionLogits),
    warnings,
    timingsMs,
  };

  const html = await renderReportHtml(report, options.outDir);
  timingsMs.report = Math.round(performance.now() - stageStart);
  timingsMs.total = Object.values(timingsMs).reduce((sum, value) => sum + value, 0);
  try {
    await writeFile(join(options.outDir, 'report.html'), html);
    await writeFile(join(options.outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  } catch (error) {
    throw reportOutputError(options.outDir, error);
  }
  log.info(
    { lesions: lesions.length, warnings: warnings.map((w) => w.code), totalMs: timingsMs.total },
    'diagnosis finished',
  );
  options.onProgress?.('done', 1);
  return report;
}
