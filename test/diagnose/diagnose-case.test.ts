import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { generateSynthDataset } from '../../src/data/synth/generate.ts';
import { classifyCrops, listCrops } from '../../src/diagnose/classify-stage.ts';
import {
  CLASSIFIER_INPUT_SIZE_PX,
  CROP_MARGIN_FRACTION,
  CROP_MIN_SIDE_PX,
  CROP_WINDOW,
} from '../../src/diagnose/crop.ts';
import { diagnoseCase } from '../../src/diagnose/diagnose-case.ts';
import { buildLesionReports, patientClassification } from '../../src/diagnose/lesion-reports.ts';
import { loadModels } from '../../src/diagnose/load-models.ts';
import { matchAcrossPhases, type PhaseTrack } from '../../src/diagnose/match-phases.ts';
import { DEMO_MODELS_WARNING, renderReportHtml } from '../../src/diagnose/report-html.ts';
import {
  LESION_CLASSES,
  REPORT_SCHEMA_VERSION,
  type DiagnosisReport,
} from '../../src/diagnose/report-types.ts';
import { readCase } from '../../src/imaging/read-case.ts';
import { chromium } from 'playwright-core';
import { writeUntrainedModels } from './helpers/untrained-models.ts';

let root: string;
let caseDir: string;
let modelsDir: string;

interface TruthBox {
  slice: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
interface Truth {
  lesions: { type: string; boxes: Record<string, TruthBox[]> }[];
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'lilnet-diagnose-'));
  await generateSynthDataset({
    outDir: join(root, 'synth'),
    patients: 1,
    slices: 12,
    size: 256,
    outputs: ['dicom'],
    seed: 3,
  });
  const cases = join(root, 'synth', 'cases');
  caseDir = join(cases, readdirSync(cases)[0]);
  modelsDir = join(root, 'models');
  mkdirSync(modelsDir);
  writeUntrainedModels(modelsDir);
});

after(() => rmSync(root, { recursive: true, force: true }));

function readReport(outDir: string): DiagnosisReport {
  return JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as DiagnosisReport;
}

test('untrained detector reports no focal lesion', async () => {
  const outDir = join(root, 'out-none');
  const stages: string[] = [];
  const report = await diagnoseCase(caseDir, {
    outDir,
    modelsDir,
    onProgress: (stage) => stages.push(stage),
  });
  assert.equal(report.noFocalLesionDetected, true);
  assert.equal(report.lesions.length, 0);
  assert.equal(report.patient, null);
  assert.deepEqual(report.case.phasesUsed, ['AP', 'PVP']);
  assert.deepEqual(report.case.phasesMissing, []);
  assert.equal(report.case.series.length, 4);
  assert.equal(report.case.series.filter((s) => s.used).length, 2);
  assert.equal(report.detection.confidenceThreshold, 0.25);
  assert.ok(report.warnings.some((w) => w.code === 'no-focal-lesion' && w.message.includes('0.25')));
  assert.equal(report.demoModels, false);
  assert.deepEqual(
    report.models.map((m) => m.role),
    ['detector', 'benign-malignant', 'malignant-subtype', 'benign-subtype'],
  );
  assert.ok(report.models.every((m) => /^[0-9a-f]{16}$/.test(m.version)));
  assert.deepEqual(readReport(outDir), report);
  const html = readFileSync(join(outDir, 'report.html'), 'utf8');
  assert.match(html, /No focal lesion detected/);
  assert.match(html, /confidence threshold of 0\.25/);
  assert.doesNotMatch(html, /must not be used for diagnosis/);
  assert.deepEqual(
    stages.filter((s, i) => stages.indexOf(s) === i),
    ['read-case', 'load-models', 'detect', 'match', 'classify', 'report', 'done'],
  );
  assert.ok(report.timingsMs.total >= report.timingsMs.detect);
});

test('requested phases limit the series', async () => {
  const report = await diagnoseCase(caseDir, { outDir: join(root, 'out-dp'), modelsDir, phases: ['dp,CT'] });
  assert.deepEqual(report.case.phasesUsed, ['DP', 'NC']);
});

test('phase mapping names an unlabelled series', async () => {
  const unlabelled = join(root, 'case-unlabelled');
  mkdirSync(join(unlabelled, 'scan'), { recursive: true });
  for (const file of readdirSync(join(caseDir, 'AP')))
    copyFileSync(join(caseDir, 'AP', file), join(unlabelled, 'scan', file));
  const report = await diagnoseCase(unlabelled, {
    outDir: join(root, 'out-mapped'),
    modelsDir,
    phaseMapping: { scan: 'AP' },
  });
  assert.deepEqual(report.case.phasesUsed, ['AP']);
  assert.equal(report.case.series[0].phaseSource, 'user');
});

