/**
 * Reads PyTorch checkpoints written by `torch.save` in the zip format (the default since PyTorch 1.6), such as
 * the LiLNet authors' released `.pth.tar` files, without Python.
 *
 * The archive holds `<root>/data.pkl` (a pickle of the saved object, where every tensor is a call to
 * `torch._utils._rebuild_tensor_v2` over a persistent storage id), one raw storage per key under
 * `<root>/data/<key>`, and, since PyTorch 2.1, `<root>/byteorder`. The root folder is named after the file that
 * was saved (`archive`, `M.pth`, ...), so it is found rather than assumed.
 *
 * Only the pickle globals that state dicts and training metadata need are accepted; anything else (a whole
 * pickled `nn.Module`, custom classes) is rejected with an error, never executed.
 */
import { readFile } from 'node:fs/promises';
import { unzipSync } from 'fflate';
import { LilnetError } from '../../errors.ts';
import { moduleLogger } from '../../log.ts';
import { PickleError, PickleGlobal, unpickle } from './pickle.ts';
import {
  STORAGE_TYPES,
  decodeStorage,
  gatherStrided,
  type LoadedStorage,
  type StateDictTensor,
  type TorchDtype,
} from './torch-storage.ts';

export type { StateDictTensor, TensorData, TorchDtype } from './torch-storage.ts';
export { compareStateDict, type StateDictComparison } from './compare-state-dict.ts';

const log = moduleLogger('nn.checkpoint');

export interface PytorchCheckpoint {
  /** Tensors by name, `module.` already stripped when {@link strippedModulePrefix} is true. */
  stateDict: Map<string, StateDictTensor>;
  /** True when every key started with `module.` (a model saved inside `DataParallel`) and the prefix was removed. */
  strippedModulePrefix: boolean;
  /** The top-level key the state dict was found under (`state_dict`, `model`, ...), or null for a bare state dict. */
  stateDictKey: string | null;
  /**
   * The other top-level entries (`epoch`, `auc`, `acc`, `optimizer`, ...) as plain JSON-like values: dicts become
   * objects, tuples arrays. Tensors inside them are described by shape and dtype only, their data is not read.
   */
  meta: Record<string, unknown>;
}

/** Keys under which training scripts commonly store the model's state dict inside a checkpoint dict. */
const STATE_DICT_KEYS = ['state_dict', 'model_state_dict', 'model', 'net'];

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const GZIP_MAGIC = [0x1f, 0x8b];

/** A tensor in the pickle before its storage is read; storages load only for state-dict tensors. */
class PendingTensor {
  constructor(
    readonly storageKey: string,
    readonly dtype: TorchDtype,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

interface StorageRef {
  key: string;
  dtype: TorchDtype;
}

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return magic.every((b, i) => bytes[i] === b);
}

function integerList(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'number' || !Number.isInteger(v))) {
    throw new Error(`${what} is not a tuple of integers`);
  }
  return value as number[];
}

/** Resolves the callables a torch.save pickle may contain. */
function resolveCall(callable: PickleGlobal, args: unknown[]): unknown {
  switch (callable.qualifiedName) {
    case 'collections.OrderedDict':
      return new Map(Array.isArray(args[0]) ? (args[0] as [unknown, unknown][]) : []);
    case 'torch._utils._rebuild_tensor_v2':
    case 'torch._utils._rebuild_tensor': {
      const storage = args[0] as StorageRef;
      if (!storage || typeof storage.key !== 'string')
        throw new Error('tensor rebuilt from something that is not a storage');
      const offset = args[1];
      if (typeof offset !== 'number') throw new Error('tensor storage offset is not an integer');
      return new PendingTensor(
        storage.key,
        storage.dtype,
        offset,
        integerList(args[2], 'tensor size'),
        integerList(args[3], 'tensor stride'),
      );
    }
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      // nn.Parameter(data, requires_grad): only the data matters for inference and import.
      return args[0];
    case 'numpy.dtype':
      return { numpyDtype: String(args[0]) };
    case 'numpy.core.multiarray.scalar':
    case 'numpy._core.multiarray.scalar':
      return numpyScalar(args[0], args[1]);
    case '_codecs.encode':
      // Protocol 2 pickles bytes (numpy scalar payloads) as _codecs.encode(text, 'latin1').
      if (typeof args[0] !== 'string' || (args[1] !== 'latin1' && args[1] !== 'latin-1')) {
        throw new Error('_codecs.encode is only accepted with a latin1 string');
      }
      return Uint8Array.from(args[0], (c) => c.charCodeAt(0));
    case 'torch.device':
      return `device(${args.map(String).join(', ')})`;
    case 'builtins.set':
      return new Set(Array.isArray(args[0]) ? args[0] : []);
    default:
      throw new UnsupportedGlobal(callable.qualifiedName);
  }
}

