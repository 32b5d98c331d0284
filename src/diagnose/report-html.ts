/**
 * The human-readable report: one self-contained HTML file (overlay PNGs embedded as data URLs, no scripts, no
 * external resources) with print styles, so that a browser's "Print to PDF" gives a usable A4 document.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  LESION_CLASSES,
  type Classification,
  type LesionClass,
  type DiagnosisReport,
  type LesionReport,
  type ReportWarning,
} from './report-types.ts';

export const DEMO_MODELS_WARNING =
  'These results come from demo models that lilnet trained on synthetic phantoms. They have never seen a real ' +
  'patient and must not be used for diagnosis.';

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #111; margin: 24px auto; max-width: 960px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 24px 0 8px; border-bottom: 1px solid #ccc; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #444; margin: 0 0 12px; }
.demo { border: 2px solid #b00; background: #fee; color: #600; padding: 10px 12px; font-weight: 600; margin: 12px 0; }
.none { border: 1px solid #888; background: #f4f4f4; padding: 10px 12px; margin: 12px 0; }
table { border-collapse: collapse; margin: 6px 0 12px; } th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.call td { font-weight: 700; background: #eef4ff; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; }
figure { margin: 0; width: 300px; } figure img { width: 300px; height: auto; image-rendering: auto; border: 1px solid #999; }
figcaption { font-size: 12px; color: #333; }
ul.warnings li { margin: 2px 0; }
.small { font-size: 12px; color: #444; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  section.lesion { break-inside: avoid; }
  .demo { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  figure img { width: 6.5cm; } figure { width: 6.5cm; }
}
@page { size: A4; margin: 15mm; }
`;

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function percent(value: number | null): string {
  return value === null ? 'n/a' : `${(100 * value).toFixed(1)}%`;
}

/**
 * Explains a call that is not the largest of the six probabilities. The call takes the benign/malignant branch
 * first and the subtype within it, so a reader comparing it with the table would otherwise suspect an error.
 */
function hierarchyNote(classification: Classification): string {
  let largest: LesionClass | null = null;
  for (const name of LESION_CLASSES) {
    const value = classification.probabilities[name];
    if (value === null) continue;
    if (largest === null || value > (classification.probabilities[largest] ?? -1)) largest = name;
  }
  if (largest === null || classification.call === null || largest === classification.call) return '';
  return (
    `<p class="small">The call is made in two stages: first ${classification.branch} ` +
    `(P(malignant) = ${percent(classification.pMalignant)}), then the most likely subtype of that branch. ` +
    `So it differs from the largest of the six probabilities, ${largest} (${percent(classification.probabilities[largest])}).</p>`
  );
}

