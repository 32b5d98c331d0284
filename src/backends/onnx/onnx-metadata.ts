/**
 * Reads the `metadata_props` of an ONNX file (ModelProto field 14, StringStringEntryProto key 1 and value 2)
 * without loading the graph. The top-level fields are walked with small positioned reads, and the graph with
 * its weights (field 7) is skipped by its length. onnxruntime-node does not expose these properties.
 */
import { open, type FileHandle } from 'node:fs/promises';

const METADATA_PROPS_FIELD = 14;
/** Wire types of the protobuf encoding. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Largest metadata entry read into memory. The `lilnet.*` entries are a few hundred bytes. */
const MAX_ENTRY_BYTES = 1 << 20;

/** Decodes a varint at `offset` into its value and the offset after it, or null when the bytes end first. */
function readVarint(bytes: Uint8Array, offset: number): { value: number; next: number } | null {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    value += (bytes[i] & 0x7f) * scale;
    scale *= 128;
    if ((bytes[i] & 0x80) === 0) return { value, next: i + 1 };
  }
  return null;
}

/** Decodes one StringStringEntryProto. */
function decodeEntry(bytes: Uint8Array): { key: string; value: string } {
  const text = { key: '', value: '' };
  let offset = 0;
  while (offset < bytes.length) {
    const tag = readVarint(bytes, offset);
    if (!tag || (tag.value & 7) !== LENGTH_DELIMITED) break;
    const length = readVarint(bytes, tag.next);
    if (!length) break;
    const content = Buffer.from(bytes.subarray(length.next, length.next + length.value)).toString('utf8');
    if (tag.value >>> 3 === 1) text.key = content;
    else if (tag.value >>> 3 === 2) text.value = content;
    offset = length.next + length.value;
  }
  return text;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/**
 * Returns the `metadata_props` of the ONNX model at `path` as a key/value record. A file that is not a
 * well-formed ModelProto gives the entries read before the malformed field (often none), because ONNX
 * Runtime reports such files with its own load error.
 */
export async function readOnnxMetadataProps(path: string): Promise<Record<string, string>> {
  const props: Record<string, string> = {};
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    let position = 0;
    while (position < size) {
      // A tag and a length are at most 10 bytes each.
      const head = await readAt(handle, position, 20);
      const tag = readVarint(head, 0);
      if (!tag) break;
      const field = Math.floor(tag.value / 8);
      const wireType = tag.value % 8;
      if (wireType === VARINT) {
        const value = readVarint(head, tag.next);
        if (!value) break;
        position += value.next;
      } else if (wireType === FIXED64) {
        position += tag.next + 8;
      } else if (wireType === FIXED32) {
        position += tag.next + 4;
      } else if (wireType === LENGTH_DELIMITED) {
        const length = readVarint(head, tag.next);
        if (!length || position + length.next + length.value > size) break;
        if (field === METADATA_PROPS_FIELD && length.value <= MAX_ENTRY_BYTES) {
          const entry = decodeEntry(await readAt(handle, position + length.next, length.value));
          props[entry.key] = entry.value;
        }
        position += length.next + length.value;
      } else {
        break;
      }
    }
  } finally {
    await handle.close();
  }
  return props;
}
