/** Plot of a precision-recall curve as a standalone SVG document, and as PNG rendered from it by sharp. */
import sharp from 'sharp';
import type { PrecisionRecallPoint } from './evaluate.ts';

const WIDTH = 480;
const HEIGHT = 400;
const MARGIN = { left: 60, right: 20, top: 40, bottom: 50 };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Renders the curve (recall on x, precision on y, both [0, 1]) as a step line, with the AP in the title. */
export function precisionRecallSvg(curve: readonly PrecisionRecallPoint[], title: string): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (recall: number): number => MARGIN.left + recall * plotWidth;
  const y = (precision: number): number => MARGIN.top + (1 - precision) * plotHeight;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
  );
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  for (let tick = 0; tick <= 10; tick += 2) {
    const value = tick / 10;
    parts.push(`<line x1="${x(value)}" y1="${y(0)}" x2="${x(value)}" y2="${y(1)}" stroke="#e0e0e0"/>`);
    parts.push(`<line x1="${x(0)}" y1="${y(value)}" x2="${x(1)}" y2="${y(value)}" stroke="#e0e0e0"/>`);
    parts.push(
      `<text x="${x(value)}" y="${y(0) + 18}" font-family="sans-serif" font-size="12" text-anchor="middle">${value.toFixed(1)}</text>`,
    );
    parts.push(
      `<text x="${x(0) - 8}" y="${y(value) + 4}" font-family="sans-serif" font-size="12" text-anchor="end">${value.toFixed(1)}</text>`,
    );
  }
  parts.push(
    `<rect x="${x(0)}" y="${y(1)}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="black"/>`,
  );

  if (curve.length > 0) {
    let path = `M ${x(0).toFixed(2)} ${y(curve[0].precision).toFixed(2)}`;
    for (const point of curve) path += ` H ${x(point.recall).toFixed(2)} V ${y(point.precision).toFixed(2)}`;
    parts.push(`<path d="${path}" fill="none" stroke="#1f5fa8" stroke-width="2"/>`);
  } else {
    parts.push(
      `<text x="${x(0.5)}" y="${y(0.5)}" font-family="sans-serif" font-size="14" text-anchor="middle">no predictions</text>`,
    );
  }

  parts.push(
    `<text x="${WIDTH / 2}" y="24" font-family="sans-serif" font-size="15" text-anchor="middle">${escapeXml(title)}</text>`,
  );
  parts.push(
    `<text x="${x(0.5)}" y="${HEIGHT - 12}" font-family="sans-serif" font-size="13" text-anchor="middle">recall</text>`,
  );
  parts.push(
    `<text x="16" y="${y(0.5)}" font-family="sans-serif" font-size="13" text-anchor="middle" transform="rotate(-90 16 ${y(0.5)})">precision</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).png().toBuffer();
}
