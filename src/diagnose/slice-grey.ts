/**
 * One slice of a series as grey levels in [0, 255], the form the detector and the classifiers read.
 * HU series are windowed with the DICOM linear function, as the training data of `lilnet synth` are;
 * display-ready grey series are used as stored (16-bit grey scaled down to 8 bits).
 */
import { sliceView, type DisplayWindow, type Series } from '../imaging/volume.ts';
import { applyWindow } from '../imaging/window.ts';

/**
 * Returns a new array of `columns * rows` grey levels for slice `z`, in [0, 255], or in [0, 1] when
 * `unitScale` is true (the detector's input scale).
 */
export function sliceToGrey(
  series: Series,
  z: number,
  window: DisplayWindow | null,
  unitScale = false,
): Float32Array {
  const values = sliceView(series, z);
  const out = new Float32Array(values.length);
  if (series.unit === 'HU' && window) {
    const grey = applyWindow(values, window);
    const factor = unitScale ? 1 / 255 : 1;
    for (let i = 0; i < out.length; i++) out[i] = grey[i] * factor;
    return out;
  }
  const scale = series.unit === 'grey' && seriesMax(series) > 255 ? 255 / 65535 : 1;
  const factor = unitScale ? 1 / 255 : 1;
  for (let i = 0; i < out.length; i++) out[i] = Math.min(255, Math.max(0, values[i] * scale)) * factor;
  return out;
}

const maxCache = new WeakMap<Series, number>();

function seriesMax(series: Series): number {
  let max = maxCache.get(series);
  if (max === undefined) {
    max = -Infinity;
    for (const value of series.voxels) if (value > max) max = value;
    maxCache.set(series, max);
  }
  return max;
}
