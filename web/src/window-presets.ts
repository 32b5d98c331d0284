/** Display windows of the viewer, in Hounsfield units (centre = level, width). */
import type { DisplayWindow } from '../../src/imaging/volume.ts';
import { WINDOW_PRESETS } from '../../src/imaging/window.ts';

export type { DisplayWindow };
export const LIVER_WINDOW: DisplayWindow = WINDOW_PRESETS.liver;
export const ABDOMEN_WINDOW: DisplayWindow = WINDOW_PRESETS.abdomen;

/**
 * Fills `lut` so that `lut[value + offset]` is the 8-bit grey of `value` under the linear window
 * [centre - width/2, centre + width/2].
 */
export function fillWindowLut(lut: Uint8Array, offset: number, window: DisplayWindow): void {
  const low = window.centre - window.width / 2;
  const scale = 255 / Math.max(1, window.width);
  for (let index = 0; index < lut.length; index += 1) {
    const grey = (index - offset - low) * scale;
    lut[index] = Math.round(Math.min(255, Math.max(0, grey)));
  }
}
