/**
 * Tensor storages of PyTorch checkpoints: the storage classes torch.save names, their element types, and the
 * rebuild of a tensor from (storage, storage offset, size, stride) into a contiguous typed array.
 */

/** Element type of a checkpoint tensor, with PyTorch's dtype names. */
export type TorchDtype =
  'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/**
 * Data of a tensor as JavaScript holds it: float32 and float64 as themselves, float16 and bfloat16 widened to
 * Float32Array (exactly), int64 as BigInt64Array, and int32, int16, int8, uint8 and bool widened to Int32Array.
 */
export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array;

export interface StateDictTensor {
  shape: number[];
  /** The dtype stored in the file; `data` may be a wider type (see {@link TensorData}). */
  dtype: TorchDtype;
  /** Contiguous, row-major elements. */
  data: TensorData;
}

interface StorageType {
  dtype: TorchDtype;
  bytesPerElement: number;
}

/** Storage classes as torch.save names them in `persistent_id` tuples (`torch.FloatStorage`, ...). */
export const STORAGE_TYPES: Readonly<Record<string, StorageType>> = {
  FloatStorage: { dtype: 'float32', bytesPerElement: 4 },
  DoubleStorage: { dtype: 'float64', bytesPerElement: 8 },
  HalfStorage: { dtype: 'float16', bytesPerElement: 2 },
  BFloat16Storage: { dtype: 'bfloat16', bytesPerElement: 2 },
  LongStorage: { dtype: 'int64', bytesPerElement: 8 },
  IntStorage: { dtype: 'int32', bytesPerElement: 4 },
  ShortStorage: { dtype: 'int16', bytesPerElement: 2 },
  CharStorage: { dtype: 'int8', bytesPerElement: 1 },
  ByteStorage: { dtype: 'uint8', bytesPerElement: 1 },
  BoolStorage: { dtype: 'bool', bytesPerElement: 1 },
};

/** A storage loaded from `data/<key>`, decoded into its JavaScript element array. */
export interface LoadedStorage {
  key: string;
  dtype: TorchDtype;
  elements: TensorData;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * Decodes the raw bytes of a storage. `bigEndian` is true when the archive's `byteorder` record says so; the
 * bytes are swapped element by element in that case.
 */
export function decodeStorage(
  key: string,
  dtype: TorchDtype,
  raw: Uint8Array,
  bigEndian: boolean,
): LoadedStorage {
  const info = Object.values(STORAGE_TYPES).find((t) => t.dtype === dtype);
  if (!info) throw new Error(`no storage type for dtype ${dtype}`);
  const size = info.bytesPerElement;
  if (raw.byteLength % size !== 0) {
    throw new Error(`storage ${key} has ${raw.byteLength} bytes, not a multiple of ${size} (${dtype})`);
  }
  const count = raw.byteLength / size;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const little = !bigEndian;
  if (little === HOST_IS_LITTLE_ENDIAN) {
    const copy = raw.slice().buffer;
    if (dtype === 'float32') return { key, dtype, elements: new Float32Array(copy) };
    if (dtype === 'float64') return { key, dtype, elements: new Float64Array(copy) };
    if (dtype === 'int64') return { key, dtype, elements: new BigInt64Array(copy) };
    if (dtype === 'int32') return { key, dtype, elements: new Int32Array(copy) };
  }
  let elements: TensorData;
  switch (dtype) {
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, little);
      elements = out;
      break;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, little);
      elements = out;
      break;
    }
    case 'float16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, little));
      elements = out;
      break;
    }
    case 'bfloat16': {
      // bfloat16 is the upper half of a float32, so widening is a 16-bit shift.
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, little) << 16;
      elements = out;
      break;
    }
    case 'int64': {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getBigInt64(i * 8, little);
      elements = out;
      break;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, little);
      elements = out;
      break;
    }
    case 'int16': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, little);
      elements = out;
      break;
    }
    case 'int8': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      elements = out;
      break;
    }
    case 'uint8':
    case 'bool': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = raw[i];
      elements = out;
      break;
    }
  }
  return { key, dtype, elements };
}

/**
 * Copies the elements of a strided view of `storage` into a new contiguous array, as
 * `torch.as_strided(storage, size, stride, offset).contiguous()` would. Throws when the view reaches outside the
 * storage.
 */
export function gatherStrided(
  storage: LoadedStorage,
  offset: number,
  size: readonly number[],
  stride: readonly number[],
): TensorData {
  const count = size.reduce((a, b) => a * b, 1);
  const source = storage.elements;
  const Ctor = source.constructor as new (n: number) => TensorData;
  const out = new Ctor(count);
  if (count === 0) return out;

  let maxIndex = offset;
  for (let d = 0; d < size.length; d++) maxIndex += (size[d] - 1) * stride[d];
  if (offset < 0 || maxIndex >= source.length || stride.some((s) => s < 0)) {
    throw new RangeError(
      `tensor view (offset ${offset}, size [${size.join(', ')}], stride [${stride.join(', ')}]) ` +
        `reaches outside storage ${storage.key} of ${source.length} elements`,
    );
  }

  let contiguous = true;
  let expected = 1;
  for (let d = size.length - 1; d >= 0; d--) {
    if (size[d] !== 1 && stride[d] !== expected) contiguous = false;
    expected *= size[d];
  }
  if (contiguous) {
    (out as Float32Array).set((source as Float32Array).subarray(offset, offset + count));
    return out;
  }

  // General case: walk the index space in row-major order with an odometer over the dimensions.
  const rank = size.length;
  const index = new Array<number>(rank).fill(0);
  let sourceIndex = offset;
  for (let i = 0; i < count; i++) {
    (out as Float32Array)[i] = (source as Float32Array)[sourceIndex];
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      sourceIndex += stride[d];
      if (index[d] < size[d]) break;
      sourceIndex -= stride[d] * size[d];
      index[d] = 0;
    }
  }
  return out;
}
