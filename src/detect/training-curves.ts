/** Plot of a detector training run: training loss (left axis) and validation F1 at IoU 0.3 (right axis) by epoch. */
import type { EpochRecord } from './train-detector.ts';

const WIDTH = 560;
const HEIGHT = 360;
const MARGIN = { left: 60, right: 60, top: 40, bottom: 50 };

export function trainingCurvesSvg(history: readonly EpochRecord[]): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const lastEpoch = Math.max(1, ...history.map((record) => record.epoch));
  const maxLoss = Math.max(1e-6, ...history.map((record) => record.trainLoss));
  const x = (epoch: number): number =>
    MARGIN.left + (lastEpoch === 1 ? 0.5 : (epoch - 1) / (lastEpoch - 1)) * plotWidth;
  const yLoss = (loss: number): number => MARGIN.top + (1 - loss / maxLoss) * plotHeight;
  const yScore = (score: number): number => MARGIN.top + (1 - score) * plotHeight;
  const font = 'font-family="sans-serif" font-size="12"';

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="black"/>`,
    `<text x="${WIDTH / 2}" y="24" font-family="sans-serif" font-size="15" text-anchor="middle">Detector training</text>`,
    `<text x="${WIDTH / 2}" y="${HEIGHT - 12}" ${font} text-anchor="middle">epoch (last ${lastEpoch})</text>`,
    `<text x="${MARGIN.left - 8}" y="${MARGIN.top + 4}" ${font} text-anchor="end">${maxLoss.toFixed(2)}</text>`,
    `<text x="${MARGIN.left - 8}" y="${MARGIN.top + plotHeight}" ${font} text-anchor="end">0</text>`,
    `<text x="${WIDTH - MARGIN.right + 8}" y="${MARGIN.top + 4}" ${font}>1.0</text>`,
    `<text x="${WIDTH - MARGIN.right + 8}" y="${MARGIN.top + plotHeight}" ${font}>0.0</text>`,
    `<text x="${MARGIN.left}" y="${MARGIN.top - 6}" ${font} fill="#b03a2e">training loss</text>`,
    `<text x="${WIDTH - MARGIN.right}" y="${MARGIN.top - 6}" ${font} fill="#1f5fa8" text-anchor="end">validation F1 at IoU 0.3</text>`,
  ];
  const line = (points: [number, number][], colour: string): void => {
    if (points.length === 0) return;
    const path = points
      .map(([px, py], index) => `${index === 0 ? 'M' : 'L'} ${px.toFixed(2)} ${py.toFixed(2)}`)
      .join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const [px, py] of points)
      parts.push(`<circle cx="${px.toFixed(2)}" cy="${py.toFixed(2)}" r="2.5" fill="${colour}"/>`);
  };
  line(
    history.map((record) => [x(record.epoch), yLoss(record.trainLoss)]),
    '#b03a2e',
  );
  line(
    history.flatMap((record) =>
      record.valF1At30 === null ? [] : [[x(record.epoch), yScore(record.valF1At30)] as [number, number]],
    ),
    '#1f5fa8',
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
