/**
 * Decoding of dataset CSV files that may come from Windows machines in China: UTF-8 (with or without a byte
 * order mark) when the bytes are valid UTF-8, otherwise GBK (a superset of GB2312) through iconv-lite.
 */
import iconv from 'iconv-lite';

export type CsvEncoding = 'utf-8' | 'gbk';

/** Decodes CSV bytes, choosing UTF-8 when the bytes are valid UTF-8 and GBK otherwise. */
export function decodeCsvBytes(bytes: Uint8Array): { text: string; encoding: CsvEncoding } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { text: text.startsWith('\uFEFF') ? text.slice(1) : text, encoding: 'utf-8' };
  } catch {
    return {
      text: iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 'gbk'),
      encoding: 'gbk',
    };
  }
}

/** Splits simple CSV text (no quoted commas) into trimmed rows, dropping blank lines. */
export function parseSimpleCsv(text: string): string[][] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(',').map((field) => field.trim().replace(/^"(.*)"$/, '$1')));
}
