/**
 * Encoding of DICOM data elements in explicit VR little endian (PS3.5 section 7.1.2), enough for the writer:
 * strings, unsigned and signed shorts, and OB/OW byte values.
 */

/** VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length (PS3.5 table 7.1-1). */
const LONG_LENGTH_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'UC', 'UN', 'UR', 'UT']);

export interface DataElement {
  tag: number;
  vr: string;
  value: Buffer;
}

/** Pads a value to even length: UI with a NUL byte, OB with a zero byte, other strings with a space. */
function padEven(value: Buffer, vr: string): Buffer {
  if (value.length % 2 === 0) return value;
  const pad = vr === 'UI' || vr === 'OB' ? 0x00 : 0x20;
  return Buffer.concat([value, Buffer.from([pad])]);
}

export function stringElement(tag: number, vr: string, value: string | string[]): DataElement {
  const text = Array.isArray(value) ? value.join('\\') : value;
  return { tag, vr, value: padEven(Buffer.from(text, 'latin1'), vr) };
}

export function uint16Element(tag: number, value: number): DataElement {
  const buffer = Buffer.alloc(2);
  buffer.writeUInt16LE(value);
  return { tag, vr: 'US', value: buffer };
}

export function int16Element(tag: number, value: number): DataElement {
  const buffer = Buffer.alloc(2);
  buffer.writeInt16LE(value);
  return { tag, vr: 'SS', value: buffer };
}

export function uint32Element(tag: number, value: number): DataElement {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return { tag, vr: 'UL', value: buffer };
}

export function bytesElement(tag: number, vr: 'OB' | 'OW', value: Buffer): DataElement {
  return { tag, vr, value: padEven(value, vr) };
}

/**
 * Formats a number as a DICOM decimal string (DS): at most 16 characters, no exponent unless the value needs
 * one, so that readers parsing with a plain decimal grammar still accept it.
 */
export function formatDecimalString(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`decimal string value ${value} is not finite`);
  const plain = String(value);
  if (plain.length <= 16) return plain;
  for (let digits = 15; digits >= 1; digits--) {
    const text = String(Number(value.toPrecision(digits)));
    if (text.length <= 16) return text;
  }
  throw new RangeError(`decimal string value ${value} does not fit in 16 characters`);
}

export function decimalElement(tag: number, value: number | number[]): DataElement {
  const values = Array.isArray(value) ? value : [value];
  return stringElement(tag, 'DS', values.map(formatDecimalString));
}

export function integerStringElement(tag: number, value: number): DataElement {
  if (!Number.isInteger(value)) throw new RangeError(`integer string value ${value} is not an integer`);
  return stringElement(tag, 'IS', String(value));
}

/** Serialises elements in explicit VR little endian, sorted by tag as PS3.5 section 7.1 requires. */
export function encodeElements(elements: DataElement[]): Buffer {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  const parts: Buffer[] = [];
  for (const element of sorted) {
    const long = LONG_LENGTH_VRS.has(element.vr);
    const header = Buffer.alloc(long ? 12 : 8);
    header.writeUInt16LE(element.tag >>> 16, 0);
    header.writeUInt16LE(element.tag & 0xffff, 2);
    header.write(element.vr, 4, 'latin1');
    if (long) {
      header.writeUInt32LE(element.value.length, 8);
    } else {
      if (element.value.length > 0xffff) {
        throw new RangeError(
          `element (${element.tag.toString(16)}) ${element.vr} is too long for a 16-bit length`,
        );
      }
      header.writeUInt16LE(element.value.length, 6);
    }
    parts.push(header, element.value);
  }
  return Buffer.concat(parts);
}
