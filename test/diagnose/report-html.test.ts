import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReportHtml } from '../../src/diagnose/report-html.ts';
import type {
  Classification,
  ClassifierOutput,
  DiagnosisReport,
  LesionReport,
} from '../../src/diagnose/report-types.ts';

function output(
  role: ClassifierOutput['role'],
  classes: string[],
  probabilities: number[],
  cropCount: number,
): ClassifierOutput {
  return { role, classes, meanLogits: probabilities.map(Math.log), probabilities, cropCount };
}

// P(malignant) 0.56 picks the malignant branch and MET within it, although benign HEM has the largest share.
function hierarchicalClassification(cropCount: number): Classification {
  return {
    pMalignant: 0.56,
    branch: 'malignant',
    benignMalignant: output('benign-malignant', ['benign', 'malignant'], [0.44, 0.56], cropCount),
    malignantSubtype: output('malignant-subtype', ['HCC', 'ICC', 'MET'], [0.3, 0.3, 0.4], cropCount),
    benignSubtype: output('benign-subtype', ['FNH', 'HEM', 'CYST'], [0.01, 0.98, 0.01], cropCount),
    probabilities: { HCC: 0.168, ICC: 0.168, MET: 0.224, FNH: 0.0044, HEM: 0.4312, CYST: 0.0044 },
    call: 'MET',
    callProbability: 0.224,
  };
}

function lesion(id: string, matchedBy: LesionReport['matchedBy']): LesionReport {
  const box = { sliceIndex: 4, box: { x1: 10, y1: 10, x2: 30, y2: 30 }, confidence: 0.8 };
  const phase = {
    seriesId: 's',
    boxes: [box],
    keySliceIndex: 4,
    centreMm: null,
    maxDiameterMm: null,
    maxDiameterPx: 20,
    cropCount: 1,
    overlays: [],
  };
  const phases =
    matchedBy === 'single-phase'
      ? [{ ...phase, phase: 'AP' as const }]
      : [
          { ...phase, phase: 'AP' as const },
          { ...phase, phase: 'PVP' as const },
        ];
  return { id, phases, matchedBy, classification: hierarchicalClassification(1), warnings: [] };
}

function report(): DiagnosisReport {
  return {
    schemaVersion: '1.0.0',
    createdAt: '2026-01-01T00:00:00.000Z',
    lilnetVersion: '0.1.0',
    case: { id: 'case', series: [], phasesUsed: ['AP', 'PVP'], phasesMissing: [], failedFiles: [] },
    demoModels: false,
    models: [],
    detection: { confidenceThreshold: 0.25, nmsIouThreshold: 0.5, inputSizePx: 256, window: null },
    crop: { marginFraction: 0.25, minSidePx: 8, inputSizePx: 112, window: null },
    noFocalLesionDetected: false,
    lesions: [lesion('L1', 'single-phase'), lesion('L2', 'position'), lesion('L3', 'slice-overlap')],
    patient: hierarchicalClassification(3),
    warnings: [],
    timingsMs: {},
  };
}

test('HTML report explains linking and call', async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'lilnet-report-html-'));
  try {
    const html = await renderReportHtml(report(), outDir);
    assert.doesNotMatch(html, /Phases linked by single-phase/);
    assert.match(html, /Found in one phase only/);
    assert.match(
      html,
      /Phases linked by position: the box centres lie close together in patient coordinates/,
    );
    assert.match(html, /Phases linked by overlapping slice ranges/);
    assert.match(html, /from 1 crop\./);
    assert.match(html, /from 3 crops\./);
    assert.match(html, /The call is made in two stages: first malignant \(P\(malignant\) = 56\.0%\)/);
    assert.match(html, /largest of the six probabilities, HEM \(43\.1%\)/);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

test('HTML report omits note when call leads', async () => {
  const outDir = mkdtempSync(join(tmpdir(), 'lilnet-report-html-'));
  try {
    const agreeing = report();
    const classification = hierarchicalClassification(3);
    classification.probabilities = { HCC: 0.1, ICC: 0.1, MET: 0.5, FNH: 0.1, HEM: 0.1, CYST: 0.1 };
    classification.callProbability = 0.5;
    agreeing.patient = classification;
    agreeing.lesions = [];
    const html = await renderReportHtml(agreeing, outDir);
    assert.doesNotMatch(html, /two stages/);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
