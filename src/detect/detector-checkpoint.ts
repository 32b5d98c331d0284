/**
 * lilnet detector checkpoints: one binary file, written atomically (temporary file, then rename).
 * Layout: the ASCII magic `LILNETDET1\n`, a little-endian uint32 header length, a UTF-8 JSON header, then the
 * float32 data of every tensor the header lists, in order. The header contains the detector config, the tensor
 * table and, for training checkpoints, the state needed to resume.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { LilnetError } from '../errors.ts';
import type { DetectorConfig } from '../nn/detector.ts';

const MAGIC = 'LILNETDET1\n';

export interface CheckpointTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface DetectorTrainingState {
  /** Epochs completed. */
  epoch: number;
  /** Optimiser steps taken. */
  step: number;
  rngState: [number, number, number, number];
  /** Best validation score so far (F1 at IoU 0.3), and its epoch. */
  bestScore: number;
  bestEpoch: number;
  /** Options the run was started with, so that a resumed run keeps them. */
  options: Record<string, unknown>;
}

export interface DetectorCheckpoint {
  config: DetectorConfig;
  parameters: CheckpointTensor[];
  /** Momentum buffers in trainable-parameter order; only in training checkpoints. */
  momentum?: (CheckpointTensor | null)[];
  training?: DetectorTrainingState;
}

interface Header {
  format: 'lilnet-detector';
  config: DetectorConfig;
  tensors: { name: string; shape: number[]; group: 'parameter' | 'momentum'; index: number }[];
  momentumCount?: number;
  training?: DetectorTrainingState;
}

export function writeDetectorCheckpoint(file: string, checkpoint: DetectorCheckpoint): void {
  const tensors: Header['tensors'] = [];
  const blobs: Float32Array[] = [];
  checkpoint.parameters.forEach((tensor, index) => {
    tensors.push({ name: tensor.name, shape: tensor.shape, group: 'parameter', index });
    blobs.push(tensor.data);
  });
  checkpoint.momentum?.forEach((tensor, index) => {
    if (!tensor) return;
    tensors.push({ name: tensor.name, shape: tensor.shape, group: 'momentum', index });
    blobs.push(tensor.data);
  });
  const header: Header = { format: 'lilnet-detector', config: checkpoint.config, tensors };
  if (checkpoint.momentum) header.momentumCount = checkpoint.momentum.length;
  if (checkpoint.training) header.training = checkpoint.training;
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(headerBytes.length, 0);

  const temporary = `${file}.${process.pid}.tmp`;
  const descriptor = openSync(temporary, 'w');
  try {
    writeSync(descriptor, Buffer.from(MAGIC, 'ascii'));
    writeSync(descriptor, length);
    writeSync(descriptor, headerBytes);
    for (const blob of blobs)
      writeSync(descriptor, new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength));
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
  renameSync(temporary, file);
}

export function isDetectorCheckpoint(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, MAGIC.length)).toString('ascii') === MAGIC;
}

export function readDetectorCheckpoint(file: string): DetectorCheckpoint {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new LilnetError('FILE_NOT_FOUND', `detector checkpoint ${file} not found`, { file, cause: error });
  }
  const invalid = (what: string): LilnetError =>
    new LilnetError('DETECTOR_MODEL_INVALID', `${file} is not a lilnet detector checkpoint: ${what}`, {
      hint: 'pass a last.ckpt or best.ckpt from a `lilnet train-detector` run folder, or an ONNX file',
      file,
    });
  if (!isDetectorCheckpoint(bytes)) throw invalid('the file does not start with the checkpoint magic');
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const headerStart = MAGIC.length + 4;
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(headerStart, headerStart + headerLength).toString('utf8')) as Header;
  } catch (error) {
    throw invalid(`the header is not JSON (${(error as Error).message})`);
  }
  if (header.format !== 'lilnet-detector' || !Array.isArray(header.tensors))
    throw invalid('the header lacks its tensor table');

  let offset = headerStart + headerLength;
  const parameters: CheckpointTensor[] = [];
  const momentum: (CheckpointTensor | null)[] = new Array(header.momentumCount ?? 0).fill(null);
  for (const entry of header.tensors) {
    const count = entry.shape.reduce((product, size) => product * size, 1);
    if (offset + 4 * count > bytes.length)
      throw invalid(`tensor ${entry.name} runs past the end of the file (truncated?)`);
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(offset, offset + 4 * count));
    offset += 4 * count;
    const tensor = { name: entry.name, shape: entry.shape, data };
    if (entry.group === 'parameter') parameters.push(tensor);
    else momentum[entry.index] = tensor;
  }
  const checkpoint: DetectorCheckpoint = { config: header.config, parameters };
  if (header.momentumCount !== undefined) checkpoint.momentum = momentum;
  if (header.training) checkpoint.training = header.training;
  return checkpoint;
}