function classificationTable(classification: Classification): string {
  const rows = LESION_CLASSES.map((name) => {
    const rowClass = classification.call === name ? ' class="call"' : '';
    return `<tr${rowClass}><td>${name}</td><td class="num">${percent(classification.probabilities[name])}</td></tr>`;
  }).join('');
  const call = classification.call ?? `${classification.branch} (no subtype model)`;
  const cropCount = classification.benignMalignant.cropCount;
  return (
    `<p><strong>Call: ${escapeHtml(call)}</strong>, P = ${percent(classification.callProbability)}; ` +
    `P(malignant) = ${percent(classification.pMalignant)} from ${cropCount} crop${cropCount === 1 ? '' : 's'}.</p>` +
    hierarchyNote(classification) +
    `<table><thead><tr><th>class</th><th>probability</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

/** Describes in words the rule that linked a lesion's phases. */
export function describeMatch(matchedBy: LesionReport['matchedBy']): string {
  switch (matchedBy) {
    case 'position':
      return 'Phases linked by position: the box centres lie close together in patient coordinates.';
    case 'slice-overlap':
      return 'Phases linked by overlapping slice ranges and in-plane position (the series have no patient coordinates).';
    case 'single-phase':
      return 'Found in one phase only: not linked to a finding in another phase.';
  }
}

function warningList(warnings: readonly ReportWarning[]): string {
  if (warnings.length === 0) return '';
  const items = warnings
    .map(
      (w) =>
        `<li><code>${escapeHtml(w.code)}</code> ${escapeHtml(w.message)}${w.phase ? ` (phase ${w.phase})` : ''}</li>`,
    )
    .join('');
  return `<ul class="warnings">${items}</ul>`;
}

async function imageTag(outDir: string, relativePath: string, alt: string): Promise<string> {
  const bytes = await readFile(join(outDir, relativePath));
  return `<img alt="${escapeHtml(alt)}" src="data:image/png;base64,${bytes.toString('base64')}">`;
}

async function lesionSection(lesion: LesionReport, outDir: string): Promise<string> {
  const phaseRows = lesion.phases
    .map((p) => {
      const slices = p.boxes.map((b) => b.sliceIndex);
      const size =
        p.maxDiameterMm !== null ? `${p.maxDiameterMm.toFixed(1)} mm` : `${p.maxDiameterPx.toFixed(0)} px`;
      return (
        `<tr><td>${p.phase}</td><td class="num">${Math.min(...slices)} to ${Math.max(...slices)}</td>` +
        `<td class="num">${p.keySliceIndex}${p.keySliceFile ? ` (${escapeHtml(p.keySliceFile)})` : ''}</td><td class="num">${size}</td>` +
        `<td class="num">${Math.max(...p.boxes.map((b) => b.confidence)).toFixed(2)}</td><td class="num">${p.cropCount}</td></tr>`
      );
    })
    .join('');
  const figures: string[] = [];
  for (const phase of lesion.phases) {
    for (const overlay of phase.overlays) {
      const caption = `${lesion.id}, ${overlay.phase}, slice ${overlay.sliceIndex}`;
      figures.push(
        `<figure>${await imageTag(outDir, overlay.boxes, `${caption}, boxes`)}<figcaption>${caption}: detector boxes</figcaption></figure>`,
      );
      if (overlay.heatmap) {
        figures.push(
          `<figure>${await imageTag(outDir, overlay.heatmap, `${caption}, heatmap`)}` +
            `<figcaption>${caption}: class-activation map of the call</figcaption></figure>`,
        );
      }
    }
  }
  return (
    `<section class="lesion"><h3>Lesion ${lesion.id}</h3>` +
    `<table><thead><tr><th>phase</th><th>slices</th><th>key slice</th><th>size</th><th>max confidence</th><th>crops</th></tr></thead>` +
    `<tbody>${phaseRows}</tbody></table>` +
    `<p class="small">${describeMatch(lesion.matchedBy)}</p>` +
    (lesion.classification ? classificationTable(lesion.classification) : '<p>Not classified.</p>') +
    warningList(lesion.warnings) +
    `<div class="figures">${figures.join('')}</div></section>`
  );
}

/** Renders the report as one HTML document; overlay PNGs are read from `outDir` and embedded. */
export async function renderReportHtml(report: DiagnosisReport, outDir: string): Promise<string> {
  const parts: string[] = [];
  parts.push(`<h1>lilnet diagnosis report</h1>`);
  parts.push(
    `<p class="meta">Case ${escapeHtml(report.case.id)} · phases ${report.case.phasesUsed.join(', ') || 'none'} · ` +
      `created ${escapeHtml(report.createdAt)} · lilnet ${escapeHtml(report.lilnetVersion)} · report schema ${report.schemaVersion}</p>`,
  );
  if (report.demoModels) parts.push(`<div class="demo">${escapeHtml(DEMO_MODELS_WARNING)}</div>`);

  parts.push('<h2>Summary</h2>');
  if (report.noFocalLesionDetected) {
    parts.push(
      `<div class="none">No focal lesion detected: no detector box reached the confidence threshold of ` +
        `${report.detection.confidenceThreshold} in phases ${report.case.phasesUsed.join(', ') || 'none'}.</div>`,
    );
  } else {
    parts.push(`<p>${report.lesions.length} lesion${report.lesions.length === 1 ? '' : 's'} detected.</p>`);
    if (report.patient) {
      parts.push('<h3>Patient level (mean logits over every crop of every lesion)</h3>');
      parts.push(classificationTable(report.patient));
    }
  }
  if (report.warnings.length > 0) {
    parts.push('<h2>Warnings</h2>');
    parts.push(warningList(report.warnings));
  }

  if (report.lesions.length > 0) parts.push('<h2>Lesions</h2>');
  for (const lesion of report.lesions) parts.push(await lesionSection(lesion, outDir));

  parts.push('<h2>Models</h2>');
  const modelRows = report.models
    .map(
      (m) =>
        `<tr><td>${m.role}</td><td>${escapeHtml(m.file)}</td><td>${escapeHtml(m.architecture)}</td>` +
        `<td><code>${m.version}</code></td><td>${m.demo ? 'demo (synthetic phantoms)' : 'user supplied'}</td></tr>`,
    )
    .join('');
  parts.push(
    `<table><thead><tr><th>slot</th><th>file</th><th>architecture</th><th>version (SHA-256)</th><th>origin</th></tr></thead><tbody>${modelRows}</tbody></table>`,
  );

  parts.push('<h2>Settings</h2>');
  const detectionWindow = report.detection.window
    ? `centre ${report.detection.window.centre} HU, width ${report.detection.window.width} HU`
    : 'images used as stored';
  const cropWindow = report.crop.window
    ? `centre ${report.crop.window.centre} HU, width ${report.crop.window.width} HU`
    : 'images used as stored';
  parts.push(
    `<p class="small">Detection: confidence threshold ${report.detection.confidenceThreshold}, NMS IoU ${report.detection.nmsIouThreshold}, ` +
      `input ${report.detection.inputSizePx} px, window ${detectionWindow}. Crops: square, margin ${report.crop.marginFraction} of the box side ` +
      `on each side, at least ${report.crop.minSidePx} px, resized to ${report.crop.inputSizePx} px, window ${cropWindow}. ` +
      `Probabilities: P(subtype) = P(branch) x P(subtype | branch), each from the softmax of mean aggregated logits.</p>`,
  );
  parts.push(
    '<p class="small">lilnet is a second reader that shows its evidence; every finding needs a radiologist\'s review.</p>',
  );

  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>lilnet report ${escapeHtml(report.case.id)}</title>` +
    `<style>${STYLE}</style></head><body>${parts.join('\n')}</body></html>\n`
  );
}
