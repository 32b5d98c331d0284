/**
 * Running a detector on slices: an ONNX model (lilnet's own export or an Ultralytics YOLOv8 export) or a lilnet
 * detector checkpoint, which is exported in memory first, so every model runs on ONNX Runtime. Slices are
 * letterboxed to the model input, the output is decoded with the YOLOv8 convention, and boxes come back in
 * slice pixels.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { LilnetError } from '../errors.ts';
import type { ScoredBox } from './box.ts';
import { decodeYoloOutput, type DecodeOptions } from './decode.ts';
import { isDetectorCheckpoint, readDetectorCheckpoint } from './detector-checkpoint.ts';
import { exportDetectorOnnx } from './export-detector.ts';
import { letterboxSlice, letterboxToSlice, type Letterbox } from './letterbox.ts';
import type { GreySlice } from './slice-image.ts';

/** The bundled default detector, used when no model is given. */
export const DEFAULT_DETECTOR_PATH = fileURLToPath(new URL('../../models/detector.onnx', import.meta.url));

/** Input side assumed for models whose input shape is dynamic: the 512 of the LiLNet study's detector. */
export const FALLBACK_INPUT_SIZE = 512;

/** Images per ONNX Runtime call when the model's batch dimension is dynamic. */
const DYNAMIC_BATCH_SIZE = 8;

export interface DetectorSession {
  /** The model file. */
  source: string;
  inputSize: number;
  channels: number;
  /** Images per run: the model's fixed batch size, or {@link DYNAMIC_BATCH_SIZE}. */
  batchSize: number;
  /** Runs `count` letterboxed images `[count, channels, S, S]` and returns the raw output. */
  run(input: Float32Array, count: number): Promise<{ data: Float32Array; dims: number[] }>;
  release(): Promise<void>;
}

function staticDim(shape: readonly (number | string)[], index: number): number | null {
  const value = shape[index];
  return typeof value === 'number' && value > 0 ? value : null;
}

/** Opens a detector from an ONNX file or a lilnet checkpoint; without a path, the bundled default. */
export async function openDetector(modelPath?: string): Promise<DetectorSession> {
  const path = modelPath ?? DEFAULT_DETECTOR_PATH;
  if (!existsSync(path)) {
    if (modelPath === undefined) {
      throw new LilnetError(
        'DETECTOR_MODEL_NOT_FOUND',
        `no detector given and no default detector at ${DEFAULT_DETECTOR_PATH}`,
        {
          hint:
            'pass --model <detector.onnx | best.ckpt>: train one with `lilnet train-detector --data <yolo root> --out <run>` ' +
            '(phantom data from `lilnet synth`), or export an Ultralytics YOLOv8 detector with `yolo export format=onnx`',
        },
      );
    }
    throw new LilnetError('FILE_NOT_FOUND', `detector model ${path} not found`, {
      hint: 'pass an ONNX detector or a checkpoint from a `lilnet train-detector` run folder',
      file: path,
    });
  }
  const bytes = readFileSync(path);
  const modelBytes = isDetectorCheckpoint(bytes)
    ? exportDetectorOnnx(readDetectorCheckpoint(path))
    : new Uint8Array(bytes);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelBytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw new LilnetError(
      'DETECTOR_MODEL_INVALID',
      `ONNX Runtime cannot load detector ${path}: ${(error as Error).message}`,
      {
        hint: 'pass a complete ONNX file (opset 17 or lower) or a lilnet detector checkpoint',
        file: path,
        cause: error,
      },
    );
  }
  const metadata = session.inputMetadata[0];
  const shape = metadata && metadata.isTensor ? metadata.shape : [];
  if (session.inputNames.length !== 1 || shape.length !== 4) {
    await session.release();
    throw new LilnetError(
      'DETECTOR_MODEL_INVALID',
      `detector ${path} must take one input [batch, channels, S, S], found ${session.inputNames.length} inputs`,
      {
        hint: 'YOLOv8 detectors exported by Ultralytics and lilnet detectors take one image tensor',
        file: path,
      },
    );
  }
  const inputSize = staticDim(shape, 3) ?? staticDim(shape, 2) ?? FALLBACK_INPUT_SIZE;
  const channels = staticDim(shape, 1) ?? 3;
  const batchSize = staticDim(shape, 0) ?? DYNAMIC_BATCH_SIZE;
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  return {
    source: path,
    inputSize,
    channels,
    batchSize,
    async run(input, count) {
      // A model with a fixed batch larger than `count` gets padded input; the extra outputs are ignored.
      const batch = Math.max(count, staticDim(shape, 0) ?? count);
      const padded = batch === count ? input : new Float32Array(batch * channels * inputSize * inputSize);
      if (padded !== input) padded.set(input);
      let output: ort.Tensor;
      try {
        const results = await session.run({
          [inputName]: new ort.Tensor('float32', padded, [batch, channels, inputSize, inputSize]),
        });
        output = results[outputName] as ort.Tensor;
      } catch (error) {
        throw new LilnetError(
          'DETECTOR_MODEL_INVALID',
          `running detector ${path} failed: ${(error as Error).message}`,
          {
            hint: `the detector must take [batch, ${channels}, ${inputSize}, ${inputSize}] float32 input`,
            file: path,
            cause: error,
          },
        );
      }
      const dims = output.dims.map(Number);
      if (dims.length !== 3 || dims[1] < 5) {
        throw new LilnetError(
          'DETECTOR_MODEL_INVALID',
          `detector ${path} outputs shape [${dims.join(', ')}], not [batch, 4 + classes, anchors]`,
          {
            hint: 'export Ultralytics models with `yolo export format=onnx` and without NMS (nms=False)',
            file: path,
          },
        );
      }
      return { data: output.data as Float32Array, dims };
    },
    release: () => session.release(),
  };
}

/** Detects lesions on slices; returns, per slice, boxes in slice pixels with scores, best first. */
export async function detectOnSlices(
  detector: DetectorSession,
  slices: readonly GreySlice[],
  options: DecodeOptions = {},
): Promise<ScoredBox[][]> {
  const results: ScoredBox[][] = [];
  const { inputSize, channels } = detector;
  const imageSize = channels * inputSize * inputSize;
  for (let start = 0; start < slices.length; start += detector.batchSize) {
    const batch = slices.slice(start, start + detector.batchSize);
    const input = new Float32Array(batch.length * imageSize);
    const letterboxes: Letterbox[] = [];
    batch.forEach((slice, index) => {
      const prepared = letterboxSlice(slice.pixels, slice.width, slice.height, inputSize, channels);
      input.set(prepared.input, index * imageSize);
      letterboxes.push(prepared.letterbox);
    });
    const { data, dims } = await detector.run(input, batch.length);
    batch.forEach((_, index) => {
      const boxes = decodeYoloOutput(data, dims, options, index);
      results.push(boxes.map((box) => letterboxToSlice(box, letterboxes[index])));
    });
  }
  return results;
}
