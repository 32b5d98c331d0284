/**
 * lilnet's own checkpoint format for training runs: model config, weights and buffers, SGD momentum buffers,
 * epoch, run config and metrics in one file, written atomically (temporary file, fsync, rename, fsync of the
 * folder), so a crash mid-write leaves the previous checkpoint intact.
 *
 * Layout, all little-endian: the 8 ASCII bytes `LILNETCK`, a uint32 format version (1), a uint32 byte length
 * of the UTF-8 JSON header, the header, then the tensor data, each tensor float32 and starting at a multiple
 * of 64 bytes. The header lists every tensor's name, group (`state` for parameters and buffers, `momentum`
 * for optimiser buffers), shape and byte offset, and the SHA-256 of the data section.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LilnetError } from '../../errors.ts';
import { moduleLogger } from '../../log.ts';
import { parseModelConfig, type ModelConfig } from '../models.ts';

const log = moduleLogger('nn.checkpoint');

const MAGIC = Buffer.from('LILNETCK', 'ascii');
const FORMAT_VERSION = 1;
const ALIGNMENT = 64;
const PREAMBLE_BYTES = MAGIC.length + 8;

export interface CheckpointTensor {
  shape: number[];
  dtype: 'float32';
  data: Float32Array;
}

export interface SgdCheckpointState {
  kind: 'sgd';
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  /** Momentum buffers by parameter name; parameters not stepped yet have none. */
  momentumBuffers: Map<string, CheckpointTensor>;
}

export interface TrainingCheckpoint {
  model: ModelConfig;
  /** Epochs completed when the checkpoint was written. */
  epoch: number;
  /** Parameters and batch-norm buffers by torchvision-style name. */
  stateDict: Map<string, CheckpointTensor>;
  optimizer: SgdCheckpointState | null;
  /** The training run's settings (JSON-serialisable). */
  config: Record<string, unknown>;
  /** Named figures of the run, such as validation AUC and loss. */
  metrics: Record<string, number>;
}

interface HeaderTensor {
  name: string;
  group: 'state' | 'momentum';
  dtype: 'float32';
  shape: number[];
  offset: number;
  byteLength: number;
}

interface Header {
  format: 'lilnet-training-checkpoint';
  model: ModelConfig;
  epoch: number;
  optimizer: Omit<SgdCheckpointState, 'momentumBuffers'> | null;
  config: Record<string, unknown>;
  metrics: Record<string, number>;
  tensors: HeaderTensor[];
  dataSha256: string;
}

function alignUp(value: number): number {
  return Math.ceil(value / ALIGNMENT) * ALIGNMENT;
}

function checkTensor(name: string, tensor: CheckpointTensor): void {
  const count = tensor.shape.reduce((product, dim) => product * dim, 1);
  if (!(tensor.data instanceof Float32Array) || tensor.data.length !== count) {
    throw new LilnetError(
      'INVALID_ARGUMENT',
      `checkpoint tensor ${name} has ${tensor.data.length} values for shape [${tensor.shape.join(', ')}]`,
    );
  }
}

/** Writes `checkpoint` to `path` atomically; an existing file is replaced only once the new one is complete. */
export async function writeTrainingCheckpoint(path: string, checkpoint: TrainingCheckpoint): Promise<void> {
  const entries: { header: HeaderTensor; data: Float32Array }[] = [];
  let offset = 0;
  const add = (name: string, group: HeaderTensor['group'], tensor: CheckpointTensor): void => {
    checkTensor(name, tensor);
    const byteLength = tensor.data.byteLength;
    entries.push({
      header: { name, group, dtype: 'float32', shape: [...tensor.shape], offset, byteLength },
      data: tensor.data,
    });
    offset = alignUp(offset + byteLength);
  };
  for (const [name, tensor] of checkpoint.stateDict) add(name, 'state', tensor);
  if (checkpoint.optimizer) {
    for (const [name, tensor] of checkpoint.optimizer.momentumBuffers) add(name, 'momentum', tensor);
  }
  const dataBytes = offset;

  const hash = createHash('sha256');
  const padding = new Uint8Array(ALIGNMENT);
  const chunks: Uint8Array[] = [];
  for (const entry of entries) {
    const bytes = new Uint8Array(entry.data.buffer, entry.data.byteOffset, entry.data.byteLength);
    const pad = padding.subarray(0, alignUp(entry.data.byteLength) - entry.data.byteLength);
    chunks.push(bytes, pad);
    hash.update(bytes).update(pad);
  }

  let optimizerHeader: Header['optimizer'] = null;
  if (checkpoint.optimizer) {
    const { momentumBuffers, ...settings } = checkpoint.optimizer;
    void momentumBuffers;
    optimizerHeader = settings;
  }
  const header: Header = {
    format: 'lilnet-training-checkpoint',
    model: checkpoint.model,
    epoch: checkpoint.epoch,
    optimizer: optimizerHeader,
    config: checkpoint.config,
    metrics: checkpoint.metrics,
    tensors: entries.map((e) => e.header),
    dataSha256: hash.digest('hex'),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt32LE(FORMAT_VERSION, MAGIC.length);
  preamble.writeUInt32LE(headerBytes.length, MAGIC.length + 4);
  const dataStart = alignUp(PREAMBLE_BYTES + headerBytes.length);
  const headerPad = new Uint8Array(dataStart - PREAMBLE_BYTES - headerBytes.length);

  const temporaryPath = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const handle = await open(temporaryPath, 'wx');
  try {
    await handle.writev([preamble, headerBytes, headerPad]);
    // Batches of chunks keep each writev call under the platform's iovec limit.
    for (let i = 0; i < chunks.length; i += 512) await handle.writev(chunks.slice(i, i + 512));
    await handle.sync();
    await handle.close();
    await rename(temporaryPath, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temporaryPath).catch(() => undefined);
    throw error;
  }
  await syncFolder(dirname(path));
  log.debug({ path, tensors: entries.length, bytes: dataStart + dataBytes }, 'wrote training checkpoint');
}

async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    // Some file systems do not support fsync on a folder; the rename itself has happened.
    log.debug({ folder, err: error }, 'could not fsync the checkpoint folder');
  }
}

