/**
 * Reads the CRC-32 of every entry from a zip's central directory. fflate's unzipSync trusts the declared sizes
 * and silently cuts an entry to its declared size, so the CRC is what shows that an unpacked entry is whole.
 */

import { strFromU8 } from 'fflate';

const END_OF_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END_OF_DIRECTORY = 0x06064b50;
const DIRECTORY_ENTRY = 0x02014b50;

/** Returns the byte offset of the central directory, or null when the zip has no end-of-directory record. */
function directoryOffset(view: DataView): number | null {
  // The end-of-directory record is 22 bytes plus a comment of at most 65,535 bytes, at the end of the file.
  for (let i = view.byteLength - 22; i >= Math.max(0, view.byteLength - 22 - 65_535); i--) {
    if (view.getUint32(i, true) !== END_OF_DIRECTORY) continue;
    const offset = view.getUint32(i + 16, true);
    if (offset !== 0xffffffff) return offset;
    const locator = i - 20;
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR) return null;
    const zip64End = Number(view.getBigUint64(locator + 8, true));
    if (zip64End + 56 > view.byteLength || view.getUint32(zip64End, true) !== ZIP64_END_OF_DIRECTORY)
      return null;
    return Number(view.getBigUint64(zip64End + 48, true));
  }
  return null;
}

/** Returns entry name to declared CRC-32. Throws when the central directory is missing or damaged. */
export function zipEntryCrcs(data: Uint8Array): Map<string, number> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = directoryOffset(view);
  if (offset === null) throw new Error('no central directory found');
  const crcs = new Map<string, number>();
  while (offset + 46 <= view.byteLength && view.getUint32(offset, true) === DIRECTORY_ENTRY) {
    const flags = view.getUint16(offset + 8, true);
    const crc = view.getUint32(offset + 16, true);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    if (offset + 46 + nameLength > view.byteLength)
      throw new Error('central directory entry past the end of the file');
    // Names decoded as fflate decodes them: UTF-8 when flag bit 11 is set, else one character per byte.
    const name = strFromU8(data.subarray(offset + 46, offset + 46 + nameLength), (flags & 0x800) === 0);
    crcs.set(name, crc);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return crcs;
}
