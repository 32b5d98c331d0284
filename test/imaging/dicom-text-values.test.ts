import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { readDicomFile } from '../../src/imaging/dicom/read-file.ts';
import {
  bytesElement,
  encodeElements,
  stringElement,
  uint16Element,
  uint32Element,
  type DataElement,
} from '../../src/imaging/dicom/encode.ts';
import { isLilnetError } from '../../src/errors.ts';

const root = await mkdtemp(join(tmpdir(), 'lilnet-dicom-text-'));
after(() => rm(root, { recursive: true, force: true }));

/** A text element whose value is already encoded, padded with a space to even length. */
function encodedTextElement(tag: number, vr: string, value: Buffer): DataElement {
  return { tag, vr, value: value.length % 2 === 0 ? value : Buffer.concat([value, Buffer.from(' ')]) };
}

/** Writes a 2 x 2 CT image (Part 10, explicit VR little endian) with the given extra elements. */
async function writeCtImage(name: string, extra: DataElement[]): Promise<string> {
  const sopClassUid = '1.2.840.10008.5.1.4.1.1.2';
  const meta = encodeElements([
    bytesElement(0x00020001, 'OB', Buffer.from([0, 1])),
    stringElement(0x00020002, 'UI', sopClassUid),
    stringElement(0x00020003, 'UI', '2.25.7'),
    stringElement(0x00020010, 'UI', '1.2.840.10008.1.2.1'),
  ]);
  const pixels = Buffer.alloc(8);
  [0, 1000, 1024, 2048].forEach((value, index) => pixels.writeUInt16LE(value, index * 2));
  const dataSet = encodeElements([
    stringElement(0x00080016, 'UI', sopClassUid),
    stringElement(0x00080060, 'CS', 'CT'),
    stringElement(0x0020000e, 'UI', '2.25.8'),
    uint16Element(0x00280002, 1),
    stringElement(0x00280004, 'CS', 'MONOCHROME2'),
    uint16Element(0x00280010, 2),
    uint16Element(0x00280011, 2),
    uint16Element(0x00280100, 16),
    uint16Element(0x00280101, 16),
    uint16Element(0x00280102, 15),
    uint16Element(0x00280103, 0),
    bytesElement(0x7fe00010, 'OW', pixels),
    ...extra,
  ]);
  const groupLength = encodeElements([uint32Element(0x00020000, meta.length)]);
  const file = join(root, name);
  await writeFile(file, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), groupLength, meta, dataSet]));
  return file;
}

test('UTF-8 SeriesDescription decodes', async () => {
  const file = await writeCtImage('utf8.dcm', [
    stringElement(0x00080005, 'CS', 'ISO_IR 192'),
    encodedTextElement(0x0008103e, 'LO', Buffer.from('门脉期 portal venous', 'utf8')),
  ]);
  const image = await readDicomFile(file);
  assert.equal(image.attributes.seriesDescription, '门脉期 portal venous');
});

test('GB18030 SeriesDescription decodes', async () => {
  const file = await writeCtImage('gb18030.dcm', [
    stringElement(0x00080005, 'CS', 'GB18030'),
    encodedTextElement(0x0008103e, 'LO', iconv.encode('动脉期', 'gb18030')),
  ]);
  const image = await readDicomFile(file);
  assert.equal(image.attributes.seriesDescription, '动脉期');
});

test('Latin-1 SeriesDescription decodes', async () => {
  const file = await writeCtImage('latin1.dcm', [
    stringElement(0x00080005, 'CS', 'ISO_IR 100'),
    encodedTextElement(0x0008103e, 'LO', Buffer.from('Pfortaden-Phase venös', 'latin1')),
  ]);
  const image = await readDicomFile(file);
  assert.equal(image.attributes.seriesDescription, 'Pfortaden-Phase venös');
});

test('non-numeric RescaleIntercept is rejected', async () => {
  const file = await writeCtImage('intercept.dcm', [
    stringElement(0x00281052, 'DS', 'abc'),
    stringElement(0x00281053, 'DS', '1'),
  ]);
  await assert.rejects(readDicomFile(file), (error: unknown) => {
    assert.ok(isLilnetError(error));
    assert.equal(error.code, 'DICOM_INVALID');
    assert.match(error.message, /intercept\.dcm has RescaleIntercept "abc", which is not a decimal number/);
    return true;
  });
});

test('numeric rescale still applies', async () => {
  const file = await writeCtImage('rescale.dcm', [
    stringElement(0x00281052, 'DS', '-1024'),
    stringElement(0x00281053, 'DS', '1'),
  ]);
  const image = await readDicomFile(file);
  assert.deepEqual(Array.from(image.frames[0].values), [-1024, -24, 0, 1024]);
});
