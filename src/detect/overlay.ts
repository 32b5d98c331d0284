/** Overlay images: a grey slice with its detector boxes and scores drawn on it, as PNG, for review by eye. */
import sharp from 'sharp';
import type { Box } from './box.ts';
import type { GreySlice } from './slice-image.ts';

export async function renderDetectionOverlay(
  slice: GreySlice,
  boxes: readonly (Box & { score: number })[],
): Promise<Buffer> {
  const grey = Buffer.alloc(slice.width * slice.height);
  for (let index = 0; index < grey.length; index++)
    grey[index] = Math.round(Math.min(Math.max(slice.pixels[index], 0), 1) * 255);
  const shapes = boxes
    .map((box) => {
      const width = Math.max(1, box.x2 - box.x1);
      const height = Math.max(1, box.y2 - box.y1);
      const labelY = box.y1 > 14 ? box.y1 - 4 : box.y2 + 13;
      return (
        `<rect x="${box.x1.toFixed(1)}" y="${box.y1.toFixed(1)}" width="${width.toFixed(1)}" height="${height.toFixed(1)}" ` +
        `fill="none" stroke="#ffd400" stroke-width="2"/>` +
        `<text x="${box.x1.toFixed(1)}" y="${labelY.toFixed(1)}" font-family="sans-serif" font-size="12" fill="#ffd400">${box.score.toFixed(2)}</text>`
      );
    })
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${slice.width}" height="${slice.height}">${shapes}</svg>`;
  return sharp(grey, { raw: { width: slice.width, height: slice.height, channels: 1 } })
    .toColourspace('srgb')
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toBuffer();
}
