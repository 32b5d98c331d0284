/** Loss and accuracy curves of a training run as an SVG chart (and a PNG rendered from it by sharp). */
import sharp from 'sharp';

export interface EpochMetrics {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAccuracy: number;
  imagesPerSecond: number;
  valAccuracy: number | null;
  valAuc: number | null;
  valPatients: number;
  elapsedMs: number;
}

interface Series {
  name: string;
  colour: string;
  values: (number | null)[];
}

function panel(
  x0: number,
  width: number,
  height: number,
  title: string,
  series: Series[],
  epochs: number[],
  fixedMax?: number,
): string {
  const top = 30;
  const left = x0 + 45;
  const plotWidth = width - 60;
  const plotHeight = height - 70;
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const max = fixedMax ?? Math.max(1e-6, ...all) * 1.05;
  const firstEpoch = epochs[0] ?? 1;
  const lastEpoch = Math.max(firstEpoch + 1, epochs[epochs.length - 1] ?? 1);
  const px = (epoch: number) => left + ((epoch - firstEpoch) / (lastEpoch - firstEpoch)) * plotWidth;
  const py = (value: number) => top + plotHeight - (value / max) * plotHeight;
  const parts = [
    `<text x="${x0 + width / 2}" y="18" text-anchor="middle" font-size="14">${title}</text>`,
    `<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`,
    `<text x="${left - 4}" y="${top + 4}" text-anchor="end" font-size="10">${max.toFixed(2)}</text>`,
    `<text x="${left - 4}" y="${top + plotHeight}" text-anchor="end" font-size="10">0</text>`,
    `<text x="${left}" y="${top + plotHeight + 14}" font-size="10">${firstEpoch}</text>`,
    `<text x="${left + plotWidth}" y="${top + plotHeight + 14}" text-anchor="end" font-size="10">epoch ${lastEpoch}</text>`,
  ];
  series.forEach((s, index) => {
    const points = epochs
      .map((epoch, i) =>
        s.values[i] === null || !Number.isFinite(s.values[i]!)
          ? null
          : `${px(epoch).toFixed(1)},${py(s.values[i]!).toFixed(1)}`,
      )
      .filter((p): p is string => p !== null);
    if (points.length > 0)
      parts.push(
        `<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${points.join(' ')}"/>`,
      );
    parts.push(
      `<text x="${left + 8}" y="${top + plotHeight + 30 + 12 * index}" font-size="11" fill="${s.colour}">${s.name}</text>`,
    );
  });
  return parts.join('\n');
}

/** Renders the run's curves: training loss on the left, training and validation accuracy and AUC on the right. */
export function curvesSvg(history: readonly EpochMetrics[]): string {
  const epochs = history.map((m) => m.epoch);
  const width = 900;
  const height = 380;
  const left = panel(
    0,
    width / 2,
    height,
    'training loss',
    [{ name: 'loss', colour: '#c0392b', values: history.map((m) => m.trainLoss) }],
    epochs,
  );
  const right = panel(
    width / 2,
    width / 2,
    height,
    'accuracy and AUC',
    [
      { name: 'training accuracy (images)', colour: '#2980b9', values: history.map((m) => m.trainAccuracy) },
      {
        name: 'validation accuracy (patients)',
        colour: '#27ae60',
        values: history.map((m) => m.valAccuracy),
      },
      { name: 'validation AUC (patients)', colour: '#8e44ad', values: history.map((m) => m.valAuc) },
    ],
    epochs,
    1,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${left}\n${right}\n</svg>\n`;
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
