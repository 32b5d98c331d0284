/**
 * DICOM unique identifiers under the `2.25` root, which PS3.5 annex B.2 reserves for UIDs made from a UUID
 * written as one unsigned decimal integer. No organisation root is needed.
 */
import { createHash, randomUUID } from 'node:crypto';

function uuidHexToUid(hex: string): string {
  return `2.25.${BigInt(`0x${hex}`).toString(10)}`;
}

/** Generates a fresh random UID `2.25.<decimal of a version 4 UUID>`. */
export function generateUid(): string {
  return uuidHexToUid(randomUUID().replaceAll('-', ''));
}

/**
 * Derives a stable UID from a name (a version 5 style UUID: SHA-1 of the name, version and variant bits set),
 * so that the same synthetic study written twice gets the same UIDs.
 */
export function uidFromName(name: string): string {
  const bytes = createHash('sha1').update(`lilnet:${name}`).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return uuidHexToUid(bytes.toString('hex'));
}