/** Decodes a numpy scalar (training scripts often save `auc` from scikit-learn as `numpy.float64`). */
function numpyScalar(dtype: unknown, raw: unknown): number | boolean {
  const code = (dtype as { numpyDtype?: string })?.numpyDtype;
  if (!(raw instanceof Uint8Array) || !code) throw new Error('numpy scalar without a dtype and bytes');
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (code) {
    case 'f8':
      return view.getFloat64(0, true);
    case 'f4':
      return view.getFloat32(0, true);
    case 'i8':
      return Number(view.getBigInt64(0, true));
    case 'i4':
      return view.getInt32(0, true);
    case 'b1':
      return raw[0] !== 0;
    default:
      throw new Error(`numpy scalar of dtype ${code} is not supported`);
  }
}

class UnsupportedGlobal extends Error {
  constructor(readonly qualifiedName: string) {
    super(`the pickle calls ${qualifiedName}, which lilnet does not rebuild`);
  }
}

function persistentLoad(pid: unknown): StorageRef {
  // torch.save writes ('storage', storage_type, key, location, numel).
  if (!Array.isArray(pid) || pid[0] !== 'storage')
    throw new Error(`unknown persistent id ${JSON.stringify(pid)}`);
  const type = pid[1];
  const key = pid[2];
  if (!(type instanceof PickleGlobal) || typeof key !== 'string')
    throw new Error('malformed storage persistent id');
  const info = STORAGE_TYPES[type.name];
  if (type.module !== 'torch' || !info) throw new UnsupportedGlobal(type.qualifiedName);
  return { key, dtype: info.dtype };
}

function buildObject(target: unknown, state: unknown): unknown {
  // OrderedDict state dicts carry a `_metadata` attribute (module versions); it does not affect the weights.
  if (target instanceof Map) return target;
  if (target && typeof target === 'object' && (target as { numpyDtype?: string }).numpyDtype) return target;
  if (target instanceof PendingTensor) return target;
  throw new Error(`BUILD on an unsupported object (state ${typeof state})`);
}

/** Converts unpickled metadata into plain JSON-like values. */
function toPlain(value: unknown): unknown {
  if (value instanceof PendingTensor) return { tensor: { shape: value.size, dtype: value.dtype } };
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(k)] = toPlain(v);
    return out;
  }
  if (value instanceof Set) return [...value].map(toPlain);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Uint8Array) return { bytes: value.byteLength };
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof PickleGlobal) return value.qualifiedName;
  return value;
}

function isTensorMap(value: unknown): value is Map<unknown, unknown> {
  if (!(value instanceof Map) || value.size === 0) return false;
  for (const [k, v] of value) if (typeof k !== 'string' || !(v instanceof PendingTensor)) return false;
  return true;
}

function locateStateDict(root: unknown): {
  key: string | null;
  tensors: Map<string, PendingTensor>;
  rest: Map<unknown, unknown>;
} {
  if (isTensorMap(root)) return { key: null, tensors: root as Map<string, PendingTensor>, rest: new Map() };
  if (root instanceof Map) {
    for (const key of STATE_DICT_KEYS) {
      const candidate = root.get(key);
      if (isTensorMap(candidate)) {
        const rest = new Map(root);
        rest.delete(key);
        return { key, tensors: candidate as Map<string, PendingTensor>, rest };
      }
    }
  }
  throw new Error(
    `no state dict found: expected a dict of tensors, or a dict with one under ${STATE_DICT_KEYS.map((k) => `'${k}'`).join(', ')}`,
  );
}

function checkpointError(
  code: 'CHECKPOINT_CORRUPT' | 'CHECKPOINT_UNSUPPORTED_CONTENT',
  path: string,
  message: string,
  hint: string,
  cause?: unknown,
): LilnetError {
  return new LilnetError(code, `${path}: ${message}`, { file: path, hint, cause });
}

