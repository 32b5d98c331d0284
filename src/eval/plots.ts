/**
 * Evaluation plots as standalone SVG documents, readable without lilnet: a titled ROC plot (one-vs-rest curve per
 * class, the macro-average curve, the chance line, AUCs in the legend, optional reader operating points) and a
 * confusion matrix with counts and row percentages. PNG copies are rendered from the SVG with sharp (librsvg).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { LilnetError } from '../errors.ts';
import { macroAverageCurve, type RocPoint } from './roc.ts';

/** Okabe-Ito colours, distinguishable with the common colour-vision deficiencies. */
const CLASS_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442'];
const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

export interface RocPlotInput {
  title: string;
  subtitle: string;
  classes: string[];
  curves: RocPoint[][];
  aucPerClass: (number | null)[];
  aucMacro: number | null;
  /** Operating points to mark, such as readers' (1 - specificity, sensitivity). */
  markers?: { label: string; fpr: number; tpr: number }[];
  /** Legend text for the markers, such as `Readers (positive class: malignant)`. */
  markerLegend?: string;
}

export interface ConfusionPlotInput {
  title: string;
  /** One or more lines separated by newlines. */
  subtitle: string;
  classes: string[];
  /** Rows: reference class; columns: predicted class. */
  matrix: number[][];
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" ${attributes}>${escapeXml(content)}</text>`;
}

function formatAuc(auc: number | null): string {
  return auc === null ? 'AUC undefined' : `AUC ${auc.toFixed(3)}`;
}