function invalid(path: string, reason: string): LilnetError {
  return new LilnetError('TRAINING_CHECKPOINT_INVALID', `training checkpoint ${path} is invalid: ${reason}`, {
    hint: 'the file is damaged or not a lilnet training checkpoint; use an earlier checkpoint of the run',
    file: path,
  });
}

/** True when `bytes` start with the training checkpoint's magic bytes. */
export function isTrainingCheckpointBytes(bytes: Uint8Array): boolean {
  return bytes.length >= MAGIC.length && MAGIC.every((b, i) => bytes[i] === b);
}

/** Reads and verifies a training checkpoint; throws `TRAINING_CHECKPOINT_INVALID` on any damage. */
export async function readTrainingCheckpoint(path: string): Promise<TrainingCheckpoint> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LilnetError(
      code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
      `cannot read training checkpoint ${path}: ${code ?? String(error)}`,
      {
        file: path,
        cause: error,
      },
    );
  }
  return parseTrainingCheckpoint(path, bytes);
}

/** Parses the bytes of a training checkpoint; `path` only names the file in errors. */
export function parseTrainingCheckpoint(path: string, bytes: Uint8Array): TrainingCheckpoint {
  if (!isTrainingCheckpointBytes(bytes)) throw invalid(path, 'it does not start with LILNETCK');
  if (bytes.length < PREAMBLE_BYTES) throw invalid(path, 'it is truncated inside the preamble');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(MAGIC.length, true);
  if (version !== FORMAT_VERSION) throw invalid(path, `format version ${version} is not ${FORMAT_VERSION}`);
  const headerLength = view.getUint32(MAGIC.length + 4, true);
  if (PREAMBLE_BYTES + headerLength > bytes.length) throw invalid(path, 'it is truncated inside the header');

  let header: Header;
  try {
    header = JSON.parse(
      Buffer.from(bytes.buffer, bytes.byteOffset + PREAMBLE_BYTES, headerLength).toString('utf8'),
    );
  } catch {
    throw invalid(path, 'its header is not valid JSON');
  }
  if (header.format !== 'lilnet-training-checkpoint' || !Array.isArray(header.tensors)) {
    throw invalid(path, 'its header lacks the format name or the tensor list');
  }
  const dataStart = alignUp(PREAMBLE_BYTES + headerLength);
  const data = bytes.subarray(dataStart);
  const digest = createHash('sha256').update(data).digest('hex');
  if (digest !== header.dataSha256)
    throw invalid(path, 'its tensor data does not match the stored SHA-256 (truncated or altered)');

  let model: ModelConfig;
  try {
    model = parseModelConfig(header.model);
  } catch (error) {
    throw invalid(path, (error as Error).message);
  }

  const stateDict = new Map<string, CheckpointTensor>();
  const momentumBuffers = new Map<string, CheckpointTensor>();
  for (const entry of header.tensors) {
    const count = Array.isArray(entry.shape) ? entry.shape.reduce((product, dim) => product * dim, 1) : NaN;
    if (entry.dtype !== 'float32' || entry.byteLength !== count * 4 || entry.offset % ALIGNMENT !== 0) {
      throw invalid(path, `tensor ${entry.name} has an inconsistent dtype, shape or offset`);
    }
    if (entry.offset + entry.byteLength > data.length)
      throw invalid(path, `tensor ${entry.name} lies past the end of the file`);
    // Copy so that every tensor owns an aligned buffer, whatever the alignment of the file's buffer.
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(data.subarray(entry.offset, entry.offset + entry.byteLength));
    const tensor: CheckpointTensor = { shape: entry.shape, dtype: 'float32', data: values };
    if (entry.group === 'state') stateDict.set(entry.name, tensor);
    else if (entry.group === 'momentum') momentumBuffers.set(entry.name, tensor);
    else throw invalid(path, `tensor ${entry.name} has unknown group ${String(entry.group)}`);
  }
  return {
    model,
    epoch: header.epoch,
    stateDict,
    optimizer: header.optimizer ? { ...header.optimizer, momentumBuffers } : null,
    config: header.config ?? {},
    metrics: header.metrics ?? {},
  };
}