/** Reads the zip entries of a torch.save archive, rejecting other formats with a specific error. */
function openArchive(path: string, bytes: Uint8Array): { root: string; files: Record<string, Uint8Array> } {
  if (!startsWith(bytes, ZIP_MAGIC)) {
    if (startsWith(bytes, GZIP_MAGIC)) {
      throw new LilnetError(
        'CHECKPOINT_LEGACY_FORMAT',
        `${path} is gzip-compressed, not a PyTorch checkpoint`,
        {
          file: path,
          hint: 'decompress it first (gunzip) and pass the resulting .pth/.pth.tar file',
        },
      );
    }
    const isLegacyPickle = bytes[0] === 0x80;
    const isLegacyTar = bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === 'ustar';
    throw new LilnetError(
      'CHECKPOINT_LEGACY_FORMAT',
      isLegacyPickle || isLegacyTar
        ? `${path} uses the legacy (pre-1.6) torch.save format, which lilnet does not read`
        : `${path} is not a PyTorch zip checkpoint (no zip header)`,
      {
        file: path,
        hint:
          'load it in PyTorch and save it again with a current torch.save (zip format), e.g. ' +
          "torch.save(torch.load(path, map_location='cpu'), 'converted.pth')",
      },
    );
  }

  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (error) {
    throw checkpointError(
      'CHECKPOINT_CORRUPT',
      path,
      `the zip archive cannot be read (${(error as Error).message}); the file is truncated or damaged`,
      'download or copy the checkpoint again and compare its size with the original',
      error,
    );
  }
  const pickleName = Object.keys(files).find((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (!pickleName) {
    throw checkpointError(
      'CHECKPOINT_CORRUPT',
      path,
      'the zip archive has no <root>/data.pkl entry, so it is not a torch.save checkpoint',
      'pass a file written by torch.save',
    );
  }
  return { root: pickleName.slice(0, -'data.pkl'.length), files };
}

/** Reads a zip-format PyTorch checkpoint: its state dict (tensors as contiguous typed arrays) and metadata. */
export async function readPytorchCheckpoint(path: string): Promise<PytorchCheckpoint> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE';
    throw new LilnetError(code, `cannot read checkpoint ${path}: ${(error as Error).message}`, {
      file: path,
      hint: 'check the path and its permissions',
      cause: error,
    });
  }
  return parsePytorchCheckpoint(path, bytes);
}

/** Parses checkpoint bytes already in memory; `path` names the source in errors. */
export function parsePytorchCheckpoint(path: string, bytes: Uint8Array): PytorchCheckpoint {
  const { root, files } = openArchive(path, bytes);
  const byteOrderRecord = files[`${root}byteorder`];
  const bigEndian =
    byteOrderRecord !== undefined && new TextDecoder().decode(byteOrderRecord).trim() === 'big';

  let top: unknown;
  try {
    top = unpickle(files[`${root}data.pkl`], { resolveCall, persistentLoad, build: buildObject });
  } catch (error) {
    if (error instanceof UnsupportedGlobal) {
      throw checkpointError(
        'CHECKPOINT_UNSUPPORTED_CONTENT',
        path,
        `${error.message}; only state dicts of tensors with plain metadata are read`,
        'save the model weights with torch.save(model.state_dict(), path) (or a dict holding it under ' +
          "'state_dict') instead of pickling the model object",
        error,
      );
    }
    const what =
      error instanceof PickleError ? error.message : `invalid checkpoint pickle: ${(error as Error).message}`;
    throw checkpointError(
      'CHECKPOINT_UNSUPPORTED_CONTENT',
      path,
      what,
      'the file may come from an unsupported torch.save variant; re-save the state dict with torch.save ' +
        '(pickle protocol 2 to 5) and try again',
      error,
    );
  }

  let located: ReturnType<typeof locateStateDict>;
  try {
    located = locateStateDict(top);
  } catch (error) {
    throw checkpointError(
      'CHECKPOINT_UNSUPPORTED_CONTENT',
      path,
      (error as Error).message,
      'save the weights with torch.save(model.state_dict(), path) or torch.save({"state_dict": ...}, path)',
    );
  }

  const storages = new Map<string, LoadedStorage>();
  const loadStorage = (key: string, dtype: TorchDtype): LoadedStorage => {
    const cached = storages.get(key);
    if (cached) return cached;
    const raw = files[`${root}data/${key}`];
    if (!raw) {
      throw checkpointError(
        'CHECKPOINT_CORRUPT',
        path,
        `storage ${root}data/${key} is missing from the archive`,
        'the checkpoint is incomplete; copy it again from its source',
      );
    }
    const storage = decodeStorage(key, dtype, raw, bigEndian);
    storages.set(key, storage);
    return storage;
  };

  const names = [...located.tensors.keys()];
  const strippedModulePrefix = names.length > 0 && names.every((name) => name.startsWith('module.'));
  const stateDict = new Map<string, StateDictTensor>();
  for (const [name, pending] of located.tensors) {
    const storage = loadStorage(pending.storageKey, pending.dtype);
    let data;
    try {
      data = gatherStrided(storage, pending.offset, pending.size, pending.stride);
    } catch (error) {
      throw checkpointError(
        'CHECKPOINT_CORRUPT',
        path,
        `tensor ${name}: ${(error as Error).message}`,
        'the checkpoint is damaged; copy it again from its source',
        error,
      );
    }
    const key = strippedModulePrefix ? name.slice('module.'.length) : name;
    stateDict.set(key, { shape: [...pending.size], dtype: pending.dtype, data });
  }

  const meta: Record<string, unknown> = {};
  for (const [key, value] of located.rest) meta[String(key)] = toPlain(value);

  log.debug({ file: path, tensors: stateDict.size, strippedModulePrefix }, 'read PyTorch checkpoint');
  return { stateDict, strippedModulePrefix, stateDictKey: located.key, meta };
}
