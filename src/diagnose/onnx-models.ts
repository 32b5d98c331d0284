/**
 * ONNX Runtime sessions of the diagnosis classifiers and the tensor contract they must meet.
 *
 * Classifier: one input `[N, 3, S, S]` float32 (S = 224 unless the model's input shape fixes another side) (grey crop in every channel, `(x / 255 - 0.5) / 0.5`); an
 * output of logits `[N, K]`, taken by name (`aggregated_logits`, then `logits`) or else the first output; and
 * optionally `cam` `[N, K, h, w]`, the class-activation maps whose spatial sum is the layer-4 part of each logit.

 *
 * Detectors run through src/detect/detector-session.ts.
 */
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { basename } from 'node:path';
import { LilnetError } from '../errors.ts';
import { CLASSIFIER_INPUT_SIZE_PX } from './crop.ts';

const LOGIT_OUTPUT_NAMES = ['aggregated_logits', 'logits'];
export const CAM_OUTPUT_NAME = 'cam';

function sessionOptions(): InferenceSession.SessionOptions {
  return { executionProviders: ['cpu'], graphOptimizationLevel: 'all' };
}

export async function openSession(path: string): Promise<InferenceSession> {
  try {
    return await InferenceSession.create(path, sessionOptions());
  } catch (error) {
    throw new LilnetError(
      'ONNX_INFERENCE_FAILED',
      `ONNX Runtime could not load ${basename(path)}: ${(error as Error).message}`,
      {
        file: path,
        hint: 'check that the file is a complete ONNX model (re-export or re-download it)',
        cause: error,
      },
    );
  }
}

/** Returns the fixed batch size of the first input, or null when the batch dimension is dynamic. */
function fixedBatchSize(session: InferenceSession): number | null {
  const metadata = session.inputMetadata[0];
  if (!metadata || !metadata.isTensor) return null;
  const first = metadata.shape[0];
  return typeof first === 'number' && first > 0 ? first : null;
}

/** Returns the square input side that the model's input shape fixes, or null when H and W are dynamic. */
function staticInputSide(session: InferenceSession): number | null {
  const metadata = session.inputMetadata[0];
  if (!metadata || !metadata.isTensor) return null;
  const side = metadata.shape[3];
  return typeof side === 'number' && side > 0 ? side : null;
}

export interface ClassifierResult {
  /** `[N, K]` logits, row-major. */
  logits: Float32Array;
  /** `[N, K, camHeight, camWidth]`, or null when the model has no `cam` output. */
  cam: Float32Array | null;
  camHeight: number;
  camWidth: number;
}

/** A classifier session that runs crops in batches. */
export class OnnxClassifier {
  readonly hasCam: boolean;
  private readonly logitsName: string;
  /** Input side in pixels: fixed by the model's input shape, else the study's 224. */
  readonly inputSidePx: number;
  private readonly batchSize: number;

  constructor(
    private readonly session: InferenceSession,
    readonly classCount: number,
    readonly file: string,
  ) {
    this.logitsName =
      LOGIT_OUTPUT_NAMES.find((name) => session.outputNames.includes(name)) ?? session.outputNames[0];
    this.hasCam = session.outputNames.includes(CAM_OUTPUT_NAME);
    this.batchSize = fixedBatchSize(session) ?? 16;
    this.inputSidePx = staticInputSide(session) ?? CLASSIFIER_INPUT_SIZE_PX;
  }

  /** Runs `count` crops stored as `[count, 3, S, S]`, S being {@link inputSidePx}. */
  async run(input: Float32Array, count: number): Promise<ClassifierResult> {
    const sidePx = this.inputSidePx;
    const perImage = 3 * sidePx * sidePx;
    if (input.length !== count * perImage)
      throw new RangeError(`classifier input has ${input.length} values, expected ${count * perImage}`);
    const logits = new Float32Array(count * this.classCount);
    let cam: Float32Array | null = null;
    let camHeight = 0;
    let camWidth = 0;
    for (let start = 0; start < count; start += this.batchSize) {
      const end = Math.min(count, start + this.batchSize);
      // A model with a fixed batch size gets zero-padded batches; the padded rows are discarded.
      const rows = fixedBatchSize(this.session) ?? end - start;
      const batch = new Float32Array(rows * perImage);
      batch.set(input.subarray(start * perImage, end * perImage));
      const feeds = { [this.session.inputNames[0]]: new Tensor('float32', batch, [rows, 3, sidePx, sidePx]) };
      const fetches = this.hasCam ? [this.logitsName, CAM_OUTPUT_NAME] : [this.logitsName];
      let outputs: InferenceSession.ReturnType;
      try {
        outputs = await this.session.run(feeds, fetches);
      } catch (error) {
        throw new LilnetError(
          'ONNX_INFERENCE_FAILED',
          `classifier ${this.file} failed on a batch of ${rows} crops: ${(error as Error).message}`,
          {
            file: this.file,
            hint: `the model must take [N, 3, ${sidePx}, ${sidePx}] float32 input`,
            cause: error,
          },
        );
      }
      const out = outputs[this.logitsName];
      if (out.dims.length !== 2 || out.dims[0] !== rows || out.dims[1] !== this.classCount) {
        throw new LilnetError(
          'MODEL_OUTPUT_INVALID',
          `classifier ${this.file} output "${this.logitsName}" has shape [${out.dims.join(', ')}], expected [${rows}, ${this.classCount}]`,
          { file: this.file, hint: `use a model with ${this.classCount} output classes in this slot` },
        );
      }
      logits.set(
        (out.data as Float32Array).subarray(0, (end - start) * this.classCount),
        start * this.classCount,
      );
      if (this.hasCam) {
        const camOut = outputs[CAM_OUTPUT_NAME];
        [, , camHeight, camWidth] = camOut.dims as number[];
        const perCam = this.classCount * camHeight * camWidth;
        cam ??= new Float32Array(count * perCam);
        cam.set((camOut.data as Float32Array).subarray(0, (end - start) * perCam), start * perCam);
      }
    }
    return { logits, cam, camHeight, camWidth };
  }
}
