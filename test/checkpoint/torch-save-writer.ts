/**
 * Writes float32 state dicts in the zip layout of `torch.save` (protocol-2 pickle plus one raw storage per
 * tensor), so that tests can build checkpoints without Python. Only what the reader needs is written: the
 * pickle opcodes and globals that torch.save itself emits for `{'state_dict': OrderedDict(...)}`.
 */
import { zipSync } from 'fflate';

const utf8 = new TextEncoder();

class PickleBytes {
  readonly bytes: number[] = [];

  op(...codes: number[]): this {
    this.bytes.push(...codes);
    return this;
  }

  text(value: string): this {
    const encoded = utf8.encode(value);
    this.op(0x58, ...int32(encoded.length)); // BINUNICODE
    this.bytes.push(...encoded);
    return this;
  }

  int(value: number): this {
    return this.op(0x4a, ...int32(value)); // BININT
  }

  global(module: string, name: string): this {
    this.op(0x63); // GLOBAL
    this.bytes.push(...utf8.encode(`${module}\n${name}\n`));
    return this;
  }

  tuple(values: readonly number[]): this {
    this.op(0x28); // MARK
    for (const v of values) this.int(v);
    return this.op(0x74); // TUPLE
  }
}

function int32(value: number): number[] {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, value, true);
  return [...bytes];
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/** Returns the bytes of a torch.save zip archive of `{'epoch': epoch, 'state_dict': OrderedDict(tensors)}`. */
export function torchSaveStateDict(
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  epoch = 1,
): Uint8Array {
  const p = new PickleBytes().op(0x80, 0x02, 0x7d, 0x28); // PROTO 2, EMPTY_DICT, MARK
  p.text('epoch').int(epoch);
  p.text('state_dict').global('collections', 'OrderedDict').op(0x29, 0x52, 0x28); // (), REDUCE, MARK
  const files: Record<string, Uint8Array> = {};
  let key = 0;
  for (const [name, tensor] of tensors) {
    const storageKey = String(key++);
    files[`archive/data/${storageKey}`] = new Uint8Array(
      tensor.data.buffer,
      tensor.data.byteOffset,
      tensor.data.byteLength,
    );
    p.text(name).global('torch._utils', '_rebuild_tensor_v2').op(0x28); // MARK of the argument tuple
    p.op(0x28)
      .text('storage')
      .global('torch', 'FloatStorage')
      .text(storageKey)
      .text('cpu')
      .int(tensor.data.length);
    p.op(0x74, 0x51); // TUPLE, BINPERSID
    p.int(0).tuple(tensor.shape).tuple(contiguousStrides(tensor.shape)).op(0x89); // offset, size, stride, False
    p.global('collections', 'OrderedDict').op(0x29, 0x52); // backward hooks: OrderedDict()
    p.op(0x74, 0x52); // TUPLE, REDUCE
  }
  p.op(0x75, 0x75, 0x2e); // SETITEMS (state dict), SETITEMS (top dict), STOP
  files['archive/data.pkl'] = Uint8Array.from(p.bytes);
  files['archive/version'] = utf8.encode('3\n');
  return zipSync(files, { level: 0 });
}