test('missing requested phase is reported', async () => {
  const partial = join(root, 'case-ap-only');
  mkdirSync(join(partial, 'AP'), { recursive: true });
  for (const file of readdirSync(join(caseDir, 'AP')))
    copyFileSync(join(caseDir, 'AP', file), join(partial, 'AP', file));
  // An unreadable file beside the series must be listed and must not stop the diagnosis.
  writeFileSync(join(partial, 'AP', 'broken.dcm'), Buffer.from('not a DICOM file'));
  const report = await diagnoseCase(partial, { outDir: join(root, 'out-ap'), modelsDir });
  assert.deepEqual(report.case.phasesUsed, ['AP']);
  assert.deepEqual(report.case.phasesMissing, ['PVP']);
  assert.ok(report.warnings.some((w) => w.code === 'phase-missing' && w.phase === 'PVP'));
  assert.equal(report.case.failedFiles.length, 1);
  assert.equal(report.case.failedFiles[0].file, 'broken.dcm');
  await assert.rejects(
    diagnoseCase(partial, { outDir: join(root, 'out-ap2'), modelsDir, phases: ['PVP'] }),
    /none of the requested phases PVP/,
  );
});

test('unknown phase name is rejected', async () => {
  await assert.rejects(
    diagnoseCase(caseDir, { outDir: join(root, 'out-bad'), modelsDir, phases: ['venous-late'] }),
    /unknown phase "venous-late"/,
  );
});

test('models folder without detector fails clearly', async () => {
  const partialModels = join(root, 'models-no-detector');
  mkdirSync(partialModels);
  copyFileSync(join(modelsDir, 'benign-malignant.onnx'), join(partialModels, 'benign-malignant.onnx'));
  // Only reachable when no bundled detector exists; with one, the slot falls back to it.
  if (existsSync(join(process.cwd(), 'models', 'detector.onnx'))) return;
  await assert.rejects(
    diagnoseCase(caseDir, { outDir: join(root, 'out-nodet'), modelsDir: partialModels }),
    /no detector model found/,
  );
});

