/**
 * Inference over onnxruntime-node (CPU execution provider): load an ONNX model from a file or bytes, run it on
 * float32 tensors, get float32 tensors back by output name.
 */
import * as ort from 'onnxruntime-node';
import { LilnetError } from '../../errors.ts';
import { moduleLogger } from '../../log.ts';

const log = moduleLogger('backends.onnx');

export interface FloatTensor {
  data: Float32Array;
  shape: number[];
}

export interface OnnxSessionOptions {
  /** Threads used inside one operator (convolutions); 0 lets ONNX Runtime choose (one per core). */
  intraOpThreads?: number;
  /** Threads used to run independent operators in parallel; 0 lets ONNX Runtime choose. */
  interOpThreads?: number;
  /** ONNX Runtime graph optimisation level; `all` by default. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export class OnnxInferenceSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    /** The model file, or `<bytes>` for in-memory models; used in error messages. */
    readonly source: string,
  ) {}

  /** Loads a model from an ONNX file path or from the bytes of one. */
  static async create(
    model: string | Uint8Array,
    options: OnnxSessionOptions = {},
  ): Promise<OnnxInferenceSession> {
    const source = typeof model === 'string' ? model : '<bytes>';
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      intraOpNumThreads: options.intraOpThreads ?? 0,
      interOpNumThreads: options.interOpThreads ?? 0,
    };
    try {
      const session =
        typeof model === 'string'
          ? await ort.InferenceSession.create(model, sessionOptions)
          : await ort.InferenceSession.create(model, sessionOptions);
      log.debug({ source, inputs: session.inputNames, outputs: session.outputNames }, 'loaded ONNX model');
      return new OnnxInferenceSession(session, source);
    } catch (error) {
      throw new LilnetError(
        'ONNX_INFERENCE_FAILED',
        `ONNX Runtime cannot load ${source}: ${(error as Error).message}`,
        {
          file: typeof model === 'string' ? model : undefined,
          hint: 'check that the file is a complete ONNX model (opset 17 or lower), e.g. one written by lilnet export-onnx',
          cause: error,
        },
      );
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the model; returns the requested outputs (all by default) by name. */
  async run(
    inputs: Record<string, FloatTensor>,
    outputNames?: readonly string[],
  ): Promise<Record<string, FloatTensor>> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of this.session.inputNames) {
      const input = inputs[name];
      if (!input) {
        throw new LilnetError('INVALID_ARGUMENT', `ONNX model ${this.source} needs input ${name}`, {
          hint: `pass tensors for ${this.session.inputNames.join(', ')}`,
        });
      }
      feeds[name] = new ort.Tensor('float32', input.data, input.shape);
    }
    const fetches = outputNames ? [...outputNames] : [...this.session.outputNames];
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = await this.session.run(feeds, fetches);
    } catch (error) {
      const shapes = Object.entries(inputs).map(([name, t]) => `${name} [${t.shape.join(', ')}]`);
      throw new LilnetError(
        'ONNX_INFERENCE_FAILED',
        `running ${this.source} on ${shapes.join(', ')} failed: ${(error as Error).message}`,
        { hint: 'check the input shape against the model inputs (docs/engines-onnx.md)', cause: error },
      );
    }
    const out: Record<string, FloatTensor> = {};
    for (const name of fetches) {
      const tensor = results[name] as ort.Tensor;
      out[name] = { data: tensor.data as Float32Array, shape: tensor.dims.map(Number) };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
