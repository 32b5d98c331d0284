/**
 * A minimal protocol-buffers encoder, enough to write ONNX ModelProto messages: varints, 64-bit integers,
 * floats, strings, bytes and nested messages.
 *
 * A message is a list of chunks rather than one buffer, so nesting a 100 MB initializer inside a tensor, a graph
 * and a model copies its bytes once, in {@link ProtoWriter.finish}.
 */

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];
  private size = 0;

  /** Encoded length in bytes. */
  get byteLength(): number {
    return this.size + this.pending.length;
  }

  private flushPending(): void {
    if (this.pending.length === 0) return;
    this.chunks.push(Uint8Array.from(this.pending));
    this.size += this.pending.length;
    this.pending = [];
  }

  private pushBytes(bytes: Uint8Array): void {
    if (bytes.byteLength < 64) {
      for (const b of bytes) this.pending.push(b);
      return;
    }
    this.flushPending();
    this.chunks.push(bytes);
    this.size += bytes.byteLength;
  }

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    if (v < 0x80n) {
      this.pending.push(Number(v));
      return;
    }
    while (v >= 0x80n) {
      this.pending.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.pending.push(Number(v));
  }

  private tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** int32, int64 and enum fields; negative values take ten bytes, as protobuf specifies. */
  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.pushBytes(bytes);
    return this;
  }

  double(field: number, value: number): this {
    this.tag(field, WIRE_FIXED64);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    this.pushBytes(bytes);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(value.byteLength);
    this.pushBytes(value);
    return this;
  }

  /** Writes a packed repeated varint field (int64s, int32s). */
  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.message(field, inner);
  }

  /** Writes a packed repeated float field. */
  packedFloats(field: number, values: readonly number[]): this {
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return this.bytes(field, bytes);
  }

  message(field: number, inner: ProtoWriter): this {
    inner.flushPending();
    this.tag(field, WIRE_LENGTH_DELIMITED);
    this.varint(inner.size);
    this.flushPending();
    for (const chunk of inner.chunks) this.chunks.push(chunk);
    this.size += inner.size;
    return this;
  }

  /** Concatenates the chunks into the encoded message. */
  finish(): Uint8Array {
    this.flushPending();
    const out = new Uint8Array(this.size);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  }
}
