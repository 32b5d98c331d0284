/**
 * Exports a model written against `Ops<T>` as an ONNX model file: the forward function runs once on the
 * {@link OnnxOps} recorder, its parameters become initializers under their torchvision names, and the outputs
 * the caller names become graph outputs. Dimension 0 of every input is the symbolic `batch`.
 */
import { LilnetError } from '../../errors.ts';
import type { ParameterLookup } from '../../nn/ops.ts';
import { encodeModel, type OnnxDim, type OnnxModelInfo, type OnnxValueInfo } from './onnx-proto.ts';
import { OnnxOps, type OnnxValue } from './recorder.ts';

/** Float32 data of a parameter or buffer, by torchvision-style name. */
export type ParameterSource = (name: string) => { data: Float32Array; shape: readonly number[] };

export interface OnnxExportRequest {
  /** Graph inputs; dimension 0 of each shape is the batch and is exported as the symbolic `batch`. */
  inputs: readonly { name: string; shape: readonly number[] }[];
  /**
   * Builds the graph and returns every value that may become an output, by output name. Only the names listed
   * in {@link outputs} are exported, and nodes and initializers that they do not depend on are dropped.
   */
  forward: (
    ops: OnnxOps,
    inputs: OnnxValue[],
    parameters: ParameterLookup<OnnxValue>,
  ) => Record<string, OnnxValue>;
  /** Output names, in graph order, chosen from the keys that `forward` returns. */
  outputs: readonly string[];
  parameters: ParameterSource;
  graphName: string;
  modelInfo?: Partial<OnnxModelInfo>;
}

export interface OnnxExport {
  /** The serialized ModelProto. */
  bytes: Uint8Array;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** Names of the parameters the graph uses, in the order they were first looked up. */
  parameterNames: string[];
}

function symbolicDims(value: OnnxValue, traceBatchSize: number): OnnxDim[] {
  return value.shape.map((size, dim) => {
    if (dim !== value.batchDim) return size;
    const factor = size / traceBatchSize;
    return factor === 1 ? 'batch' : `${factor}*batch`;
  });
}

/** Keeps only the nodes and initializers that the outputs depend on. */
function pruneToOutputs(ops: OnnxOps, outputNames: string[]): Pick<OnnxOps, 'nodes' | 'initializers'> {
  const needed = new Set(outputNames);
  const nodes = [];
  for (let i = ops.nodes.length - 1; i >= 0; i--) {
    const node = ops.nodes[i];
    if (!node.outputs.some((o) => needed.has(o))) continue;
    nodes.push(node);
    for (const input of node.inputs) needed.add(input);
  }
  nodes.reverse();
  return { nodes, initializers: ops.initializers.filter((init) => needed.has(init.name)) };
}

/** Records `request.forward` and encodes the result as an ONNX model (opset 17). */
export function exportOnnx(request: OnnxExportRequest): OnnxExport {
  const ops = new OnnxOps();
  const parameterNames: string[] = [];
  const cache = new Map<string, OnnxValue>();
  const lookup: ParameterLookup<OnnxValue> = (name) => {
    const cached = cache.get(name);
    if (cached) return cached;
    const { data, shape } = request.parameters(name);
    const value = ops.initializer(name, data, shape);
    cache.set(name, value);
    parameterNames.push(name);
    return value;
  };

  let inputs: OnnxValue[];
  let candidates: Record<string, OnnxValue>;
  try {
    inputs = request.inputs.map((input) => ops.input(input.name, input.shape));
    candidates = request.forward(ops, inputs, lookup);
  } catch (error) {
    if (error instanceof LilnetError) throw error;
    throw new LilnetError(
      'ONNX_EXPORT_FAILED',
      `recording ${request.graphName} as ONNX failed: ${(error as Error).message}`,
      {
        hint: 'the model uses an operation or shape that the ONNX exporter cannot express; see docs/engines-onnx.md',
        cause: error,
      },
    );
  }

  const outputs: OnnxValueInfo[] = [];
  for (const name of request.outputs) {
    const value = candidates[name];
    if (!value) {
      throw new LilnetError('ONNX_EXPORT_FAILED', `output ${name} is not produced by ${request.graphName}`, {
        hint: `choose among: ${Object.keys(candidates).join(', ')}`,
      });
    }
    const named = ops.identity(value, name);
    outputs.push({ name, dims: symbolicDims(named, ops.traceBatchSize) });
  }

  const { nodes, initializers } = pruneToOutputs(
    ops,
    outputs.map((o) => o.name),
  );
  const inputInfos = inputs.map((value) => ({
    name: value.name,
    dims: symbolicDims(value, ops.traceBatchSize),
  }));
  const bytes = encodeModel(
    { name: request.graphName, nodes, initializers, inputs: inputInfos, outputs },
    {
      producerName: request.modelInfo?.producerName ?? 'lilnet',
      producerVersion: request.modelInfo?.producerVersion ?? '0.1.0',
      docString: request.modelInfo?.docString,
      metadata: request.modelInfo?.metadata,
    },
  );
  return { bytes, inputs: inputInfos, outputs, parameterNames };
}