test('truth boxes flow through classification and report', async () => {
  // The detector is replaced by the phantom's true boxes, so that crops, classifiers, CAM overlays and the
  // probability composition run on real lesion positions whatever the detector finds.
  const ctCase = await readCase(caseDir);
  const truth = JSON.parse(readFileSync(join(caseDir, 'truth.json'), 'utf8')) as Truth;
  const tracksBySeries: PhaseTrack[][] = ['AP', 'PVP'].map((phase) => {
    const series = ctCase.series.find((s) => s.phase === phase)!;
    return truth.lesions.map((lesion) => ({
      series,
      boxes: lesion.boxes[phase].map((b) => ({
        sliceIndex: b.slice,
        confidence: 0.9,
        box: { x1: b.x0, y1: b.y0, x2: b.x1, y2: b.y1 },
      })),
    }));
  });
  const matched = matchAcrossPhases(tracksBySeries);
  assert.equal(matched.length, truth.lesions.length);
  assert.ok(matched.every((lesion) => lesion.tracks.length === 2 && lesion.matchedBy === 'position'));

  const models = await loadModels(modelsDir);
  const crops = listCrops(matched, {
    marginFraction: CROP_MARGIN_FRACTION,
    minSidePx: CROP_MIN_SIDE_PX,
    inputSizePx: CLASSIFIER_INPUT_SIZE_PX,
    window: CROP_WINDOW,
  });
  const boxCount = tracksBySeries.flat().reduce((sum, track) => sum + track.boxes.length, 0);
  assert.equal(crops.length, boxCount);
  const outputs = await classifyCrops(crops, models.classifiers, CROP_WINDOW);

  const outDir = join(root, 'out-truth');
  mkdirSync(join(outDir, 'overlays'), { recursive: true });
  const { lesions, perLesionLogits } = await buildLesionReports({
    lesions: matched,
    outputs,
    outDir,
    window: CROP_WINDOW,
  });
  assert.equal(lesions[0].id, 'L1');
  for (const lesion of lesions) {
    const classification = lesion.classification!;
    const total = LESION_CLASSES.reduce(
      (sum, name) => sum + (classification.probabilities[name] as number),
      0,
    );
    assert.ok(Math.abs(total - 1) < 1e-6, `six-class probabilities of ${lesion.id} sum to ${total}`);
    assert.equal(
      classification.benignMalignant.cropCount,
      lesion.phases.reduce((sum, p) => sum + p.cropCount, 0),
    );
    for (const phase of lesion.phases) {
      const overlay = phase.overlays[0];
      assert.ok(existsSync(join(outDir, overlay.boxes)), `missing ${overlay.boxes}`);
      assert.ok(overlay.heatmap, `no heatmap path for ${lesion.id} ${phase.phase}`);
      assert.ok(existsSync(join(outDir, overlay.heatmap)), `missing ${overlay.heatmap}`);
      assert.notEqual(phase.maxDiameterMm, null);
      assert.ok((phase.maxDiameterMm as number) > 0);
      assert.ok(phase.centreMm !== null);
      // Phantom DICOM files are numbered from 1 in slice order, so the key slice's file name can be checked.
      assert.equal(phase.keySliceFile, `slice-${String(phase.keySliceIndex + 1).padStart(4, '0')}.dcm`);
    }
  }
  const patient = patientClassification(perLesionLogits)!;
  assert.equal(patient.benignMalignant.cropCount, boxCount);

  // The HTML report of these lesions, as a demo-model report, must embed its overlays and state the warning.
  const report: DiagnosisReport = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    lilnetVersion: 'test',
    case: { id: ctCase.id, series: [], phasesUsed: ['AP', 'PVP'], phasesMissing: [], failedFiles: [] },
    demoModels: true,
    models: models.infos,
    detection: { confidenceThreshold: 0.25, nmsIouThreshold: 0.5, inputSizePx: 256, window: CROP_WINDOW },
    crop: {
      marginFraction: CROP_MARGIN_FRACTION,
      minSidePx: CROP_MIN_SIDE_PX,
      inputSizePx: CLASSIFIER_INPUT_SIZE_PX,
      window: CROP_WINDOW,
    },
    noFocalLesionDetected: false,
    lesions,
    patient,
    warnings: [],
    timingsMs: {},
  };
  const html = await renderReportHtml(report, outDir);
  assert.ok(html.includes(DEMO_MODELS_WARNING));
  const overlayCount = lesions.reduce((sum, l) => sum + l.phases.length * 2, 0);
  assert.equal(html.match(/src="data:image\/png;base64,/g)?.length, overlayCount);
  assert.match(html, /<section class="lesion"><h3>Lesion L1<\/h3>/);
  assert.match(html, new RegExp(`Call: ${patient.call}`));
  assert.doesNotMatch(html, /src="(?!data:)/, 'the report must not load external files');
  writeFileSync(join(outDir, 'report.html'), html);
});

test('HTML report prints to PDF', async () => {
  const html = join(root, 'out-truth', 'report.html');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`file://${html}`);
    const images = await page.$$eval('img', (nodes) =>
      nodes.map((node) => (node as HTMLImageElement).naturalWidth),
    );
    assert.ok(images.length > 0 && images.every((width) => width > 0), 'every overlay image must decode');
    const pdf = await page.pdf({ format: 'A4' });
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    assert.ok(pdf.byteLength > 10_000, `PDF of ${pdf.byteLength} bytes is too small to hold the overlays`);
  } finally {
    await browser.close();
  }
});

test('CLI prints one JSON document', () => {
  const outDir = join(root, 'out-cli');
  const result = spawnSync(
    process.execPath,
    ['bin/lilnet.js', 'diagnose', caseDir, '--models', modelsDir, '--out', outDir, '--json'],
    {
      encoding: 'utf8',
      env: { ...process.env, LILNET_LOG_LEVEL: 'error' },
    },
  );
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as DiagnosisReport;
  assert.equal(report.noFocalLesionDetected, true);
  assert.match(result.stderr, /lilnet diagnose: warning: no focal lesion detected/);
  assert.ok(existsSync(join(outDir, 'report.html')));
});

test('CLI rejects missing case path', () => {
  const result = spawnSync(
    process.execPath,
    ['bin/lilnet.js', 'diagnose', join(root, 'no-such-case'), '--models', modelsDir],
    { encoding: 'utf8' },
  );
  assert.equal(result.status, 1);
  assert.match(result.stderr, /\[FILE_NOT_FOUND\] case path .*no-such-case not found/);
  assert.equal(result.stdout, '');
});

test('bundled demo models mark the report', async () => {
  const outDir = join(root, 'out-bundled');
  const report = await diagnoseCase(caseDir, { outDir });
  assert.equal(report.demoModels, true);
  assert.deepEqual(
    report.models.map((m) => m.role),
    ['detector', 'benign-malignant', 'malignant-subtype', 'benign-subtype'],
  );
  assert.ok(
    report.models.every((m) => m.demo),
    'every bundled model is a demo model',
  );
  assert.ok(
    report.models
      .filter((m) => m.role !== 'detector')
      .every((m) => m.trainedOn?.includes('train-default-models.sh')),
  );
  // The demo classifiers take 112-pixel crops; the report states the side the crops were prepared at.
  assert.equal(report.crop.inputSizePx, 112);
  const html = readFileSync(join(outDir, 'report.html'), 'utf8');
  assert.ok(html.includes(DEMO_MODELS_WARNING));
});