/** Renders the ROC plot; the plot square spans false-positive rate 0 to 1 (x) and sensitivity 0 to 1 (y). */
export function rocPlotSvg(input: RocPlotInput): string {
  const width = 640;
  const height = 600;
  const left = 80;
  const top = 80;
  const size = 460;
  const x = (fpr: number): number => left + fpr * size;
  const y = (tpr: number): number => top + (1 - tpr) * size;
  const parts: string[] = [];

  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(text(width / 2, 30, input.title, 'font-size="18" font-weight="bold" text-anchor="middle"'));
  parts.push(text(width / 2, 54, input.subtitle, 'font-size="13" fill="#444" text-anchor="middle"'));

  for (let tick = 0; tick <= 5; tick += 1) {
    const value = tick / 5;
    parts.push(`<line x1="${x(value)}" y1="${top}" x2="${x(value)}" y2="${top + size}" stroke="#e5e5e5"/>`);
    parts.push(`<line x1="${left}" y1="${y(value)}" x2="${left + size}" y2="${y(value)}" stroke="#e5e5e5"/>`);
    parts.push(text(x(value), top + size + 20, value.toFixed(1), 'font-size="12" text-anchor="middle"'));
    parts.push(text(left - 8, y(value) + 4, value.toFixed(1), 'font-size="12" text-anchor="end"'));
  }
  parts.push(`<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#333"/>`);
  parts.push(
    text(
      left + size / 2,
      top + size + 46,
      'False-positive rate (1 - specificity)',
      'font-size="14" text-anchor="middle"',
    ),
  );
  parts.push(
    `<text transform="translate(${left - 50},${top + size / 2}) rotate(-90)" font-family="${FONT}" font-size="14" text-anchor="middle">True-positive rate (sensitivity)</text>`,
  );
  parts.push(
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 4"/>`,
  );

  const polyline = (points: { fpr: number; tpr: number }[], style: string): string =>
    `<polyline fill="none" ${style} points="${points.map((point) => `${x(point.fpr).toFixed(2)},${y(point.tpr).toFixed(2)}`).join(' ')}"/>`;
  const legend: { label: string; style: string; marker?: boolean }[] = [];
  input.curves.forEach((curve, k) => {
    const colour = CLASS_COLOURS[k % CLASS_COLOURS.length];
    const style = `stroke="${colour}" stroke-width="2"`;
    if (curve.length > 0) parts.push(polyline(curve, style));
    legend.push({ label: `${input.classes[k]} vs rest (${formatAuc(input.aucPerClass[k])})`, style });
  });
  const macro = macroAverageCurve(input.curves);
  if (macro.length > 0) {
    const style = 'stroke="#000" stroke-width="2" stroke-dasharray="7 4"';
    parts.push(polyline(macro, style));
    legend.push({ label: `Macro average (mean ${formatAuc(input.aucMacro)})`, style });
  }
  legend.push({ label: 'Chance', style: 'stroke="#999" stroke-dasharray="4 4"' });
  for (const marker of input.markers ?? []) {
    parts.push(`<circle cx="${x(marker.fpr)}" cy="${y(marker.tpr)}" r="5" fill="#000" stroke="white"/>`);
    const anchor = marker.fpr > 0.8 ? 'end' : 'start';
    const labelX = marker.fpr > 0.8 ? x(marker.fpr) - 8 : x(marker.fpr) + 8;
    parts.push(text(labelX, y(marker.tpr) + 14, marker.label, `font-size="11" text-anchor="${anchor}"`));
  }
  if ((input.markers ?? []).length > 0) {
    legend.push({ label: input.markerLegend ?? 'Operating points', style: '', marker: true });
  }

  const legendTop = top + size - 14 - 20 * legend.length;
  const legendLeft = left + size - 290;
  parts.push(
    `<rect x="${legendLeft - 8}" y="${legendTop - 14}" width="290" height="${20 * legend.length + 10}" fill="white" fill-opacity="0.9" stroke="#ccc"/>`,
  );
  legend.forEach((entry, row) => {
    const rowY = legendTop + 20 * row;
    if (entry.marker) parts.push(`<circle cx="${legendLeft + 13}" cy="${rowY - 4}" r="5" fill="#000"/>`);
    else
      parts.push(
        `<line x1="${legendLeft}" y1="${rowY - 4}" x2="${legendLeft + 26}" y2="${rowY - 4}" ${entry.style}/>`,
      );
    parts.push(text(legendLeft + 34, rowY, entry.label, 'font-size="12"'));
  });

  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${parts.join('\n')}\n</svg>\n`;
}

/** Renders the confusion matrix; cell shading follows the row percentage (share of each reference class). */
export function confusionMatrixSvg(input: ConfusionPlotInput): string {
  const classCount = input.classes.length;
  const cell = classCount <= 3 ? 110 : 80;
  const subtitleLines = input.subtitle.split('\n');
  const width = Math.max(600, 160 + cell * classCount + 60);
  const left = Math.round((width - cell * classCount) / 2 + 40);
  const top = 100 + 18 * subtitleLines.length;
  const height = top + cell * classCount + 80;
  const parts: string[] = [];

  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(text(width / 2, 30, input.title, 'font-size="18" font-weight="bold" text-anchor="middle"'));
  subtitleLines.forEach((line, row) => {
    parts.push(text(width / 2, 54 + 18 * row, line, 'font-size="13" fill="#444" text-anchor="middle"'));
  });
  parts.push(
    text(left + (cell * classCount) / 2, top - 36, 'Predicted class', 'font-size="14" text-anchor="middle"'),
  );
  parts.push(
    `<text transform="translate(${left - 110},${top + (cell * classCount) / 2}) rotate(-90)" font-family="${FONT}" font-size="14" text-anchor="middle">Reference diagnosis</text>`,
  );

  input.classes.forEach((name, k) => {
    parts.push(text(left + cell * k + cell / 2, top - 12, name, 'font-size="13" text-anchor="middle"'));
    parts.push(text(left - 10, top + cell * k + cell / 2 + 5, name, 'font-size="13" text-anchor="end"'));
  });
  input.matrix.forEach((row, reference) => {
    const rowTotal = row.reduce((sum, value) => sum + value, 0);
    row.forEach((count, predicted) => {
      const share = rowTotal === 0 ? 0 : count / rowTotal;
      const shade = Math.round(255 - share * 200);
      const fill = `rgb(${shade},${Math.round(255 - share * 140)},255)`;
      const ink = share > 0.6 ? 'white' : 'black';
      const cellX = left + cell * predicted;
      const cellY = top + cell * reference;
      parts.push(
        `<rect x="${cellX}" y="${cellY}" width="${cell}" height="${cell}" fill="${fill}" stroke="white" stroke-width="2"/>`,
      );
      parts.push(
        text(
          cellX + cell / 2,
          cellY + cell / 2,
          String(count),
          `font-size="20" font-weight="bold" fill="${ink}" text-anchor="middle"`,
        ),
      );
      const percent = rowTotal === 0 ? 'no cases' : `${(100 * share).toFixed(1)}% of row`;
      parts.push(
        text(
          cellX + cell / 2,
          cellY + cell / 2 + 22,
          percent,
          `font-size="11" fill="${ink}" text-anchor="middle"`,
        ),
      );
    });
  });
  parts.push(
    text(
      width / 2,
      top + cell * classCount + 36,
      'Rows: reference diagnosis. Columns: predicted class. Shading: share of the row.',
      'font-size="11" fill="#444" text-anchor="middle"',
    ),
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n${parts.join('\n')}\n</svg>\n`;
}

/** Writes `<name>.svg` and a `<name>.png` rendered at twice the SVG's size; returns both paths. */
export async function writeSvgAndPng(directory: string, name: string, svg: string): Promise<string[]> {
  const svgPath = join(directory, `${name}.svg`);
  const pngPath = join(directory, `${name}.png`);
  try {
    mkdirSync(directory, { recursive: true });
    writeFileSync(svgPath, svg);
    await sharp(Buffer.from(svg), { density: 144 }).flatten({ background: '#ffffff' }).png().toFile(pngPath);
  } catch (error) {
    throw new LilnetError(
      'EVAL_OUTPUT_FAILED',
      `cannot write the ${name} plot into ${directory}: ${(error as Error).message}`,
      {
        hint: 'pass a --plots folder you may write to',
        file: directory,
        cause: error,
      },
    );
  }
  return [svgPath, pngPath];
}
