/**
 * Display windowing: the DICOM linear VOI LUT function (PS3.3 section C.11.2.1.2.1) from voxel values to 8-bit
 * grey levels, and the window presets of liver CT reading.
 */
import { LilnetError } from '../errors.ts';
import type { DisplayWindow, Series } from './volume.ts';

/** Windows in Hounsfield units. `liver` is W150/L90 and `abdomen` (soft tissue) is W400/L40. */
export const WINDOW_PRESETS = {
  liver: { centre: 90, width: 150 },
  abdomen: { centre: 40, width: 400 },
} as const satisfies Record<string, DisplayWindow>;

export type WindowPresetName = keyof typeof WINDOW_PRESETS;

/**
 * Maps values to 0..255 with the DICOM linear function: with c = centre, w = width,
 * x <= c - 0.5 - (w - 1) / 2 gives 0, x > c - 0.5 + (w - 1) / 2 gives 255, and in between
 * ((x - (c - 0.5)) / (w - 1) + 0.5) * 255, rounded. A width below 1 is invalid (the standard requires w >= 1).
 */
export function applyWindow(values: Float32Array, window: DisplayWindow): Uint8Array {
  const { centre, width } = window;
  if (!Number.isFinite(centre) || !Number.isFinite(width) || width < 1) {
    throw new LilnetError('INVALID_ARGUMENT', `display window centre ${centre} width ${width} is invalid`, {
      hint: 'use a finite centre and a width of at least 1, e.g. liver W150/L90',
    });
  }
  const out = new Uint8Array(values.length);
  const lower = centre - 0.5 - (width - 1) / 2;
  const upper = centre - 0.5 + (width - 1) / 2;
  // With width 1 the ramp has no slope; the standard's thresholds alone decide.
  const scale = width > 1 ? 255 / (width - 1) : 0;
  const offset = centre - 0.5;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x <= lower) out[i] = 0;
    else if (x > upper) out[i] = 255;
    else out[i] = Math.round((x - offset) * scale + 127.5);
  }
  return out;
}

/**
 * Chooses the window to display a series: the file's own window when it has one, else for HU the abdomen
 * preset, else the full value range (grey-level slices map their range unchanged when it is 0..255).
 */
export function defaultWindow(series: Series): DisplayWindow {
  if (series.fileWindow) return series.fileWindow;
  if (series.unit === 'HU') return WINDOW_PRESETS.abdomen;
  let min = Infinity;
  let max = -Infinity;
  for (const value of series.voxels) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (series.unit === 'grey' && min >= 0 && max <= 255) return { centre: 128, width: 256 };
  if (!Number.isFinite(min) || max <= min) return { centre: 128, width: 256 };
  return { centre: (min + max) / 2 + 0.5, width: max - min + 1 };
}

/** Parses a preset name or `W/L` (e.g. `400/40`, width first, in the radiologists' W/L order). */
export function parseWindow(text: string): DisplayWindow {
  if (text in WINDOW_PRESETS) return WINDOW_PRESETS[text as WindowPresetName];
  const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(-?\d+(?:\.\d+)?)\s*$/.exec(text);
  if (!match) {
    throw new LilnetError('INVALID_ARGUMENT', `window "${text}" is neither a preset nor width/level`, {
      hint: `use ${Object.keys(WINDOW_PRESETS).join(' or ')}, or width/level in HU such as 150/90`,
    });
  }
  return { width: Number(match[1]), centre: Number(match[2]) };
}
