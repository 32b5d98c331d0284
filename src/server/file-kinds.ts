/**
 * Recognition of uploaded files by their first bytes, never by the name alone: an upload is accepted only
 * when every file is DICOM, NIfTI, PNG, JPEG or a zip of those.
 */
export type UploadFileKind = 'dicom' | 'nifti' | 'nifti-gzip' | 'png' | 'jpeg' | 'zip';

/** Bytes of a file's start that {@link detectFileKind} needs. */
export const SNIFF_BYTES = 352;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(head: Uint8Array, bytes: number[], offset = 0): boolean {
  return bytes.every((byte, i) => head[offset + i] === byte);
}

function isNiftiHeader(head: Uint8Array): boolean {
  if (head.length < 348) return false;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const sizeLittle = view.getInt32(0, true);
  const sizeBig = view.getInt32(0, false);
  // NIfTI-1 headers are 348 bytes, NIfTI-2 headers 540.
  return sizeLittle === 348 || sizeBig === 348 || sizeLittle === 540 || sizeBig === 540;
}

/**
 * Returns the kind of a file from its first {@link SNIFF_BYTES} bytes and its name, or null when it is none of
 * the accepted kinds. DICOM files without the 128-byte preamble are accepted when named `.dcm` and starting
 * with a group 0002 or 0008 tag.
 */
export function detectFileKind(head: Uint8Array, fileName: string): UploadFileKind | null {
  const lowerName = fileName.toLowerCase();
  if (startsWith(head, PNG_SIGNATURE)) return 'png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return 'zip';
  if (startsWith(head, [0x44, 0x49, 0x43, 0x4d], 128)) return 'dicom';
  if (startsWith(head, [0x1f, 0x8b]) && lowerName.endsWith('.nii.gz')) return 'nifti-gzip';
  if (lowerName.endsWith('.nii') && isNiftiHeader(head)) return 'nifti';
  if (lowerName.endsWith('.dcm') && (startsWith(head, [0x02, 0x00]) || startsWith(head, [0x08, 0x00])))
    return 'dicom';
  return null;
}
