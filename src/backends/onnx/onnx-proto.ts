/**
 * The ONNX graph as lilnet records it, and its encoding as an ONNX ModelProto. Field numbers and enum values
 * are those of the ONNX protobuf schema (onnx/onnx.proto, IR version 8, which goes with opset 17).
 */
import { ProtoWriter } from './protobuf.ts';

/** ONNX TensorProto.DataType values used by lilnet. */
export const ONNX_DTYPE = { float32: 1, int64: 7 } as const;

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;

export type AttributeValue = number | string | number[] | { float: number };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  /** Integers and integer lists become INT/INTS, strings STRING, `{ float }` FLOAT. */
  attributes: Record<string, AttributeValue>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** A dimension of a graph input or output: a fixed size or a symbolic name such as `batch`. */
export type OnnxDim = number | string;

export interface OnnxValueInfo {
  name: string;
  dims: OnnxDim[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModelInfo {
  producerName: string;
  producerVersion: string;
  docString?: string;
  /** Free-form key/value pairs stored as ModelProto.metadata_props. */
  metadata?: Record<string, string>;
}

// AttributeProto.AttributeType
const ATTRIBUTE_FLOAT = 1;
const ATTRIBUTE_INT = 2;
const ATTRIBUTE_STRING = 3;
const ATTRIBUTE_INTS = 7;

function encodeAttribute(name: string, value: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof value === 'number') {
    if (!Number.isInteger(value))
      throw new Error(`attribute ${name}: ${value} is not an integer; use { float }`);
    w.int(3, value).int(20, ATTRIBUTE_INT);
  } else if (typeof value === 'string') {
    w.string(4, value).int(20, ATTRIBUTE_STRING);
  } else if (Array.isArray(value)) {
    w.packedInts(8, value).int(20, ATTRIBUTE_INTS);
  } else {
    w.float(2, value.float).int(20, ATTRIBUTE_FLOAT);
  }
  return w;
}

function encodeNode(node: OnnxNode): ProtoWriter {
  const w = new ProtoWriter();
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes)) w.message(5, encodeAttribute(name, value));
  return w;
}

function encodeInitializer(tensor: OnnxInitializer): ProtoWriter {
  const w = new ProtoWriter().packedInts(1, tensor.dims);
  w.int(2, tensor.data instanceof Float32Array ? ONNX_DTYPE.float32 : ONNX_DTYPE.int64);
  w.string(8, tensor.name);
  // raw_data is little-endian; typed arrays are in host order, and Node runs on little-endian hosts only.
  w.bytes(9, new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  return w;
}

function encodeValueInfo(info: OnnxValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of info.dims) {
    const d = new ProtoWriter();
    if (typeof dim === 'number') d.int(1, dim);
    else d.string(2, dim);
    shape.message(1, d);
  }
  const tensorType = new ProtoWriter().int(1, ONNX_DTYPE.float32).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, info.name).message(2, type);
}

function encodeGraph(graph: OnnxGraph): ProtoWriter {
  const w = new ProtoWriter();
  for (const node of graph.nodes) w.message(1, encodeNode(node));
  w.string(2, graph.name);
  for (const init of graph.initializers) w.message(5, encodeInitializer(init));
  for (const input of graph.inputs) w.message(11, encodeValueInfo(input));
  for (const output of graph.outputs) w.message(12, encodeValueInfo(output));
  return w;
}

/** Encodes a graph as a complete ONNX model file (default domain, opset 17). */
export function encodeModel(graph: OnnxGraph, info: OnnxModelInfo): Uint8Array {
  const model = new ProtoWriter()
    .int(1, ONNX_IR_VERSION)
    .string(2, info.producerName)
    .string(3, info.producerVersion);
  if (info.docString) model.string(6, info.docString);
  model.message(7, encodeGraph(graph));
  model.message(8, new ProtoWriter().string(1, '').int(2, ONNX_OPSET));
  for (const [key, value] of Object.entries(info.metadata ?? {})) {
    model.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return model.finish();
}
